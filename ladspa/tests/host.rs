//! Loads the built `libquell_ladspa.so` the way a LADSPA host does (dlopen, `ladspa_descriptor`,
//! the C callbacks) and checks what a host would see: descriptors and ports, exact latency, noise
//! reduction, model switching, recovery from NaN input, clamping of absurd control values,
//! identical results in place and out of place, and the Speech strength, Listen removed and Hum
//! removal ports.

// The root crate's shared test signals name the core crate `quell`, as its own tests do.
extern crate quell_core as quell;
#[path = "../../tests/common/mod.rs"]
mod common;

use common::{noise, rms, tone_power};
use std::ffi::{CStr, c_char, c_int, c_ulong, c_void};
use std::path::PathBuf;

// ladspa.h, restated here from the header rather than shared with the crate.
#[repr(C)]
#[derive(Clone, Copy)]
struct RangeHint {
    hint: c_int,
    lower: f32,
    upper: f32,
}

#[repr(C)]
struct Descriptor {
    unique_id: c_ulong,
    label: *const c_char,
    properties: c_int,
    name: *const c_char,
    maker: *const c_char,
    copyright: *const c_char,
    port_count: c_ulong,
    port_descriptors: *const c_int,
    port_names: *const *const c_char,
    port_range_hints: *const RangeHint,
    implementation_data: *mut c_void,
    instantiate: Option<unsafe extern "C" fn(*const Descriptor, c_ulong) -> *mut c_void>,
    connect_port: Option<unsafe extern "C" fn(*mut c_void, c_ulong, *mut f32)>,
    activate: Option<unsafe extern "C" fn(*mut c_void)>,
    run: Option<unsafe extern "C" fn(*mut c_void, c_ulong)>,
    run_adding: Option<unsafe extern "C" fn(*mut c_void, c_ulong)>,
    set_run_adding_gain: Option<unsafe extern "C" fn(*mut c_void, f32)>,
    deactivate: Option<unsafe extern "C" fn(*mut c_void)>,
    cleanup: Option<unsafe extern "C" fn(*mut c_void)>,
}

const PORT_INPUT: c_int = 0x1;
const PORT_OUTPUT: c_int = 0x2;
const PORT_CONTROL: c_int = 0x4;
const PORT_AUDIO: c_int = 0x8;

/// `QUELL_LADSPA_SO`, else the library cargo built for this test: it sits beside the test binary
/// in `deps/` (cargo copies it up to the profile folder only when the package itself is built).
fn so_path() -> PathBuf {
    if let Some(p) = std::env::var_os("QUELL_LADSPA_SO") {
        return p.into();
    }
    let exe = std::env::current_exe().unwrap();
    let deps = exe.parent().unwrap();
    [deps, deps.parent().unwrap()]
        .iter()
        .map(|d| d.join("libquell_ladspa.so"))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("libquell_ladspa.so not found near {}", deps.display()))
}

struct Library {
    _lib: libloading::Library,
    descriptors: Vec<&'static Descriptor>,
}

fn load() -> Library {
    let lib = unsafe { libloading::Library::new(so_path()) }.expect("dlopen");
    let f: libloading::Symbol<unsafe extern "C" fn(c_ulong) -> *const Descriptor> =
        unsafe { lib.get(b"ladspa_descriptor") }.expect("ladspa_descriptor symbol");
    let mut descriptors = Vec::new();
    for i in 0.. {
        let d = unsafe { f(i) };
        if d.is_null() {
            break;
        }
        descriptors.push(unsafe { &*d });
    }
    Library {
        _lib: lib,
        descriptors,
    }
}

