//! A corpus of malformed model files and WAVs (built in `common::bad_models` / `common::bad_wavs`).
//! Each must give a clear, named error and no crash: from `ModelWeights::load_user_file` (the one
//! loader behind the CLI's `--model PATH` and the plugin's "load model file"), from `wav::read`, and from
//! `quell denoise` as a user runs it (exit status 1, one line on stderr naming the file and the
//! problem, no panic, no output file, input untouched).

// The shared corpus builders name the core crate `quell`, as the root crate's tests do.
extern crate quell_core as quell;
#[path = "../../tests/common/mod.rs"]
mod common;

use common::bad_models::{self, BadModel};
use common::bad_wavs::{self, VALID_BUT_UNPROCESSABLE};
use common::checks::{assert_names, bad_model_paths, scratch};
use quell::model::{ModelError, ModelWeights};
use std::path::{Path, PathBuf};
use std::process::Command;

fn good_wav(dir: &Path) -> PathBuf {
    let p = dir.join("good.wav");
    quell::wav::write(
        &p,
        quell::wav::float_spec(48_000, 1),
        &[common::noise(4_800, 1, 0.1)],
    )
    .unwrap();
    p
}

struct Failure {
    stderr: String,
}

/// Runs `quell denoise INPUT -o OUT [--model MODEL]` expecting a clean failure: exit status 1 (not
/// a panic's 101 or a signal), exactly one line on stderr starting `error: `, no "panicked", the
/// input file byte for byte as before, and nothing written at OUT (nor a partial file beside it).
fn denoise_must_fail(input: &Path, model: Option<&Path>, what: &str) -> Failure {
    let dir = input.parent().unwrap();
    let out = dir.join("out.wav");
    let _ = std::fs::remove_file(&out);
    let before = std::fs::read(input).ok();
    let listing = |d: &Path| {
        let mut v: Vec<_> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        v.sort();
        v
    };
    let files_before = listing(dir);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quell"));
    cmd.arg("denoise").arg(input).arg("-o").arg(&out);
    if let Some(m) = model {
        cmd.arg("--model").arg(m);
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what}: exit status; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{what}: one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{what}: {stderr}");
    assert!(!out.exists(), "{what}: an output file was written");
    assert_eq!(listing(dir), files_before, "{what}: files appeared");
    assert_eq!(
        std::fs::read(input).ok(),
        before,
        "{what}: the input changed"
    );
    // `--nocapture` shows every message, for reading them side by side.
    eprintln!("{what:>56} | {}", stderr.trim_end());
    Failure { stderr }
}

fn check_model_error(e: &ModelError, case: &BadModel) {
    assert!((case.expect)(e), "{}: wrong error {e:?}", case.name);
    assert_names(&e.to_string(), &case.mentions, &case.name);
}

#[test]
fn the_corpus_builders_are_sound() {
    // The default model, taken apart and put back, still loads: every failure below comes from the
    // one edit each case makes.
    let w = ModelWeights::from_bytes(&bad_models::edited(|_| {})).unwrap();
    assert!(w.parameter_count() > 1000);
    // The feature-mismatch model parses; only the user-file loader (and the engine) refuse it.
    let fm = ModelWeights::from_bytes(&bad_models::feature_mismatch()).unwrap();
    assert_eq!(
        fm.n_features,
        quell::dsp::features::n_features(fm.feature_version, fm.n_bands) + 1
    );
    // The WAV builder's unedited file reads.
    let dir = scratch("builders");
    let p = dir.join("plain.wav");
    std::fs::write(&p, bad_wavs::WavBytes::float().bytes()).unwrap();
    let a = quell::wav::read(&p).unwrap();
    assert_eq!(
        (a.sample_rate, a.channels.len(), a.frames()),
        (48_000, 1, 24_000)
    );
    for (ch, bits) in [(1, 8), (2, 16), (1, 24), (3, 32)] {
        std::fs::write(&p, bad_wavs::WavBytes::pcm(ch, bits, 100).bytes()).unwrap();
        let a = quell::wav::read(&p).unwrap();
        assert_eq!(
            (a.channels.len(), a.frames()),
            (ch as usize, 100),
            "{ch}x{bits}"
        );
    }
    std::fs::write(&p, bad_wavs::WavBytes::extensible(1, 16, 16).bytes()).unwrap();
    assert_eq!(quell::wav::read(&p).unwrap().frames(), 4800);
    std::fs::write(&p, bad_wavs::WavBytes::extensible(3, 32, 32).bytes()).unwrap();
    assert_eq!(quell::wav::read(&p).unwrap().frames(), 4800);
}

