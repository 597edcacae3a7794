//! Checks shared by the bad-file tests of the CLI crate and the plugin crate.

use quell::model::ModelError;
use std::path::{Path, PathBuf};

/// A fresh scratch directory per test, removed when the test passes (kept when it fails, to look at).
/// Removal matters: one holds a 300 MB sparse file, and repeated local runs filled /tmp.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for Scratch {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

pub fn scratch(test: &str) -> Scratch {
    let d = std::env::temp_dir().join(format!("quell-bad-{}-{test}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    Scratch(d)
}

/// The message names the problem: every expected word, on one line.
pub fn assert_names(msg: &str, mentions: &[impl AsRef<str>], what: &str) {
    assert!(!msg.trim().contains('\n'), "{what}: not one line: {msg}");
    let lower = msg.to_lowercase();
    for m in mentions {
        assert!(
            lower.contains(&m.as_ref().to_lowercase()),
            "{what}: message does not mention '{}': {msg}",
            m.as_ref()
        );
    }
}

/// Paths that are not model files: a directory, a missing file, one far too big (sparse, so it costs
/// no disk), each with the error variant and the words it must give.
/// A path, the error variant it must give, and words its message must contain.
pub type PathCase = (PathBuf, fn(&ModelError) -> bool, &'static [&'static str]);

pub fn bad_model_paths(dir: &Path) -> Vec<PathCase> {
    let sub = dir.join("a_directory.safetensors");
    std::fs::create_dir_all(&sub).unwrap();
    let huge = dir.join("huge.safetensors");
    let f = std::fs::File::create(&huge).unwrap();
    f.set_len(300 << 20).unwrap();
    vec![
        (sub, |e| matches!(e, ModelError::Io(_)), &["directory"]),
        (
            dir.join("no_such_model.safetensors"),
            |e| matches!(e, ModelError::Io(_)),
            &["no_such_model.safetensors", "no such file"],
        ),
        (
            huge,
            |e| matches!(e, ModelError::Format(_)),
            &["larger than any quell model"],
        ),
    ]
}
