//! `run` must not allocate. A test binary that loads the `.so` cannot see this: the cdylib carries
//! its own global allocator. So this test lives in the crate, where the counting allocator below is
//! the allocator of the plugin code too, and drives the same `extern "C"` functions a host calls.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::c_ulong;

use crate::abi::Descriptor;
use crate::ladspa_descriptor;
use crate::ports::{Control, Slot};

struct Counting;

thread_local! {
    // Per thread, so tests running in parallel do not count each other's allocations.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

fn note() {
    let _ = ARMED.try_with(|a| {
        if a.get() {
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
    });
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        note();
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        note();
        unsafe { System.dealloc(p, l) }
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, n: usize) -> *mut u8 {
        note();
        unsafe { System.realloc(p, l, n) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations and frees made by `f` on this thread.
fn count(f: impl FnOnce()) -> usize {
    COUNT.with(|c| c.set(0));
    ARMED.with(|a| a.set(true));
    f();
    ARMED.with(|a| a.set(false));
    COUNT.with(|c| c.get())
}

#[test]
fn the_counter_sees_an_allocation() {
    let n = count(|| {
        std::hint::black_box(Vec::<u8>::with_capacity(64));
    });
    assert!(n >= 1, "the counting allocator is not in use");
}

fn drive(index: c_ulong) {
    let d: &Descriptor = unsafe { &*ladspa_descriptor(index) };
    let ports = crate::descriptor::ports_of(d).unwrap();
    let h = unsafe { d.instantiate.unwrap()(d, 48_000) };
    assert!(!h.is_null());
    let mut controls = [0.0f32; Control::COUNT];
    let mut latency = 0.0f32;
    let mut left: Vec<f32> = (0..4096)
        .map(|i| ((i * 7919) % 200) as f32 / 400.0 - 0.25)
        .collect();
    let mut right = left.clone();
    let right_in = right.clone();
    let connect = d.connect_port.unwrap();
    for (i, p) in ports.iter().enumerate() {
        let data: *mut f32 = match p.slot {
            Slot::Control(Control::Latency) => &mut latency,
            Slot::Control(c) => &mut controls[c as usize],
            // Left in place, right into its own buffer: both paths run.
            Slot::Input(0) | Slot::Output(0) => left.as_mut_ptr(),
            Slot::Input(_) => right_in.as_ptr().cast_mut(),
            Slot::Output(_) => right.as_mut_ptr(),
        };
        unsafe { connect(h, i as c_ulong, data) };
    }
    for p in ports {
        if let Slot::Control(c) = p.slot {
            controls[c as usize] = p.default;
        }
    }
    controls[Control::Gate as usize] = 1.0;
    let run = d.run.unwrap();
    let n = count(|| unsafe {
        d.activate.unwrap()(h);
        // First run: latches the grace and resets.
        run(h, 1000);
        for (k, block) in [1usize, 63, 480, 4096, 0, 333].iter().enumerate() {
            controls[Control::Model as usize] = (k % 3) as f32;
            controls[Control::Strength as usize] = 10.0 * k as f32;
            controls[Control::Link as usize] = (k % 2) as f32;
            controls[Control::SpeechStrength as usize] = 100.0 - 20.0 * k as f32;
            controls[Control::Listen as usize] = ((k / 2) % 2) as f32;
            controls[Control::Hum as usize] = ((k + 1) % 2) as f32;
            controls[Control::Reverb as usize] = 4.0 * k as f32;
            left[7] = if k == 2 { f32::NAN } else { 0.1 };
            run(h, *block as c_ulong);
        }
        controls[Control::Mix as usize] = f32::NAN;
        controls[Control::Hold as usize] = f32::INFINITY;
        controls[Control::SpeechStrength as usize] = f32::NAN;
        controls[Control::Listen as usize] = f32::NAN;
        controls[Control::Hum as usize] = 1.0;
        controls[Control::Reverb as usize] = f32::NAN;
        run(h, 4096);
        d.deactivate.unwrap()(h);
        d.activate.unwrap()(h);
        run(h, 512);
        // Two seconds of 50 Hz hum with Hum removal on: the detector finds it and the notches run.
        controls[Control::Listen as usize] = 0.0;
        for b in 0..24 {
            for (i, v) in left.iter_mut().enumerate() {
                let t = (b * 4096 + i) as f32 / 48_000.0;
                *v = 0.1 * (std::f32::consts::TAU * 50.0 * t).sin();
            }
            run(h, 4096);
        }
    });
    let tones = unsafe { &*h.cast::<crate::instance::Instance>() }.hum_tones();
    unsafe { d.cleanup.unwrap()(h) };
    assert_eq!(n, 0, "run/activate allocated or freed {n} times");
    assert!(latency > 0.0);
    assert!(
        tones > 0,
        "the hum remover found no tone: its path did not run"
    );
}

#[test]
fn mono_run_never_allocates() {
    drive(0);
}

#[test]
fn stereo_run_never_allocates() {
    drive(1);
}
