//! The editor's data path: one frame per hop (mask and input spectrum on a log-frequency axis) from
//! the audio thread to the editor.
//!
//! A single-producer ring that overwrites the oldest frame when full, so the audio thread never waits
//! and a stalled editor only loses history. `ringbuf`'s SPSC rings cannot drop the oldest entry from
//! the producer side, hence this small seqlock-style ring: the writer marks a frame as started, writes
//! it, marks it finished; the reader copies frames and then discards any whose slot the writer may
//! have reused meanwhile. All slots are atomics, so a torn read is impossible to observe unnoticed.

use atomic_float::AtomicF32;
use std::sync::atomic::{AtomicU64, Ordering, fence};

use crate::dsp::grid::FrameGrid;
use crate::engine::{HopObserver, HopView};

/// Rows of the frequency axis shown by the editor.
pub const ROWS: usize = 96;
/// Lowest and highest frequency shown.
pub const F_MIN: f32 = 50.0;
pub const F_MAX: f32 = 20_000.0;
/// Floats per frame: mask dB per row, input dB per row, speech probability, gate gain, dB removed.
pub const FRAME: usize = 2 * ROWS + 3;
/// About 1.3 s of hops.
pub const CAPACITY: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Applied gain per row in dB (0 = untouched, negative = removed).
    pub mask_db: [f32; ROWS],
    /// Input level per row in dB (full-scale sine about 0 dB).
    pub input_db: [f32; ROWS],
    pub speech: f32,
    pub gate_gain: f32,
    /// Energy the mask removed from this hop, dB.
    pub removed_db: f32,
}

impl Default for Frame {
    fn default() -> Self {
        Self {
            mask_db: [0.0; ROWS],
            input_db: [-120.0; ROWS],
            speech: 0.0,
            gate_gain: 1.0,
            removed_db: 0.0,
        }
    }
}

pub struct SpectrumFeed {
    slots: Box<[AtomicF32]>,
    started: AtomicU64,
    finished: AtomicU64,
}

impl Default for SpectrumFeed {
    fn default() -> Self {
        Self::with_capacity(CAPACITY)
    }
}

impl SpectrumFeed {
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            slots: (0..capacity * FRAME).map(|_| AtomicF32::new(0.0)).collect(),
            started: AtomicU64::new(0),
            finished: AtomicU64::new(0),
        }
    }

    fn capacity(&self) -> u64 {
        (self.slots.len() / FRAME) as u64
    }

    /// Frames written so far.
    pub fn written(&self) -> u64 {
        self.finished.load(Ordering::Acquire)
    }

    /// Audio thread: never blocks, never allocates; overwrites the oldest frame when full.
    /// Single producer only.
    pub fn push(&self, f: &Frame) {
        let n = self.finished.load(Ordering::Relaxed);
        self.started.store(n + 1, Ordering::Relaxed);
        fence(Ordering::Release);
        let base = (n % self.capacity()) as usize * FRAME;
        let values =
            f.mask_db
                .iter()
                .chain(&f.input_db)
                .chain([&f.speech, &f.gate_gain, &f.removed_db]);
        for (slot, &v) in self.slots[base..base + FRAME].iter().zip(values) {
            slot.store(v, Ordering::Relaxed);
        }
        self.finished.store(n + 1, Ordering::Release);
    }

    /// Editor: the frames after `*next` that are still intact, oldest first, calling `out` for each;
    /// advances `*next`. Frames overwritten before they were read are skipped (counted in the
    /// return value).
    pub fn read_since(&self, next: &mut u64, mut out: impl FnMut(&Frame)) -> u64 {
        let end = self.finished.load(Ordering::Acquire);
        let cap = self.capacity();
        let mut i = (*next).max(end.saturating_sub(cap));
        let mut dropped = i - (*next).min(i);
        let mut frame = Frame::default();
        while i < end {
            let base = (i % cap) as usize * FRAME;
            let s = &self.slots[base..base + FRAME];
            for (d, a) in frame.mask_db.iter_mut().zip(&s[..ROWS]) {
                *d = a.load(Ordering::Relaxed);
            }
            for (d, a) in frame.input_db.iter_mut().zip(&s[ROWS..2 * ROWS]) {
                *d = a.load(Ordering::Relaxed);
            }
            frame.speech = s[2 * ROWS].load(Ordering::Relaxed);
            frame.gate_gain = s[2 * ROWS + 1].load(Ordering::Relaxed);
            frame.removed_db = s[2 * ROWS + 2].load(Ordering::Relaxed);
            fence(Ordering::Acquire);
            // The writer reuses slot i when it starts frame i + cap.
            if self.started.load(Ordering::Relaxed) > i + cap {
                dropped += 1;
            } else {
                out(&frame);
            }
            i += 1;
        }
        *next = end;
        dropped
    }
}

/// Maps the engine's bins onto the display rows and writes one frame per hop. Built off the audio
/// thread (it allocates its row table); `hop()` does not allocate.
pub struct FeedWriter {
    /// Bin range per row.
    rows: Vec<(usize, usize)>,
    frame: Frame,
    /// When false (editor closed), hops cost one branch.
    pub enabled: bool,
}