fn cstr(p: *const c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

struct Port {
    name: String,
    kind: c_int,
    hint: RangeHint,
}

fn ports(d: &Descriptor) -> Vec<Port> {
    (0..d.port_count as usize)
        .map(|i| unsafe {
            Port {
                name: cstr(*d.port_names.add(i)),
                kind: *d.port_descriptors.add(i),
                hint: *d.port_range_hints.add(i),
            }
        })
        .collect()
}

/// The default a host derives from the hints (ladspa.h's rules).
fn hinted_default(h: RangeHint) -> Option<f32> {
    let (lo, hi) = (h.lower, h.upper);
    let between = |w: f32| {
        if h.hint & 0x10 != 0 {
            (lo.ln() * (1.0 - w) + hi.ln() * w).exp()
        } else {
            lo * (1.0 - w) + hi * w
        }
    };
    match h.hint & 0x3C0 {
        0x40 => Some(lo),
        0x80 => Some(between(0.25)),
        0xC0 => Some(between(0.5)),
        0x100 => Some(between(0.75)),
        0x140 => Some(hi),
        0x200 => Some(0.0),
        0x240 => Some(1.0),
        0x280 => Some(100.0),
        0x2C0 => Some(440.0),
        _ => None,
    }
}

/// One running instance with its own port memory. Boxed so the addresses given to the plugin
/// stay put.
struct Instance<'a> {
    d: &'a Descriptor,
    h: *mut c_void,
    ports: Vec<Port>,
    controls: Box<[f32]>,
    inputs: Vec<Vec<f32>>,
    outputs: Vec<Vec<f32>>,
    in_place: bool,
}

impl<'a> Instance<'a> {
    fn new(d: &'a Descriptor, rate: usize, in_place: bool) -> Self {
        let h = unsafe { d.instantiate.unwrap()(d, rate as c_ulong) };
        assert!(!h.is_null(), "instantiate failed at {rate} Hz");
        let ports = ports(d);
        let controls = ports
            .iter()
            .map(|p| hinted_default(p.hint).unwrap_or(0.0))
            .collect();
        let channels = ports
            .iter()
            .filter(|p| p.kind == PORT_INPUT | PORT_AUDIO)
            .count();
        let mut i = Self {
            d,
            h,
            ports,
            controls,
            inputs: vec![Vec::new(); channels],
            outputs: vec![Vec::new(); channels],
            in_place,
        };
        i.connect_controls();
        unsafe { d.activate.unwrap()(h) };
        i
    }

    fn connect_controls(&mut self) {
        for (k, p) in self.ports.iter().enumerate() {
            if p.kind & PORT_CONTROL != 0 {
                let ptr = &mut self.controls[k] as *mut f32;
                unsafe { self.d.connect_port.unwrap()(self.h, k as c_ulong, ptr) };
            }
        }
    }

    fn port(&self, name: &str) -> usize {
        self.ports
            .iter()
            .position(|p| p.name.starts_with(name))
            .unwrap_or_else(|| panic!("no port {name}"))
    }

    fn set(&mut self, name: &str, v: f32) {
        let k = self.port(name);
        self.controls[k] = v;
    }

    fn latency(&self) -> f32 {
        self.controls[self.port("latency")]
    }

    fn reactivate(&mut self) {
        unsafe {
            self.d.deactivate.unwrap()(self.h);
            self.d.activate.unwrap()(self.h);
        }
    }

    /// Runs one block; `block[c]` is channel c's input, replaced by the output.
    fn run_block(&mut self, block: &mut [Vec<f32>]) {
        let n = block[0].len();
        let (mut ins, mut outs) = (0, 0);
        for k in 0..self.ports.len() {
            let kind = self.ports[k].kind;
            if kind == PORT_INPUT | PORT_AUDIO {
                let c = ins;
                ins += 1;
                if self.in_place {
                    let p = block[c].as_mut_ptr();
                    unsafe { self.d.connect_port.unwrap()(self.h, k as c_ulong, p) };
                } else {
                    self.inputs[c].clear();
                    self.inputs[c].extend_from_slice(&block[c]);
                    let p = self.inputs[c].as_mut_ptr();
                    unsafe { self.d.connect_port.unwrap()(self.h, k as c_ulong, p) };
                }
            } else if kind == PORT_OUTPUT | PORT_AUDIO {
                let c = outs;
                outs += 1;
                let p = if self.in_place {
                    block[c].as_mut_ptr()
                } else {
                    // Garbage in the output buffer must not matter.
                    self.outputs[c].clear();
                    self.outputs[c].resize(n, f32::NAN);
                    self.outputs[c].as_mut_ptr()
                };
                unsafe { self.d.connect_port.unwrap()(self.h, k as c_ulong, p) };
            }
        }
        unsafe { self.d.run.unwrap()(self.h, n as c_ulong) };
        if !self.in_place {
            for (b, o) in block.iter_mut().zip(&self.outputs) {
                b.copy_from_slice(o);
            }
        }
    }

