//! Progress on stderr (indicatif): hidden when stderr is not a terminal or with `--quiet`.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

fn target(quiet: bool) -> ProgressDrawTarget {
    if quiet {
        ProgressDrawTarget::hidden()
    } else {
        // indicatif draws nothing when stderr is not a terminal.
        ProgressDrawTarget::stderr()
    }
}

/// The bar of a single-file run.
pub fn single(quiet: bool) -> ProgressBar {
    ProgressBar::with_draw_target(None, target(quiet))
}

/// The bars of a batch: one line for the whole run (in files), one per file being processed.
pub fn multi(quiet: bool, files: usize) -> (MultiProgress, ProgressBar) {
    let multi = MultiProgress::with_draw_target(target(quiet));
    let overall = multi.add(ProgressBar::new(files as u64));
    overall.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} files  {elapsed_precise}")
            .expect("a valid template")
            .progress_chars("#>-"),
    );
    overall.set_prefix("denoising");
    (multi, overall)
}

/// Names a file's bar and sizes it in frames when the length is known (a spinner otherwise).
pub fn start(bar: &ProgressBar, input: &str, frames: Option<u64>) {
    let name = if input == "-" {
        "standard input".to_string()
    } else {
        std::path::Path::new(input)
            .file_name()
            .map_or_else(|| input.to_string(), |n| n.to_string_lossy().into_owned())
    };
    bar.set_prefix(name);
    let style = match frames {
        Some(n) => {
            bar.set_length(n);
            ProgressStyle::with_template("{prefix:30!} [{bar:30}] {percent:>3}%  eta {eta}")
        }
        None => ProgressStyle::with_template("{prefix:30!} {spinner} {msg}"),
    };
    bar.set_style(style.expect("a valid template").progress_chars("#>-"));
}

/// A plain percentage bar for other long jobs (`dump-features`).
pub fn labelled(label: &'static str, total: u64, quiet: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(total), target(quiet));
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30}] {percent:>3}%  eta {eta}")
            .expect("a valid template")
            .progress_chars("#>-"),
    );
    bar.set_prefix(label);
    bar
}
