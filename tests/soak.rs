//! Soak: continuous noisy speech-like signal through the engine for `QUELL_SOAK_MINUTES` simulated
//! minutes (3 by default, the CI version; `scripts/soak.sh` runs 24 hours in release mode). After
//! the first (warm-up) minute:
//! - no drift: every minute's output/input level stays within 0.05 dB of the first minute's, and the
//!   output of the same 7.5 s input period stays sample-for-sample close to the first minute's;
//! - no growth in memory: resident memory (VmRSS) and live heap bytes stay put, and processing
//!   allocates nothing;
//! - nothing non-finite, ever.
//!
//! The input repeats every 7.5 s, eight times a minute, so every minute gets exactly the same input.
//! With `--nocapture` it prints one row per simulated hour (per minute for runs under an hour).

mod common;

use common::*;
use quell::engine::EngineParams;

/// Live heap bytes and allocation calls, counted by a wrapper around the system allocator. (Not
/// under `assert_process_allocs`, whose debug builds install their own global allocator.)
#[cfg(not(feature = "assert_process_allocs"))]
mod heap {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

    pub static LIVE: AtomicI64 = AtomicI64::new(0);
    pub static CALLS: AtomicU64 = AtomicU64::new(0);

    pub struct Counting;

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            LIVE.fetch_add(l.size() as i64, Relaxed);
            CALLS.fetch_add(1, Relaxed);
            unsafe { System.alloc(l) }
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            LIVE.fetch_add(l.size() as i64, Relaxed);
            CALLS.fetch_add(1, Relaxed);
            unsafe { System.alloc_zeroed(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            LIVE.fetch_sub(l.size() as i64, Relaxed);
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            LIVE.fetch_add(new as i64 - l.size() as i64, Relaxed);
            CALLS.fetch_add(1, Relaxed);
            unsafe { System.realloc(p, l, new) }
        }
    }

    #[global_allocator]
    static A: Counting = Counting;

    /// (live bytes, allocation calls so far)
    pub fn now() -> Option<(i64, u64)> {
        Some((LIVE.load(Relaxed), CALLS.load(Relaxed)))
    }
}

#[cfg(feature = "assert_process_allocs")]
mod heap {
    pub fn now() -> Option<(i64, u64)> {
        None
    }
}

/// Resident set size in KiB (Linux `/proc/self/status`), `None` elsewhere.
fn rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// RSS may grow this much after warm-up (page-granular noise, the harness's own output buffers);
/// a leak of even one small allocation per block would pass it within minutes.
const RSS_SLACK_KIB: u64 = 1024;
/// Live heap bytes may grow this much after warm-up (the test harness's own bookkeeping).
const HEAP_SLACK_BYTES: i64 = 64 * 1024;
/// Allocation calls while audio is processed, after warm-up, over the whole run: the engine makes
/// none; this leaves room for the test harness's own "running for over 60 seconds" note, which its
/// main thread may print while a loop runs.
const LOOP_ALLOC_SLACK: u64 = 16;
/// Per-minute level may differ this much from the first minute's.
const LEVEL_TOLERANCE_DB: f64 = 0.05;
/// The same input period's output, compared with the first minute's: error energy this far below.
const REPEAT_TOLERANCE_DB: f64 = -40.0;

struct Minute {
    level_db: f64,
    /// Error energy of this minute's last input period against the first minute's, relative to it.
    repeat_db: f64,
    rss_kib: Option<u64>,
    heap: Option<(i64, u64)>,
    /// Allocation calls (any thread) while this minute's audio was processed.
    loop_allocs: Option<u64>,
}

fn db(x: f64) -> f64 {
    10.0 * x.max(1e-30).log10()
}

