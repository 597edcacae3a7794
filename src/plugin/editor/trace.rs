//! Test hook: with `QUELL_EDITOR_TRACE=/path` in the environment, the editor appends one JSON line
//! of what it shows (parameters, readouts, window) to that file every 200 ms. Scripts that drive the
//! standalone with xdotool check their clicks against it. GUI thread only; off unless asked for.

use std::io::Write;
use std::time::{Duration, Instant};

pub struct Trace {
    file: std::fs::File,
    last: Instant,
}

impl Trace {
    pub fn from_env() -> Option<Self> {
        let path = std::env::var_os("QUELL_EDITOR_TRACE")?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .ok()?;
        Some(Self {
            file,
            last: Instant::now() - Duration::from_secs(1),
        })
    }

    /// Write `line()` if 200 ms have passed since the last one.
    pub fn tick(&mut self, line: impl FnOnce() -> serde_json::Value) {
        if self.last.elapsed() < Duration::from_millis(200) {
            return;
        }
        self.last = Instant::now();
        let _ = writeln!(self.file, "{}", line());
    }
}