    /// Runs whole signals through in the given (cycled) block sizes.
    fn process(&mut self, input: &[Vec<f32>], blocks: &[usize]) -> Vec<Vec<f32>> {
        let n = input[0].len();
        let mut out = vec![Vec::with_capacity(n); input.len()];
        let (mut pos, mut k) = (0, 0);
        while pos < n {
            let len = blocks[k % blocks.len()].min(n - pos);
            k += 1;
            let mut block: Vec<Vec<f32>> =
                input.iter().map(|c| c[pos..pos + len].to_vec()).collect();
            self.run_block(&mut block);
            for (o, b) in out.iter_mut().zip(block) {
                o.extend(b);
            }
            pos += len;
        }
        out
    }
}

impl Drop for Instance<'_> {
    fn drop(&mut self) {
        unsafe {
            self.d.deactivate.unwrap()(self.h);
            self.d.cleanup.unwrap()(self.h);
        }
    }
}

const ODD_BLOCKS: &[usize] = &[1, 37, 480, 1023, 5, 64, 4099, 256];

fn db(ratio: f32) -> f32 {
    20.0 * ratio.log10()
}

fn all_finite(x: &[Vec<f32>]) -> bool {
    x.iter().flatten().all(|v| v.is_finite())
}

#[test]
fn descriptors_and_ports_are_what_hosts_expect() {
    let lib = load();
    assert_eq!(lib.descriptors.len(), 2);
    let labels: Vec<String> = lib.descriptors.iter().map(|d| cstr(d.label)).collect();
    assert_eq!(labels, ["quell_mono", "quell_stereo"]);
    assert_ne!(lib.descriptors[0].unique_id, lib.descriptors[1].unique_id);
    for d in &lib.descriptors {
        assert_eq!(cstr(d.maker), "Quell");
        assert!(cstr(d.name).starts_with("Quell"));
        assert!(d.run_adding.is_none() && d.set_run_adding_gain.is_none());
        let ports = ports(d);
        let stereo = cstr(d.label) == "quell_stereo";
        let count = |k: c_int| ports.iter().filter(|p| p.kind == k).count();
        assert_eq!(count(PORT_INPUT | PORT_AUDIO), if stereo { 2 } else { 1 });
        assert_eq!(count(PORT_OUTPUT | PORT_AUDIO), if stereo { 2 } else { 1 });
        let latency: Vec<&Port> = ports
            .iter()
            .filter(|p| p.kind == PORT_OUTPUT | PORT_CONTROL)
            .collect();
        assert_eq!(latency.len(), 1);
        assert_eq!(latency[0].name, "latency");
        let names: std::collections::HashSet<&str> =
            ports.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names.len(), ports.len(), "port names are unique");
        assert_eq!(
            ports.iter().any(|p| p.name == "Stereo link"),
            stereo,
            "a link port only on the stereo plugin"
        );
        let expect = [
            ("Strength (dB)", 0.0, 100.0, 100.0),
            ("Mix (%)", 0.0, 100.0, 100.0),
            ("Output gain (dB)", -24.0, 24.0, 0.0),
            ("Model", 0.0, 2.0, 0.0),
            ("VAD gate", 0.0, 1.0, 0.0),
            ("Gate threshold (%)", 0.0, 100.0, 50.0),
            ("Gate hold (ms)", 20.0, 2000.0, 200.0),
            ("Retroactive grace (ms)", 0.0, 120.0, 30.0),
            ("Speech strength (dB)", 0.0, 100.0, 100.0),
            ("Listen removed", 0.0, 1.0, 0.0),
            ("Hum removal", 0.0, 1.0, 0.0),
            ("Reverb reduction (dB, 24 = full)", 0.0, 24.0, 24.0),
            ("Contrast (0 = the model's gains)", 0.0, 1.0, 0.25),
        ];
        for name in ["Stereo link", "VAD gate", "Listen removed", "Hum removal"] {
            if let Some(p) = ports.iter().find(|p| p.name == name) {
                assert_eq!(p.hint.hint & 0x4, 0x4, "{name} is a toggle");
            }
        }
        // Audio first, then the controls, the `latency` output last; the newer controls come after
        // the older ones, so hosts that store values by port index keep theirs.
        let names: Vec<&str> = ports.iter().map(|p| p.name.as_str()).collect();
        let first_control = if stereo { 4 } else { 2 };
        assert!(names[first_control].starts_with("Strength"));
        let tail = &names[names.len() - 7..];
        assert_eq!(
            tail,
            [
                "Retroactive grace (ms)",
                "Speech strength (dB)",
                "Listen removed",
                "Hum removal",
                "Reverb reduction (dB, 24 = full)",
                "Contrast (0 = the model's gains)",
                "latency"
            ]
        );
        assert_eq!(ports.len(), if stereo { 19 } else { 16 });
        for (name, lo, hi, def) in expect {
            let p = ports.iter().find(|p| p.name.starts_with(name)).unwrap();
            assert_eq!(p.kind, PORT_INPUT | PORT_CONTROL, "{name}");
            let toggled = p.hint.hint & 0x4 != 0;
            if !toggled {
                assert_eq!(p.hint.hint & 0x3, 0x3, "{name} is bounded");
                assert_eq!((p.hint.lower, p.hint.upper), (lo, hi), "{name}");
            }
            let d = hinted_default(p.hint).unwrap();
            assert!((d - def).abs() < 1e-3, "{name}: default {d}, want {def}");
        }
    }
}