#[test]
fn no_drift_no_memory_growth_no_non_finite_output() {
    let rate = 48_000.0;
    let minutes: usize = std::env::var("QUELL_SOAK_MINUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(2);
    let period = (7.5 * rate) as usize;
    let lp: Vec<f32> = voiced(period, rate, 0.2)
        .iter()
        .zip(noise(period, 21, 0.03))
        .map(|(a, b)| a + b)
        .collect();
    let mut e = engine(rate, 1, EngineParams::default());
    let minute = 60 * rate as usize;
    assert_eq!(minute % period, 0, "every minute must get the same input");
    let block_len = 1000;
    assert_eq!(minute % block_len, 0);
    // Everything allocated up front: the loop below allocates nothing of its own.
    let mut block = vec![0.0f32; block_len];
    let mut first_period = vec![0.0f32; period];
    let report_every = if minutes >= 60 { 60 } else { 1 };
    // The bookkeeping's own pages are touched now, so they cannot show up as growth later.
    let mut log: Vec<Minute> = Vec::with_capacity(minutes);
    log.resize_with(minutes, || Minute {
        level_db: 0.0,
        repeat_db: 0.0,
        rss_kib: Some(0),
        heap: Some((0, 0)),
        loop_allocs: Some(0),
    });
    log.clear();
    let mut report = String::with_capacity(256 * (minutes / report_every + 1));
    report.extend(std::iter::repeat_n(' ', report.capacity()));
    report.clear();
    let mut pos = 0usize;
    let started = std::time::Instant::now();
    for m in 0..minutes {
        let (mut sum_in, mut sum_out) = (0.0f64, 0.0f64);
        let (mut err, mut refe) = (0.0f64, 0.0f64);
        let mut done = 0;
        let heap_before = heap::now();
        while done < minute {
            for x in block.iter_mut() {
                *x = lp[pos % period];
                sum_in += (*x as f64).powi(2);
                pos += 1;
            }
            e.process(&mut [&mut block[..]]);
            // The minute's last input period, same phase as the first minute's.
            let last_start = minute - period;
            for (i, &y) in block.iter().enumerate() {
                assert!(y.is_finite(), "non-finite output in minute {}", m + 1);
                sum_out += (y as f64).powi(2);
                let k = done + i;
                if k >= last_start {
                    let r = &mut first_period[k - last_start];
                    if m == 0 {
                        *r = y;
                    }
                    err += (y as f64 - *r as f64).powi(2);
                    refe += (*r as f64).powi(2);
                }
            }
            done += block.len();
        }
        let heap_after = heap::now();
        log.push(Minute {
            level_db: db(sum_out / sum_in),
            repeat_db: db(err / refe),
            rss_kib: rss_kib(),
            heap: heap_after,
            loop_allocs: heap_before.zip(heap_after).map(|(a, b)| b.1 - a.1),
        });
        if (m + 1) % report_every == 0 || m + 1 == minutes {
            let rows = &log[(m / report_every) * report_every..=m];
            let lv = rows.iter().map(|r| r.level_db);
            let (lo, hi) = (
                lv.clone().fold(f64::MAX, f64::min),
                lv.fold(f64::MIN, f64::max),
            );
            let rep = rows.iter().map(|r| r.repeat_db).fold(f64::MIN, f64::max);
            let last = rows.last().unwrap();
            let unit = if report_every == 60 { "hour" } else { "minute" };
            let line = format!(
                "soak {unit} {:>4}: level {:>8.4} dB (min {:>8.4}, max {:>8.4})  repeat {:>7.1} dB  \
                 rss {:>7} KiB  heap {:>10} B  loop allocs {:>3}  wall {:>7.1} s",
                (m + 1).div_ceil(report_every),
                rows.iter().map(|r| r.level_db).sum::<f64>() / rows.len() as f64,
                lo,
                hi,
                rep,
                last.rss_kib.map_or("n/a".into(), |v| v.to_string()),
                last.heap.map_or("n/a".into(), |h| h.0.to_string()),
                rows.iter()
                    .map(|r| r.loop_allocs)
                    .sum::<Option<u64>>()
                    .map_or("n/a".into(), |v| v.to_string()),
                started.elapsed().as_secs_f64(),
            );
            eprintln!("{line}");
            report.push_str(&line);
            report.push('\n');
        }
    }

    // The first minute is warm-up (the model state settles, buffers fill); the second is the
    // reference. Minutes are numbered from 1 in the messages, as in the rows.
    let reference = &log[1];
    let mut worst_level = 0.0f64;
    for (i, r) in log.iter().enumerate().skip(1) {
        let m = i + 1;
        let d = (r.level_db - reference.level_db).abs();
        worst_level = worst_level.max(d);
        assert!(
            d < LEVEL_TOLERANCE_DB,
            "level drifted from {:.4} dB (minute 2) to {:.4} dB (minute {m})\n{report}",
            reference.level_db,
            r.level_db
        );
        assert!(
            r.repeat_db < REPEAT_TOLERANCE_DB,
            "minute {m}: the same input gave output {:.1} dB away from the first minute's\n{report}",
            r.repeat_db
        );
        if let (Some(now), Some(base)) = (r.rss_kib, reference.rss_kib) {
            assert!(
                now <= base + RSS_SLACK_KIB,
                "resident memory grew from {base} KiB (minute 2) to {now} KiB (minute {m})\n{report}"
            );
        }
        if let (Some(now), Some(base)) = (r.heap, reference.heap) {
            assert!(
                now.0 <= base.0 + HEAP_SLACK_BYTES,
                "live heap grew from {} B (minute 2) to {} B (minute {m})\n{report}",
                base.0,
                now.0
            );
        }
    }
    if let Some(n) = log
        .iter()
        .skip(1)
        .map(|r| r.loop_allocs)
        .sum::<Option<u64>>()
    {
        assert!(
            n <= LOOP_ALLOC_SLACK,
            "{n} allocations while audio was processed\n{report}"
        );
    }
    let max_rss = log.iter().skip(1).filter_map(|r| r.rss_kib).max();
    eprintln!(
        "soak summary: {minutes} min simulated in {:.1} s; level {:.4} dB, worst minute {:.4} dB \
         away; rss at minute 2 {} KiB, max after {} KiB",
        started.elapsed().as_secs_f64(),
        reference.level_db,
        worst_level,
        reference.rss_kib.map_or("n/a".into(), |v| v.to_string()),
        max_rss.map_or("n/a".into(), |v| v.to_string()),
    );
}