impl FeedWriter {
    pub fn new(grid: FrameGrid) -> Self {
        let bin_hz = grid.sample_rate / grid.fft as f32;
        let top = F_MAX.min(grid.sample_rate / 2.0);
        let bins = grid.bins();
        let rows = (0..ROWS)
            .map(|r| {
                let f0 = F_MIN * (top / F_MIN).powf(r as f32 / ROWS as f32);
                let f1 = F_MIN * (top / F_MIN).powf((r + 1) as f32 / ROWS as f32);
                let lo = ((f0 / bin_hz).round() as usize).min(bins - 1);
                let hi = ((f1 / bin_hz).round() as usize).clamp(lo + 1, bins);
                (lo, hi)
            })
            .collect();
        Self {
            rows,
            frame: Frame::default(),
            enabled: false,
        }
    }

    /// Fill the frame from one hop (exposed for tests).
    pub fn fill(&mut self, v: &HopView<'_>) -> &Frame {
        let f = &mut self.frame;
        for (r, &(lo, hi)) in self.rows.iter().enumerate() {
            let n = (hi - lo) as f32;
            let p: f32 = v.power[lo..hi].iter().sum::<f32>() / n;
            let g: f32 = v.mask[lo..hi].iter().sum::<f32>() / n;
            // The analysis is scaled 1/N with a sqrt-Hann window: a full-scale sine puts about 0.1
            // in its bin, so this reads about 0 dB.
            f.input_db[r] = 10.0 * (p * 10.0 + 1e-12).log10();
            f.mask_db[r] = 20.0 * (g.max(1e-6)).log10();
        }
        let (mut pin, mut pout) = (1e-20f32, 1e-20f32);
        for (p, g) in v.power.iter().zip(v.mask) {
            pin += p;
            pout += p * g * g;
        }
        f.removed_db = 10.0 * (pin / pout).log10();
        f.speech = v.speech;
        f.gate_gain = v.gate_gain;
        &self.frame
    }
}

/// The observer the plugin hands to the engine: fills a frame and pushes it.
pub struct FeedTap<'a> {
    pub writer: &'a mut FeedWriter,
    pub feed: &'a SpectrumFeed,
}

impl HopObserver for FeedTap<'_> {
    fn hop(&mut self, v: &HopView<'_>) {
        if self.writer.enabled {
            self.feed.push(self.writer.fill(v));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(k: f32) -> Frame {
        Frame {
            speech: k,
            ..Frame::default()
        }
    }

    #[test]
    fn reader_gets_every_frame_in_order_when_it_keeps_up() {
        let feed = SpectrumFeed::with_capacity(8);
        let mut next = 0;
        let mut seen = vec![];
        for k in 0..20 {
            feed.push(&frame(k as f32));
            if k % 3 == 2 {
                assert_eq!(feed.read_since(&mut next, |f| seen.push(f.speech)), 0);
            }
        }
        feed.read_since(&mut next, |f| seen.push(f.speech));
        assert_eq!(seen, (0..20).map(|k| k as f32).collect::<Vec<_>>());
    }

    #[test]
    fn a_slow_reader_loses_the_oldest_frames_and_keeps_the_newest() {
        let feed = SpectrumFeed::with_capacity(8);
        for k in 0..30 {
            feed.push(&frame(k as f32));
        }
        let mut next = 0;
        let mut seen = vec![];
        let dropped = feed.read_since(&mut next, |f| seen.push(f.speech));
        assert_eq!(seen, (22..30).map(|k| k as f32).collect::<Vec<_>>());
        assert_eq!(dropped, 22);
        assert_eq!(next, 30);
    }

    #[test]
    fn writer_never_waits_for_a_reader_and_reader_never_sees_torn_frames() {
        use std::sync::Arc;
        let feed = Arc::new(SpectrumFeed::with_capacity(4));
        let w = feed.clone();
        // Every value of frame k is k: a torn frame would mix two values.
        let writer = std::thread::spawn(move || {
            for k in 0..200_000u32 {
                let v = k as f32;
                w.push(&Frame {
                    mask_db: [v; ROWS],
                    input_db: [v; ROWS],
                    speech: v,
                    gate_gain: v,
                    removed_db: v,
                });
            }
        });
        let mut next = 0;
        let (mut read, mut last) = (0u64, -1.0f32);
        while next < 200_000 {
            feed.read_since(&mut next, |f| {
                assert!(f.mask_db.iter().chain(&f.input_db).all(|&x| x == f.speech));
                assert!(f.speech > last, "frames arrive in order");
                last = f.speech;
                read += 1;
            });
        }
        writer.join().unwrap();
        assert!(read > 0);
        assert_eq!(feed.written(), 200_000);
    }

    #[test]
    fn rows_cover_the_axis_and_a_hop_maps_to_decibels() {
        let grid = FrameGrid::for_rate(48_000.0).unwrap();
        let mut w = FeedWriter::new(grid);
        assert!(
            w.rows
                .windows(2)
                .all(|p| p[0].0 <= p[1].0 && p[0].1 <= p[1].1)
        );
        let bins = grid.bins();
        let power = vec![0.1; bins];
        let mut mask = vec![1.0; bins];
        // Halve the gain above 1 kHz.
        let k = (1000.0 / (48_000.0 / grid.fft as f32)) as usize;
        mask[k..].fill(0.5);
        let f = *w.fill(&HopView {
            power: &power,
            mask: &mask,
            speech: 0.7,
            gate_gain: 1.0,
            limit_db: 100.0,
        });
        assert!(f.input_db.iter().all(|d| d.abs() < 0.01));
        assert!(f.mask_db[0].abs() < 0.01);
        assert!((f.mask_db[ROWS - 1] + 6.02).abs() < 0.05);
        assert!(f.removed_db > 4.0 && f.removed_db < 6.1);
        assert_eq!(f.speech, 0.7);
    }
}
