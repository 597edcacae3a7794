//! Audio clips loaded into memory from a list of 48 kHz WAV paths.

use std::path::Path;

use crate::wav;

pub struct Pool {
    pub clips: Vec<Vec<f32>>,
}

impl Pool {
    pub fn from_list(list: &Path, rate: u32) -> Result<Self, String> {
        let text = std::fs::read_to_string(list)
            .map_err(|e| format!("cannot read list '{}': {e}", list.display()))?;
        let mut clips = Vec::new();
        let mut skipped = 0;
        for line in text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            match wav::read(Path::new(line)) {
                Ok(a) if a.sample_rate == rate && a.frames() > rate as usize / 10 => {
                    // Mono: average the channels.
                    let n = a.channels.len() as f32;
                    let mono: Vec<f32> = (0..a.frames())
                        .map(|i| a.channels.iter().map(|c| c[i]).sum::<f32>() / n)
                        .collect();
                    clips.push(mono);
                }
                Ok(_) => skipped += 1,
                Err(e) => {
                    eprintln!("warning: {e}");
                    skipped += 1
                }
            }
        }
        if clips.is_empty() {
            return Err(format!("no usable {rate} Hz clips in '{}'", list.display()));
        }
        if skipped > 0 {
            eprintln!(
                "note: skipped {skipped} clips from '{}' (wrong rate, too short or unreadable)",
                list.display()
            );
        }
        Ok(Self { clips })
    }

    pub fn seconds(&self, rate: f32) -> f32 {
        self.clips.iter().map(|c| c.len() as f32).sum::<f32>() / rate
    }
}