#[test]
fn every_bad_model_gives_its_named_error_from_the_user_file_loader() {
    let dir = scratch("models");
    let corpus = bad_models::corpus();
    assert!(corpus.len() >= 45, "{} cases", corpus.len());
    for (i, case) in corpus.iter().enumerate() {
        let path = dir.join(format!("model_{i}.safetensors"));
        std::fs::write(&path, &case.bytes).unwrap();
        let e = ModelWeights::load_user_file(&path).expect_err(&case.name);
        check_model_error(&e, case);
        // The bytes-level parser agrees, except on the one file only the user loader refuses.
        match ModelWeights::from_bytes(&case.bytes) {
            Ok(_) => assert!(
                matches!(e, ModelError::FeatureMismatch { .. }),
                "{}",
                case.name
            ),
            Err(e2) => assert_eq!(e2, e, "{}", case.name),
        }
    }
}

#[test]
fn directories_missing_and_oversized_model_files_are_refused() {
    let dir = scratch("model-paths");
    for (path, expect, mentions) in bad_model_paths(&dir) {
        let e = ModelWeights::load_user_file(&path).expect_err("must be refused");
        assert!(expect(&e), "{}: {e:?}", path.display());
        assert_names(&e.to_string(), mentions, &path.display().to_string());
    }
}

#[test]
fn every_bad_model_fails_cleanly_in_the_cli() {
    let dir = scratch("cli-models");
    let input = good_wav(&dir);
    for (i, case) in bad_models::corpus().iter().enumerate() {
        let path = dir.join(format!("model_{i}.safetensors"));
        std::fs::write(&path, &case.bytes).unwrap();
        let f = denoise_must_fail(&input, Some(&path), &case.name);
        assert!(
            f.stderr.contains(path.to_str().unwrap()),
            "{}: {}",
            case.name,
            f.stderr
        );
        assert_names(&f.stderr, &case.mentions, &case.name);
        std::fs::remove_file(&path).unwrap();
    }
    for (path, _, mentions) in bad_model_paths(&dir) {
        let what = path.display().to_string();
        let f = denoise_must_fail(&input, Some(&path), &what);
        assert!(f.stderr.contains(path.to_str().unwrap()), "{}", f.stderr);
        // The CLI words a missing path itself (it also accepts bundled model names).
        if path.exists() {
            assert_names(&f.stderr, mentions, &what);
        } else {
            assert_names(&f.stderr, &["does not exist"], &what);
        }
    }
}

#[test]
fn every_bad_wav_gives_a_named_error_from_the_reader() {
    let dir = scratch("wavs");
    let corpus = bad_wavs::corpus();
    assert!(corpus.len() >= 30, "{} cases", corpus.len());
    for case in &corpus {
        let path = dir.join(format!("{}.wav", case.name));
        std::fs::write(&path, &case.bytes).unwrap();
        let result = quell::wav::read(&path);
        if VALID_BUT_UNPROCESSABLE.contains(&case.name) {
            assert!(result.is_ok(), "{}: a well-formed WAV", case.name);
            continue;
        }
        let Err(msg) = result else {
            panic!("{}: was read", case.name)
        };
        assert!(msg.contains(path.to_str().unwrap()), "{msg}");
        assert_names(&msg, &case.mentions, case.name);
    }
}