/// An impulse at strength 0 comes out unchanged, exactly `latency` samples later, at odd rates and
/// in odd block sizes, mono and stereo, in place or not.
#[test]
fn output_is_delayed_by_exactly_the_reported_latency() {
    let lib = load();
    for (d, rate, in_place) in [
        (lib.descriptors[0], 48_000, false),
        (lib.descriptors[0], 44_100, true),
        (lib.descriptors[1], 48_000, true),
        (lib.descriptors[1], 22_050, false),
    ] {
        let mut i = Instance::new(d, rate, in_place);
        i.set("Strength", 0.0);
        let channels = i.inputs.len();
        let at = 1000;
        let mut x = vec![0.0f32; 20_000];
        x[at] = 0.5;
        let out = i.process(&vec![x; channels], ODD_BLOCKS);
        let latency = i.latency();
        let hop = (rate as f32 / 200.0).round();
        assert_eq!(
            latency,
            2.0 * hop - 1.0,
            "{rate} Hz: base latency is fft - 1"
        );
        for o in &out {
            let peak = (0..o.len())
                .max_by(|&a, &b| o[a].abs().total_cmp(&o[b].abs()))
                .unwrap();
            assert_eq!(peak, at + latency as usize, "{rate} Hz");
            assert!(
                (o[peak] - 0.5).abs() < 0.01,
                "{rate} Hz: impulse {}",
                o[peak]
            );
            let rest: f32 = o
                .iter()
                .enumerate()
                .filter(|(k, _)| *k != peak)
                .map(|(_, v)| v.abs())
                .fold(0.0, f32::max);
            assert!(rest < 0.01, "{rate} Hz: residue {rest}");
        }
    }
}

/// Noise alone is attenuated by every model, after a switch through the Model port too, and the
/// switch changes the output.
#[test]
fn noise_is_reduced_and_the_model_port_switches_models() {
    let lib = load();
    let d = lib.descriptors[0];
    let rate = 48_000;
    let x = vec![noise(rate * 3, 1, 0.1)];
    let tail = rate * 2..rate * 3;

    let mut a = Instance::new(d, rate, false);
    let out_a = a.process(&x, ODD_BLOCKS);
    let red = db(rms(&x[0][tail.clone()]) / rms(&out_a[0][tail.clone()]));
    eprintln!("standard: noise reduced {red:.1} dB");
    assert!(red > 15.0, "standard: noise reduced only {red:.1} dB");

    for model in [1.0, 2.0] {
        let mut b = Instance::new(d, rate, false);
        // Same model for the first second, then the switch.
        let first = vec![x[0][..rate].to_vec()];
        let rest = vec![x[0][rate..].to_vec()];
        let mut out_b = b.process(&first, ODD_BLOCKS);
        b.set("Model", model);
        out_b[0].extend(b.process(&rest, ODD_BLOCKS).remove(0));
        assert!(all_finite(&out_b));
        assert_eq!(
            out_a[0][..rate],
            out_b[0][..rate],
            "identical before the switch"
        );
        let diff = rms(&out_a[0][tail.clone()]
            .iter()
            .zip(&out_b[0][tail.clone()])
            .map(|(p, q)| p - q)
            .collect::<Vec<_>>());
        assert!(
            diff > 1e-5,
            "model {model}: output unchanged after the switch"
        );
        let red = db(rms(&x[0][tail.clone()]) / rms(&out_b[0][tail.clone()]));
        eprintln!("model {model}: noise reduced {red:.1} dB");
        assert!(red > 10.0, "model {model}: noise reduced only {red:.1} dB");
    }
}

