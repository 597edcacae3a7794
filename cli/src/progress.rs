//! A one-line progress bar on stderr.

use std::io::Write;

pub struct Progress {
    total: usize,
    shown: usize,
    enabled: bool,
    label: &'static str,
}

impl Progress {
    pub fn new(label: &'static str, total: usize, enabled: bool) -> Self {
        Self {
            total: total.max(1),
            shown: usize::MAX,
            enabled,
            label,
        }
    }

    pub fn update(&mut self, done: usize) {
        if !self.enabled {
            return;
        }
        let pct = (done * 100 / self.total).min(100);
        if pct != self.shown {
            self.shown = pct;
            let bar = "#".repeat(pct / 4) + &" ".repeat(25 - pct / 4);
            eprint!("\r{} [{bar}] {pct:3}%", self.label);
            let _ = std::io::stderr().flush();
        }
    }

    pub fn finish(&mut self) {
        if self.enabled {
            self.update(self.total);
            eprintln!();
        }
    }
}
