//! The engine allocates nothing while it processes, with the stages that keep buffers of their own:
//! a model with a deep filter (its history, coefficients and output) and the pitch comb (its input
//! history, tracker and predicted spectrum) and a model with a convolutional front end (its past
//! frames, in the network state) use buffers sized when the engine and instance are built. Without
//! `assert_process_allocs` a counting allocator counts the calls (its own test binary: it sees every
//! thread of the process); with it, nice-plug's allocator aborts on any allocation inside
//! `assert_no_alloc`, as it does in a host's process().

mod common;

use std::sync::Arc;

use common::*;
use quell::engine::{EngineParams, Listen};
use quell::model::ModelWeights;

#[cfg(not(feature = "assert_process_allocs"))]
mod count {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

    static CALLS: AtomicU64 = AtomicU64::new(0);

    struct Counting;

    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, l: Layout) -> *mut u8 {
            CALLS.fetch_add(1, Relaxed);
            unsafe { System.alloc(l) }
        }
        unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
            CALLS.fetch_add(1, Relaxed);
            unsafe { System.alloc_zeroed(l) }
        }
        unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
            unsafe { System.dealloc(p, l) }
        }
        unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
            CALLS.fetch_add(1, Relaxed);
            unsafe { System.realloc(p, l, new) }
        }
    }

    #[global_allocator]
    static A: Counting = Counting;

    /// Runs `f`; fails the test if it allocated.
    pub fn no_allocs(what: &str, f: impl FnOnce()) {
        let before = CALLS.load(Relaxed);
        f();
        let calls = CALLS.load(Relaxed) - before;
        assert_eq!(calls, 0, "{what}: {calls} allocations while processing");
    }
}

#[cfg(feature = "assert_process_allocs")]
mod count {
    /// Runs `f`; an allocation aborts the process.
    pub fn no_allocs(_what: &str, f: impl FnOnce()) {
        nice_assert_no_alloc::assert_no_alloc(f)
    }
}

#[test]
fn the_deep_filter_the_pitch_comb_and_the_front_end_allocate_nothing_while_processing() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let filter =
        ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_filter.safetensors"))
            .unwrap();
    assert!(filter.deep_filter.is_some());
    let conv =
        ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_conv.safetensors")).unwrap();
    assert!(conv.conv.is_some());
    let rate = 48_000.0;
    let n = 48_000;
    let input = vec![
        mixed(&voiced(n, rate, 0.3), &noise(n, 3, 0.05)),
        noise(n, 4, 0.1),
    ];
    let cases = [
        (
            "filter",
            filter.clone(),
            false,
            Listen::Output,
            EngineParams::default().harmonics,
        ),
        (
            "filter",
            filter,
            true,
            Listen::Removed,
            EngineParams::default().harmonics,
        ),
        (
            "convolutional front end",
            conv,
            false,
            Listen::Output,
            EngineParams::default().harmonics,
        ),
        (
            "default model, full comb",
            (*default_weights()).clone(),
            false,
            Listen::Output,
            1.0,
        ),
        (
            "default model, full comb",
            (*default_weights()).clone(),
            true,
            Listen::Removed,
            1.0,
        ),
    ];
    for (name, w, link, listen, harmonics) in cases {
        let instance = quell::ModelInstance::new(Arc::new(w), rate, 2).unwrap();
        let params = EngineParams {
            stereo_link: link,
            listen,
            mix: 0.8,
            harmonics,
            ..EngineParams::default()
        };
        let mut e = quell::Engine::new(Box::new(instance), params);
        let mut bufs = input.clone();
        // The label is made before: formatting allocates.
        let what = format!("{name}, link {link}, {listen:?}");
        count::no_allocs(&what, || {
            for start in (0..n).step_by(480) {
                let (l, r) = bufs.split_at_mut(1);
                e.process(&mut [&mut l[0][start..start + 480], &mut r[0][start..start + 480]]);
            }
            e.reset();
        });
        assert!(bufs.iter().flatten().all(|v| v.is_finite()));
    }
}