/// NaN and Inf input never reach the output, and processing recovers right after.
#[test]
fn nan_and_inf_input_recover() {
    let lib = load();
    for d in &lib.descriptors {
        let rate = 48_000;
        let mut i = Instance::new(d, rate, true);
        let channels = i.inputs.len();
        let mut x = noise(rate * 3, 2, 0.1);
        for v in &mut x[rate..rate + 2000] {
            *v = f32::NAN;
        }
        x[rate + 3000] = f32::INFINITY;
        x[rate + 3001] = f32::NEG_INFINITY;
        let out = i.process(&vec![x.clone(); channels], ODD_BLOCKS);
        assert!(all_finite(&out), "non-finite output");
        let mut clean = Instance::new(d, rate, true);
        let reference = clean.process(&vec![noise(rate * 3, 2, 0.1); channels], ODD_BLOCKS);
        let tail = rate * 2 + rate / 2..rate * 3;
        let (got, want) = (rms(&out[0][tail.clone()]), rms(&reference[0][tail]));
        assert!(got > 0.0, "silent after NaN");
        assert!(
            (db(got / want)).abs() < 3.0,
            "after NaN: {got} vs clean {want}"
        );
    }
}

/// Absurd control values behave exactly like the nearest valid ones; a grace far out of range
/// gives the longest grace, and only after re-activation.
#[test]
fn absurd_controls_are_clamped() {
    let lib = load();
    let d = lib.descriptors[1];
    let rate = 48_000;
    let x = vec![noise(rate, 3, 0.1), noise(rate, 4, 0.1)];
    let mut absurd = Instance::new(d, rate, false);
    let mut sane = Instance::new(d, rate, false);
    for (name, bad, good) in [
        ("Strength", f32::NAN, 100.0),
        ("Mix", 1e9, 100.0),
        ("Output gain", -1e30, -24.0),
        ("Model", 77.7, 2.0),
        ("Stereo link", f32::INFINITY, 0.0),
        ("Gate threshold", -5.0, 0.0),
        ("Gate hold", f32::NEG_INFINITY, 200.0),
        ("Retroactive grace", 1e9, 120.0),
        ("Speech strength", -40.0, 0.0),
        ("Listen removed", f32::NAN, 0.0),
        ("Hum removal", 1e30, 1.0),
        ("Reverb reduction", f32::NAN, 24.0),
    ] {
        absurd.set(name, bad);
        sane.set(name, good);
    }
    let a = absurd.process(&x, ODD_BLOCKS);
    let b = sane.process(&x, ODD_BLOCKS);
    assert!(all_finite(&a));
    assert_eq!(a, b, "absurd controls differ from their clamped values");
    assert_eq!(absurd.latency(), 479.0, "no grace with the gate off");

    absurd.set("VAD gate", 1.0);
    absurd.process(&x, &[480]);
    assert_eq!(absurd.latency(), 479.0, "grace waits for re-activation");
    absurd.reactivate();
    let out = absurd.process(&x, &[333]);
    assert!(all_finite(&out));
    assert_eq!(
        absurd.latency(),
        479.0 + 24.0 * 240.0,
        "120 ms of grace = 24 hops"
    );
}

/// In place and out of place give the same samples.
#[test]
fn in_place_equals_separate_buffers() {
    let lib = load();
    for d in &lib.descriptors {
        let mut a = Instance::new(d, 48_000, true);
        let mut b = Instance::new(d, 48_000, false);
        let channels = a.inputs.len();
        let x: Vec<Vec<f32>> = (0..channels)
            .map(|c| noise(30_000, 10 + c as u64, 0.2))
            .collect();
        assert_eq!(a.process(&x, ODD_BLOCKS), b.process(&x, ODD_BLOCKS));
    }
}

/// Odd rates a host may ask for either work or fail cleanly at instantiate.
#[test]
fn odd_rates_instantiate_or_fail_cleanly() {
    let lib = load();
    let d = lib.descriptors[0];
    for rate in [0, 1, 999, c_ulong::MAX] {
        let h = unsafe { d.instantiate.unwrap()(d, rate) };
        assert!(h.is_null(), "{rate} Hz accepted");
    }
    for rate in [1000, 8000, 96_000, 192_000] {
        let mut i = Instance::new(d, rate, false);
        let out = i.process(&[noise(rate / 2, 5, 0.1)], ODD_BLOCKS);
        assert!(all_finite(&out), "{rate} Hz");
    }
}