#[test]
fn every_bad_wav_fails_cleanly_in_the_cli() {
    let dir = scratch("cli-wavs");
    for case in bad_wavs::corpus() {
        let path = dir.join(format!("{}.wav", case.name));
        std::fs::write(&path, &case.bytes).unwrap();
        let f = denoise_must_fail(&path, None, case.name);
        assert!(f.stderr.contains(path.to_str().unwrap()), "{}", f.stderr);
        assert_names(&f.stderr, &case.mentions, case.name);
        std::fs::remove_file(&path).unwrap();
    }
    // A directory, and a file that is not there.
    let sub = dir.join("a_directory.wav");
    std::fs::create_dir_all(&sub).unwrap();
    let f = denoise_must_fail(&sub, None, "directory");
    assert_names(&f.stderr, &["a_directory.wav", "directory"], "directory");
    let missing = dir.join("no_such_input.wav");
    let f = denoise_must_fail(&missing, None, "missing");
    assert_names(&f.stderr, &["no_such_input.wav", "no such file"], "missing");
}

#[test]
fn a_failed_run_leaves_an_existing_output_alone() {
    let dir = scratch("keep-output");
    let bad = dir.join("bad.wav");
    std::fs::write(&bad, b"RIFF").unwrap();
    let out = dir.join("precious.wav");
    std::fs::write(&out, b"keep me").unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_quell"))
        .arg("denoise")
        .arg(&bad)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(std::fs::read(&out).unwrap(), b"keep me");
}

#[test]
fn an_unwritable_output_is_named_and_leaves_nothing_behind() {
    let dir = scratch("unwritable");
    let input = good_wav(&dir);
    for out in [dir.join("no_such_dir").join("out.wav"), dir.to_path_buf()] {
        let o = Command::new(env!("CARGO_BIN_EXE_quell"))
            .arg("denoise")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains("cannot write WAV") && stderr.contains(out.to_str().unwrap()),
            "{stderr}"
        );
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["good.wav"], "left behind: {names:?}");
}

#[test]
fn writing_over_the_input_only_happens_on_success() {
    // `-o` naming the input itself: a bad model leaves it as it was; a good run replaces it whole.
    let dir = scratch("in-place");
    let input = good_wav(&dir);
    let before = std::fs::read(&input).unwrap();
    let bad = dir.join("bad.safetensors");
    std::fs::write(&bad, bad_models::feature_mismatch()).unwrap();
    let run = |model: &str| {
        Command::new(env!("CARGO_BIN_EXE_quell"))
            .arg("denoise")
            .arg(&input)
            .arg("-o")
            .arg(&input)
            .args(["--model", model, "--strength", "0"])
            .output()
            .unwrap()
    };
    assert_eq!(run(bad.to_str().unwrap()).status.code(), Some(1));
    assert_eq!(std::fs::read(&input).unwrap(), before);
    let o = run("standard");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = quell::wav::read(&input).unwrap();
    assert_eq!(a.frames(), 4_800);
}

#[test]
fn odd_but_valid_wavs_still_work() {
    // Not malformed: no frames at all, one frame, the most channels the CLI takes.
    let dir = scratch("valid-edges");
    let cases = [
        ("no_frames", bad_wavs::WavBytes::pcm(1, 16, 0), 0),
        ("one_frame", bad_wavs::WavBytes::pcm(2, 24, 1), 1),
        (
            "max_channels",
            bad_wavs::WavBytes::pcm(quell_cli::MAX_CHANNELS, 8, 300),
            300,
        ),
    ];
    for (name, wav, frames) in cases {
        let input = dir.join(format!("{name}.wav"));
        let out = dir.join(format!("{name}_out.wav"));
        std::fs::write(&input, wav.bytes()).unwrap();
        let o = Command::new(env!("CARGO_BIN_EXE_quell"))
            .arg("denoise")
            .arg(&input)
            .arg("-o")
            .arg(&out)
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let a = quell::wav::read(&input).unwrap();
        let b = quell::wav::read(&out).unwrap();
        assert_eq!((b.spec, b.frames()), (a.spec, frames), "{name}");
    }
}
