//! `quell denoise FILES_OR_DIRS... --out-dir DIR`: many files on all cores.
//!
//! Output names: each file keeps its name (and, below a directory argument, its path relative to
//! that directory); WAV and FLAC keep their extension, other formats become `.wav`. The run is
//! refused before anything is written when an output would land on an input (e.g. `--out-dir` is
//! the inputs' own folder) or two inputs would share one output.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use indicatif::ProgressBar;
use rayon::prelude::*;

use crate::decode::extension;
use crate::denoise::{Job, denoise_file};
use crate::progress;

/// Extensions a directory is searched for.
pub const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "wave", "flac", "ogg", "oga", "mp3", "m4a", "aac", "mp4",
];

struct Task {
    input: PathBuf,
    output: PathBuf,
}

pub fn run(
    args: &[String],
    out_dir: &Path,
    job: &Job,
    threads: Option<usize>,
    quiet: bool,
) -> Result<(), String> {
    let tasks = plan(args, out_dir)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    let (multi, overall) = progress::multi(quiet, tasks.len());
    let failures: Vec<String> = pool.install(|| {
        tasks
            .par_iter()
            .filter_map(|t| {
                let bar = multi.insert_before(&overall, ProgressBar::new(0));
                let result = denoise_one(t, job, &bar);
                bar.finish_and_clear();
                multi.remove(&bar);
                overall.inc(1);
                result.err()
            })
            .collect()
    });
    overall.finish_and_clear();
    if failures.is_empty() {
        return Ok(());
    }
    for f in &failures {
        eprintln!("error: {f}");
    }
    Err(format!(
        "{} of {} files failed (the others were written to '{}')",
        failures.len(),
        tasks.len(),
        out_dir.display()
    ))
}

fn denoise_one(t: &Task, job: &Job, bar: &ProgressBar) -> Result<(), String> {
    if let Some(parent) = t.output.parent() {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create folder '{}': {e}", parent.display()))?;
    }
    let (input, output) = (t.input.to_string_lossy(), t.output.to_string_lossy());
    denoise_file(&input, &output, job, bar)
}

/// Every input file with its output path, after the checks that protect the inputs.
fn plan(args: &[String], out_dir: &Path) -> Result<Vec<Task>, String> {
    let mut tasks = Vec::new();
    for arg in args {
        if arg == "-" {
            return Err("--out-dir takes files and folders, not standard input (-)".into());
        }
        let path = Path::new(arg);
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)
                .map_err(|e| format!("cannot list folder '{}': {e}", path.display()))?;
            if found.is_empty() {
                return Err(format!(
                    "no audio files ({}) in folder '{}'",
                    AUDIO_EXTENSIONS.join(", "),
                    path.display()
                ));
            }
            for f in found {
                let rel = f.strip_prefix(path).unwrap_or(&f).to_path_buf();
                tasks.push(Task {
                    output: out_dir.join(output_name(&rel)),
                    input: f,
                });
            }
        } else {
            // A missing or unreadable file is reported with the other failures, after the run.
            let name = path.file_name().map(PathBuf::from).unwrap_or_default();
            tasks.push(Task {
                output: out_dir.join(output_name(&name)),
                input: path.to_path_buf(),
            });
        }
    }
    std::fs::create_dir_all(out_dir)
        .map_err(|e| format!("cannot create --out-dir '{}': {e}", out_dir.display()))?;
    let inputs: HashMap<PathBuf, &Path> = tasks
        .iter()
        .filter_map(|t| Some((t.input.canonicalize().ok()?, t.input.as_path())))
        .collect();
    let mut outputs: HashMap<PathBuf, &Path> = HashMap::new();
    for t in &tasks {
        let out = resolved(&t.output);
        if let Some(input) = inputs.get(&out) {
            return Err(format!(
                "output '{}' would overwrite input '{}'; nothing was written (choose an --out-dir \
                 that holds none of the inputs)",
                t.output.display(),
                input.display()
            ));
        }
        if let Some(other) = outputs.insert(out, &t.input) {
            return Err(format!(
                "inputs '{}' and '{}' would both be written to '{}'; nothing was written",
                other.display(),
                t.input.display(),
                t.output.display()
            ));
        }
    }
    Ok(tasks)
}

/// `path` with its folder resolved (the file itself need not exist yet).
fn resolved(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => resolved(parent).join(name),
        _ => path.to_path_buf(),
    }
}

/// WAV and FLAC keep their name; other formats are written as WAV.
fn output_name(rel: &Path) -> PathBuf {
    match extension(rel).as_str() {
        "wav" | "wave" | "flac" => rel.to_path_buf(),
        _ => rel.with_extension("wav"),
    }
}

/// Audio files under `dir`, recursively, in name order (so runs and reports are repeatable).
fn walk(dir: &Path, found: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        if p.is_dir() {
            walk(&p, found)?;
        } else if AUDIO_EXTENSIONS.contains(&extension(&p).as_str()) {
            found.push(p);
        }
    }
    Ok(())
}