/// With Stereo link on, one mask serves both channels: a right channel that is the left at half the
/// level comes out as exactly half the left's output. Off, each channel gets its own mask (the
/// network hears two levels), and the two outputs are no longer in proportion.
#[test]
fn stereo_link_port_shares_one_mask() {
    let lib = load();
    let d = lib.descriptors[1];
    let rate = 48_000;
    let left = noise(rate, 6, 0.2);
    let right: Vec<f32> = left.iter().map(|v| v * 0.5).collect();
    let deviation = |link: f32| {
        let mut i = Instance::new(d, rate, false);
        i.set("Stereo link", link);
        let out = i.process(&[left.clone(), right.clone()], ODD_BLOCKS);
        assert!(all_finite(&out));
        let diff: Vec<f32> = out[0][rate / 2..]
            .iter()
            .zip(&out[1][rate / 2..])
            .map(|(l, r)| r - 0.5 * l)
            .collect();
        rms(&diff) / rms(&out[1][rate / 2..]).max(1e-12)
    };
    let linked = deviation(1.0);
    let separate = deviation(0.0);
    eprintln!("right - left/2, relative: linked {linked:.2e}, separate {separate:.2e}");
    assert!(
        linked < 1e-4,
        "linked: the outputs are not in proportion ({linked:.2e})"
    );
    assert!(
        separate > 100.0 * linked.max(1e-6),
        "the link port changes little: {separate:.2e} vs {linked:.2e}"
    );
}

/// A host that gives both stereo outputs one buffer gets finite audio, not a crash.
#[test]
fn stereo_outputs_sharing_one_buffer_are_survived() {
    let lib = load();
    let d = lib.descriptors[1];
    let h = unsafe { d.instantiate.unwrap()(d, 48_000) };
    assert!(!h.is_null());
    let mut controls = vec![0.0f32; d.port_count as usize];
    let l = noise(4096, 8, 0.2);
    let r = noise(4096, 9, 0.2);
    let mut shared = vec![0.0f32; 4096];
    for (k, p) in ports(d).iter().enumerate() {
        let ptr: *mut f32 = match (p.kind, p.name.as_str()) {
            (k2, "Input L") if k2 == PORT_INPUT | PORT_AUDIO => l.as_ptr().cast_mut(),
            (k2, _) if k2 == PORT_INPUT | PORT_AUDIO => r.as_ptr().cast_mut(),
            (k2, _) if k2 == PORT_OUTPUT | PORT_AUDIO => shared.as_mut_ptr(),
            _ => &mut controls[k],
        };
        unsafe { d.connect_port.unwrap()(h, k as c_ulong, ptr) };
    }
    unsafe {
        d.activate.unwrap()(h);
        for _ in 0..4 {
            d.run.unwrap()(h, 4096);
        }
        d.deactivate.unwrap()(h);
        d.cleanup.unwrap()(h);
    }
    assert!(shared.iter().all(|v| v.is_finite()));
}

/// `x` delayed by `lag` samples (zeros first), cut to its length.
fn delayed(x: &[f32], lag: usize) -> Vec<f32> {
    let mut d = vec![0.0; x.len()];
    d[lag..].copy_from_slice(&x[..x.len() - lag]);
    d
}

/// Noise with a 50 Hz hum and its third harmonic.
fn hummy_noise(n: usize, rate: usize, seed: u64) -> Vec<f32> {
    noise(n, seed, 0.05)
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = i as f32 / rate as f32;
            v + 0.03 * (std::f32::consts::TAU * 50.0 * t).sin()
                + 0.01 * (std::f32::consts::TAU * 150.0 * t).sin()
        })
        .collect()
}

/// With Listen removed on, the plugin outputs exactly what the same settings take away with it off:
/// the two add up to the input delayed by `latency`, sample for sample, mono and stereo, with Hum
/// removal off and on.
#[test]
fn listen_removed_plus_output_is_the_delayed_input() {
    let lib = load();
    for (d, rate, strength, hum) in [
        (lib.descriptors[0], 48_000, 100.0, 0.0),
        (lib.descriptors[0], 48_000, 20.0, 1.0),
        (lib.descriptors[1], 44_100, 100.0, 1.0),
    ] {
        let run = |listen: f32| {
            let mut i = Instance::new(d, rate, false);
            i.set("Strength", strength);
            i.set("Hum removal", hum);
            i.set("Listen removed", listen);
            let channels = i.inputs.len();
            let x: Vec<Vec<f32>> = (0..channels)
                .map(|c| hummy_noise(rate * 2, rate, 20 + c as u64))
                .collect();
            let out = i.process(&x, ODD_BLOCKS);
            (x, out, i.latency() as usize)
        };
        let (x, out, lag) = run(0.0);
        let (_, removed, lag_removed) = run(1.0);
        assert_eq!(lag, lag_removed);
        for ((x, o), r) in x.iter().zip(&out).zip(&removed) {
            let want = delayed(x, lag);
            let worst = want
                .iter()
                .zip(o.iter().zip(r))
                .map(|(w, (o, r))| (w - o - r).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst < 1e-5,
                "{rate} Hz, strength {strength}, hum {hum}: output + removed is off by {worst}"
            );
            let (ro, rr) = (rms(&o[rate..]), rms(&r[rate..]));
            eprintln!(
                "{rate} Hz, strength {strength}, hum {hum}: output {ro:.4}, removed {rr:.4} rms"
            );
            assert!(rr > 0.01, "nothing was removed ({rr})");
        }
    }
}

/// At Strength 0 only the hum remover acts: with the port on, a steady 50 Hz hum and its third
/// harmonic in noise are down by at least 20 dB after 3 s; with it off they pass untouched.
#[test]
fn hum_removal_port_takes_mains_hum_down() {
    let lib = load();
    for d in &lib.descriptors {
        let rate = 48_000;
        let run = |hum: f32| {
            let mut i = Instance::new(d, rate, true);
            i.set("Strength", 0.0);
            i.set("Hum removal", hum);
            let channels = i.inputs.len();
            let x = vec![hummy_noise(rate * 4, rate, 30); channels];
            let out = i.process(&x, ODD_BLOCKS);
            assert!(all_finite(&out));
            out
        };
        let (plain, notched) = (run(0.0), run(1.0));
        for (p, q) in plain.iter().zip(&notched) {
            // The last second: 50 whole periods of 50 Hz.
            let tail = 3 * rate..4 * rate;
            for hz in [50.0, 150.0] {
                let down = 10.0
                    * (tone_power(&p[tail.clone()], hz, rate)
                        / tone_power(&q[tail.clone()], hz, rate))
                    .log10();
                eprintln!("{hz} Hz down {down:.1} dB");
                assert!(down > 20.0, "{hz} Hz taken down by only {down:.1} dB");
            }
            // The noise around it stays (the notches are narrow).
            let broad = db(rms(&q[tail.clone()]) / rms(&p[tail.clone()]));
            assert!(broad > -3.0, "hum removal took {broad:.1} dB of everything");
        }
    }
}

/// Speech strength 0 with Strength 100: noise alone is still taken down, but while the model hears
/// speech nothing is, so the output there stays close to the (delayed) input; at the default (100)
/// it does not. NaN on the port is the default, and the engine caps it at Strength.
#[test]
fn speech_strength_port_limits_attenuation_in_speech() {
    let lib = load();
    let d = lib.descriptors[0];
    let rate = 48_000;
    let s = common::speech::speech(48_000.0);
    let lead = rate;
    let mut x = noise(lead + s.len(), 40, 1.0);
    let g = rms(&s) / rms(&x) / 10f32.powf(5.0 / 20.0);
    for (k, v) in x.iter_mut().enumerate() {
        *v = *v * g + if k >= lead { s[k - lead] } else { 0.0 };
    }
    let run = |strength: f32, speech: f32| {
        let mut i = Instance::new(d, rate, false);
        i.set("Strength", strength);
        i.set("Speech strength", speech);
        let out = i.process(std::slice::from_ref(&x), ODD_BLOCKS).remove(0);
        assert!(out.iter().all(|v| v.is_finite()));
        (out, i.latency() as usize)
    };
    let (full, lag) = run(100.0, 100.0);
    let (open, _) = run(100.0, 0.0);
    let want = delayed(&x, lag);
    // Where the sentence is loud (10 ms hops louder than its mean): how far the output is from
    // the input there. At the default the noise under the speech is taken out; with speech
    // strength 0 hardly anything is.
    let hop = rate / 100;
    let loud: Vec<usize> = (0..s.len() / hop)
        .filter(|&h| rms(&s[h * hop..(h + 1) * hop]) > rms(&s))
        .map(|h| lead + lag + h * hop)
        .collect();
    assert!(loud.len() > 50, "{} loud hops", loud.len());
    let residual = |y: &[f32]| {
        let e: Vec<f32> = loud
            .iter()
            .flat_map(|&k| (k..k + hop).map(|i| y[i] - want[i]))
            .collect();
        rms(&e)
    };
    let (r_full, r_open) = (residual(&full), residual(&open));
    let noise_part = lead / 2..lead;
    let (n_in, n_full, n_open) = (
        rms(&want[noise_part.clone()]),
        rms(&full[noise_part.clone()]),
        rms(&open[noise_part.clone()]),
    );
    eprintln!(
        "loud speech, output - input: {r_full:.4} (speech strength 100), {r_open:.4} (0); noise \
         alone reduced {:.1} / {:.1} dB",
        db(n_in / n_full),
        db(n_in / n_open)
    );
    assert!(
        db(r_full / r_open) > 8.0,
        "speech strength 0 changed little in speech: residual {r_open} vs {r_full}"
    );
    assert!(db(n_in / n_open) > 15.0, "noise alone no longer reduced");

    // NaN is the default (100 dB); Strength 0 caps any speech strength (the input passes).
    let (nan, _) = run(100.0, f32::NAN);
    assert_eq!(nan, full);
    let (capped, _) = run(0.0, 100.0);
    let (zero, _) = run(0.0, 0.0);
    assert_eq!(capped, zero);
    let worst = capped
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-4, "strength 0 is not a pass-through: {worst}");
}

/// Random host behaviour, as `tests/fuzz_engine.rs` does for the engine: random block sizes (0
/// included), every control port set to random values (in range, out of range, NaN, ±Inf) between
/// blocks, random model switches, deactivate/activate, and input that mixes noise with NaN/Inf,
/// full-scale, DC and denormal stretches. The output must stay finite and bounded, in place or not.
#[test]
fn fuzzed_ports_blocks_and_input_never_break_the_output() {
    let lib = load();
    let mut seed = 0x5eed_u64;
    let mut next = move || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as u32
    };
    for (di, d) in lib.descriptors.iter().enumerate() {
        for in_place in [true, false] {
            let mut inst = Instance::new(d, [44_100, 48_000][di % 2], in_place);
            let controls: Vec<usize> = (0..inst.ports.len())
                .filter(|&k| inst.ports[k].kind == PORT_INPUT | PORT_CONTROL)
                .collect();
            let channels = inst.inputs.len();
            for step in 0..400 {
                if next() % 4 == 0 {
                    let k = controls[next() as usize % controls.len()];
                    let (lo, hi) = (inst.ports[k].hint.lower, inst.ports[k].hint.upper);
                    inst.controls[k] = match next() % 6 {
                        0 => f32::NAN,
                        1 => f32::INFINITY,
                        2 => f32::NEG_INFINITY,
                        3 => hi + 1e6,
                        _ => lo + (hi - lo) * (next() % 1001) as f32 / 1000.0,
                    };
                }
                if next() % 97 == 0 {
                    inst.reactivate();
                }
                let n = [0, 1, 7, 64, 240, 481, 1024, 2049][next() as usize % 8];
                let kind = next() % 10;
                let mut block: Vec<Vec<f32>> = (0..channels)
                    .map(|c| {
                        let mut x = noise(n, step * 7 + c as u64, 0.3);
                        for v in &mut x {
                            *v = match kind {
                                0 => f32::NAN,
                                1 => [f32::INFINITY, f32::NEG_INFINITY][c % 2],
                                2 => 1.0,
                                3 => 0.5,
                                4 => 1e-40,
                                5 => 1e9,
                                _ => *v,
                            };
                        }
                        x
                    })
                    .collect();
                inst.run_block(&mut block);
                for (c, ch) in block.iter().enumerate() {
                    for &v in ch {
                        assert!(
                            v.is_finite() && v.abs() <= 64.0,
                            "{} in_place={in_place} step {step} channel {c}: output {v}",
                            cstr(d.label)
                        );
                    }
                }
            }
        }
    }
}
