//! Engine behaviour every front end relies on: block-size independence, causality, exact latency,
//! stereo handling, recovery from bad input, reset.

mod common;

use common::*;
use quell::engine::EngineParams;

fn full() -> EngineParams {
    EngineParams::default()
}

#[test]
fn output_is_bit_identical_for_any_block_partition() {
    let rate = 48_000.0;
    let n = 48_000 * 2;
    let input = vec![
        mixed(&voiced(n, rate, 0.3), &noise(n, 1, 0.05)),
        noise(n, 2, 0.1),
    ];
    let reference = run(&mut engine(rate, 2, full()), &input, 480);
    // Sizes from 1 to 8192, changing every call.
    let mut e = engine(rate, 2, full());
    let mut out = input.clone();
    let mut pos = 0;
    let mut seed = 12345u64;
    while pos < n {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
        let len = match (seed >> 33) % 4 {
            0 => 1,
            1 => 1 + ((seed >> 40) % 64) as usize,
            2 => 1 + ((seed >> 40) % 8192) as usize,
            _ => 8192,
        }
        .min(n - pos);
        let mut slices: Vec<&mut [f32]> = out.iter_mut().map(|c| &mut c[pos..pos + len]).collect();
        e.process(&mut slices);
        pos += len;
    }
    for c in 0..2 {
        assert!(
            reference[c] == out[c],
            "channel {c} differs between partitions"
        );
    }
    // Empty blocks are allowed and change nothing.
    e.process(&mut [&mut [][..], &mut [][..]]);
}

#[test]
fn changing_future_input_never_changes_past_output() {
    let rate = 48_000.0;
    let n = 24_000;
    let a = vec![voiced(n, rate, 0.3)];
    let mut b = a.clone();
    let cut = 10_000;
    for (x, y) in b[0][cut..].iter_mut().zip(noise(n - cut, 9, 0.5)) {
        *x = y;
    }
    let oa = run(&mut engine(rate, 1, full()), &a, 333);
    let ob = run(&mut engine(rate, 1, full()), &b, 333);
    assert_eq!(
        oa[0][..cut],
        ob[0][..cut],
        "output before the change must not move"
    );
    assert!(
        oa[0][cut..] != ob[0][cut..],
        "the change must show up afterwards"
    );
}

#[test]
fn impulse_comes_out_exactly_at_the_reported_latency_with_strength_zero() {
    for rate in [
        16_000.0, 22_050.0, 32_000.0, 44_100.0, 48_000.0, 88_200.0, 96_000.0,
    ] {
        let params = EngineParams {
            strength_db: 0.0,
            ..full()
        };
        let mut e = engine(rate, 1, params);
        let latency = e.latency();
        assert!(latency as f32 / rate <= 0.0101, "{rate}: latency {latency}");
        let n = latency * 4 + 3000;
        let mut x = vec![0.0; n];
        let at = 1234;
        x[at] = 1.0;
        let out = run(&mut e, &[x], 100);
        let (peak_i, peak) = out[0].iter().enumerate().fold((0, 0.0f32), |m, (i, v)| {
            if v.abs() > m.1 { (i, v.abs()) } else { m }
        });
        assert_eq!(peak_i, at + latency, "rate {rate}");
        assert!((peak - 1.0).abs() < 1e-4, "rate {rate}: peak {peak}");
        let rest: f32 = out[0]
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != peak_i)
            .map(|(_, v)| v.abs())
            .fold(0.0, f32::max);
        assert!(rest < 1e-4, "rate {rate}: residue {rest}");
    }
}

#[test]
fn zero_strength_is_transparent_for_any_signal() {
    let rate = 44_100.0;
    let params = EngineParams {
        strength_db: 0.0,
        ..full()
    };
    let mut e = engine(rate, 1, params);
    let lat = e.latency();
    let x = noise(20_000, 3, 0.5);
    let out = run(&mut e, std::slice::from_ref(&x), 512);
    for i in lat + 1000..x.len() {
        assert!((out[0][i] - x[i - lat]).abs() < 1e-4);
    }
}

#[test]
fn stereo_channels_are_independent_without_link() {
    let rate = 48_000.0;
    let n = 20_000;
    let l: Vec<f32> = mixed(&voiced(n, rate, 0.3), &noise(n, 4, 0.05));
    let r = noise(n, 5, 0.2);
    let stereo = run(&mut engine(rate, 2, full()), &[l.clone(), r.clone()], 256);
    let mono_l = run(&mut engine(rate, 1, full()), &[l], 256);
    let mono_r = run(&mut engine(rate, 1, full()), &[r], 256);
    assert_eq!(stereo[0], mono_l[0]);
    assert_eq!(stereo[1], mono_r[0]);
}

#[test]
fn stereo_link_applies_one_mask_to_both_channels() {
    let rate = 48_000.0;
    let n = 20_000;
    let l: Vec<f32> = mixed(&voiced(n, rate, 0.3), &noise(n, 6, 0.05));
    // R is a scaled copy of L: with one shared mask, the outputs keep exactly that ratio.
    let r: Vec<f32> = l.iter().map(|x| 0.25 * x).collect();
    let linked = run(
        &mut engine(
            rate,
            2,
            EngineParams {
                stereo_link: true,
                ..full()
            },
        ),
        &[l.clone(), r.clone()],
        256,
    );
    for (a, b) in linked[0].iter().zip(&linked[1]) {
        assert!((0.25 * a - b).abs() < 1e-5);
    }
    // And the linked mask uses both channels: differs from processing L alone when R differs.
    let other = noise(n, 7, 0.3);
    let linked2 = run(
        &mut engine(
            rate,
            2,
            EngineParams {
                stereo_link: true,
                ..full()
            },
        ),
        &[l.clone(), other],
        256,
    );
    let alone = run(&mut engine(rate, 1, full()), &[l], 256);
    assert!(linked2[0] != alone[0]);
}

#[test]
fn nan_inf_and_absurd_input_never_make_output_non_finite_and_state_recovers() {
    let rate = 48_000.0;
    let n = rate as usize * 4;
    let clean: Vec<f32> = mixed(&voiced(n, rate, 0.2), &noise(n, 8, 0.02));
    let mut bad = clean.clone();
    let (b0, b1) = (rate as usize / 2, rate as usize);
    for (i, x) in bad[b0..b1].iter_mut().enumerate() {
        *x = match i % 4 {
            0 => f32::NAN,
            1 => f32::INFINITY,
            2 => f32::NEG_INFINITY,
            _ => 1e30,
        };
    }
    let mut reference_in = clean.clone();
    reference_in[b0..b1].fill(0.0);
    let out = run(&mut engine(rate, 1, full()), &[bad], 512);
    assert!(out[0].iter().all(|x| x.is_finite()), "non-finite output");
    let reference = run(&mut engine(rate, 1, full()), &[reference_in], 512);
    // One second after the bad input stops, output matches a run that never saw it.
    let from = b1 + rate as usize + 480;
    let diff: Vec<f32> = out[0][from..]
        .iter()
        .zip(&reference[0][from..])
        .map(|(a, b)| a - b)
        .collect();
    let rel = rms(&diff) / rms(&reference[0][from..]).max(1e-9);
    assert!(
        rel < 0.01,
        "state did not recover: relative difference {rel}"
    );
}

#[test]
fn reset_clears_all_state() {
    let rate = 48_000.0;
    let x = vec![mixed(&voiced(30_000, rate, 0.3), &noise(30_000, 10, 0.1))];
    let mut e = engine(rate, 1, full());
    let first = run(&mut e, &x, 700);
    e.reset();
    let second = run(&mut e, &x, 700);
    assert_eq!(first, second);
}

#[test]
fn model_swap_keeps_output_finite_and_rejects_mismatched_instances() {
    use quell::engine::ModelInstance;
    let rate = 48_000.0;
    let mut e = engine(rate, 1, full());
    let x = vec![noise(10_000, 11, 0.2)];
    run(&mut e, &x, 256);
    let same = ModelInstance::new(default_weights(), rate, 1).unwrap();
    assert!(e.swap_model(Box::new(same)).is_ok());
    let wrong_rate = ModelInstance::new(default_weights(), 44_100.0, 1).unwrap();
    assert!(e.swap_model(Box::new(wrong_rate)).is_err());
    let wrong_channels = ModelInstance::new(default_weights(), rate, 2).unwrap();
    assert!(e.swap_model(Box::new(wrong_channels)).is_err());
    let out = run(&mut e, &x, 256);
    assert!(out[0].iter().all(|v| v.is_finite()));
}

#[test]
fn odd_sample_rates_are_rejected_or_handled() {
    assert!(quell::engine::ModelInstance::new(default_weights(), 0.0, 1).is_err());
    assert!(quell::engine::ModelInstance::new(default_weights(), f32::NAN, 1).is_err());
    assert!(quell::engine::ModelInstance::new(default_weights(), 999.0, 1).is_err());
    // Unusual rates hosts and validators ask for all work, with the exact latency.
    for rate in [
        1_000.0,
        1_234.567_8,
        11_025.0,
        12_345.678,
        123_456.78,
        768_000.0,
        1_536_000.0,
    ] {
        let mut e = engine(rate, 2, full());
        let out = run(
            &mut e,
            &[noise(20_000, 12, 0.1), noise(20_000, 13, 0.1)],
            77,
        );
        assert!(out.iter().flatten().all(|v| v.is_finite()), "{rate}");
        let mut e = engine(
            rate,
            1,
            EngineParams {
                strength_db: 0.0,
                ..full()
            },
        );
        let lat = e.latency();
        let mut x = vec![0.0; lat + 3000];
        x[100] = 1.0;
        let y = run(&mut e, &[x], 64).remove(0);
        assert!(
            (y[100 + lat] - 1.0).abs() < 1e-3,
            "{rate}: impulse at the latency"
        );
    }
}

#[test]
fn model_swap_mid_stream_is_click_free() {
    use quell::engine::ModelInstance;
    use quell::model::{ModelWeights, bundled};
    use std::sync::Arc;
    let rate = 48_000.0;
    let n = 48_000;
    // A steady tone in steady noise: any step in the mask would show as a jump between samples.
    let x: Vec<f32> = (0..n)
        .map(|i| 0.3 * (i as f32 * 2.0 * std::f32::consts::PI * 220.0 / rate).sin())
        .zip(noise(n, 13, 0.05))
        .map(|(a, b)| a + b)
        .collect();
    let mut e = engine(rate, 1, EngineParams::default());
    let mut out = x.clone();
    let half = n / 2;
    e.process(&mut [&mut out[..half]]);
    let other = bundled::BUNDLED.last().unwrap();
    let w = Arc::new(ModelWeights::from_bytes(other.bytes).unwrap());
    let old = e.swap_model(Box::new(ModelInstance::new(w, rate, 1).unwrap()));
    assert!(old.is_ok());
    e.process(&mut [&mut out[half..]]);
    assert!(out.iter().all(|v| v.is_finite()));
    let jump = |s: &[f32]| {
        s.windows(2)
            .map(|w| (w[1] - w[0]).abs())
            .fold(0.0f32, f32::max)
    };
    // Sample-to-sample steps around the swap stay within what the signal itself shows.
    let around = jump(&out[half - 2_000..half + 6_000]);
    let before = jump(&out[4_000..half - 2_000]);
    let input_steps = jump(&x);
    assert!(
        around <= before.max(input_steps) * 1.5,
        "step {around} vs {before} / {input_steps}"
    );
}

#[test]
fn the_gates_retroactive_grace_adds_exactly_its_delay_to_the_reported_latency() {
    for rate in [44_100.0, 48_000.0, 96_000.0] {
        let base = engine(rate, 1, full()).latency();
        // Threshold 0: always open, so an impulse must come out, exactly at the new latency.
        let params = EngineParams {
            strength_db: 0.0,
            gate: true,
            gate_threshold: 0.0,
            gate_lookback_ms: 30.0,
            ..full()
        };
        let mut e = engine(rate, 1, params);
        let hop = e.grid().hop;
        assert_eq!(e.latency(), base + 6 * hop, "{rate}");
        let latency = e.latency();
        let mut x = vec![0.0; latency * 3 + 1000];
        x[500] = 1.0;
        let y = run(&mut e, &[x], 128).remove(0);
        let peak = y
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap();
        assert_eq!(peak.0, 500 + latency, "{rate}");
        assert!((peak.1 - 1.0).abs() < 1e-3);
        // Without the grace, the base latency again.
        e.set_params(full());
        assert_eq!(e.latency(), base);
    }
}

#[test]
fn a_gate_that_never_hears_speech_silences_noise() {
    let rate = 48_000.0;
    let params = EngineParams {
        gate: true,
        gate_threshold: 1.0, // a sigmoid never reaches it
        ..full()
    };
    let x = noise(48_000, 3, 0.3);
    let y = run(&mut engine(rate, 1, params), &[x], 480).remove(0);
    assert!(rms(&y[4800..]) < 1e-6, "{}", rms(&y[4800..]));
}

/// Features are defined once: hop by hop, the engine's network reads exactly the values
/// `dump-features` writes for the same audio (feature version 1 and 2).
#[test]
fn the_engine_computes_exactly_the_features_the_dumper_writes() {
    use quell::dataset::frames;
    use quell::model::ModelWeights;
    use std::sync::Arc;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let load = |f: &str| ModelWeights::from_file(&root.join("tests/fixtures").join(f)).unwrap();
    // Random fixtures: no bundled model reads feature version 1 since `tiny` moved to version 2.
    let (v1, v2) = (
        load("tiny_random_conv.safetensors"),
        load("tiny_random_v2.safetensors"),
    );
    assert_eq!((v1.feature_version, v2.feature_version), (1, 2));
    let rate = 48_000.0;
    let x: Vec<f32> = mixed(&voiced(24_000, rate, 0.3), &noise(24_000, 11, 0.05));
    for w in [v1, v2] {
        let version = w.feature_version;
        let dumped = frames::compute(&x, &x, &w.band_edges_hz, 24_000.0, 24_000.0, version);
        let nf = w.n_features;
        assert_eq!(dumped.features.len(), dumped.frames * nf);
        let instance = quell::ModelInstance::new(Arc::new(w), rate, 1).unwrap();
        let mut e = quell::Engine::new(Box::new(instance), EngineParams::default());
        let hop = e.grid().hop;
        for (t, block) in x.chunks_exact(hop).enumerate() {
            let mut buf = block.to_vec();
            e.process(&mut [&mut buf[..]]);
            assert_eq!(
                e.model().features(),
                &dumped.features[t * nf..(t + 1) * nf],
                "feature version {version}, frame {t}"
            );
        }
    }
}

/// The bin-refinement head moves only the bins it covers, within its bounds and [floor, 1]; the
/// bins above are exactly those of the same model without the head.
#[test]
fn the_refinement_head_moves_only_its_own_bins() {
    use quell::engine::{HopObserver, HopView};
    use quell::model::ModelWeights;
    use std::sync::Arc;
    struct Masks(Vec<Vec<f32>>);
    impl HopObserver for Masks {
        fn hop(&mut self, view: &HopView<'_>) {
            self.0.push(view.mask.to_vec());
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let with = ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_refine.safetensors"))
        .unwrap();
    let k = with.refine.as_ref().unwrap().bins;
    let mut without = with.clone();
    without.refine = None;
    let rate = 48_000.0;
    let x: Vec<f32> = mixed(&voiced(24_000, rate, 0.3), &noise(24_000, 5, 0.05));
    // Without spectral contrast: its one energy factor per frame couples every bin to the others.
    let params = EngineParams {
        strength_db: 30.0,
        speech_strength_db: 30.0,
        contrast: 0.0,
        ..EngineParams::default()
    };
    let floor = 10f32.powf(-30.0 / 20.0);
    let masks = |w: ModelWeights| {
        let instance = quell::ModelInstance::new(Arc::new(w), rate, 1).unwrap();
        let mut e = quell::Engine::new(Box::new(instance), params.clone());
        let mut m = Masks(Vec::new());
        let mut buf = x.clone();
        e.process_observed(&mut [&mut buf[..]], &mut m);
        m.0
    };
    let (a, b) = (masks(with), masks(without));
    assert_eq!(a.len(), b.len());
    let mut moved = 0;
    for (ma, mb) in a.iter().zip(&b) {
        assert_eq!(ma[k..], mb[k..], "bins from {k} up must not change");
        for (&ga, &gb) in ma[..k].iter().zip(&mb[..k]) {
            assert!(
                (floor * 0.999..=1.0).contains(&ga),
                "gain {ga} outside [floor, 1]"
            );
            // A bin moves within [g², g (2 - g)] of its band gain g: little where g is near 1.
            let (lo, hi) = ((gb * gb).max(floor), gb * (2.0 - gb));
            assert!(
                ga >= lo - 1e-6 && ga <= hi + 1e-6,
                "gain {gb} refined to {ga}, outside [{lo}, {hi}]"
            );
            moved += (ga != gb) as usize;
        }
    }
    assert!(
        moved > a.len() * k / 2,
        "the head changed only {moved} bin gains"
    );
}

#[test]
fn spectral_contrast_keeps_each_frames_energy_and_sharpens_the_mask() {
    use quell::engine::{HopObserver, HopView};
    struct Hops(Vec<(Vec<f32>, Vec<f32>)>);
    impl HopObserver for Hops {
        fn hop(&mut self, view: &HopView<'_>) {
            self.0.push((view.power.to_vec(), view.mask.to_vec()));
        }
    }
    let rate = 48_000.0;
    let x: Vec<f32> = mixed(&voiced(24_000, rate, 0.3), &noise(24_000, 9, 0.05));
    let hops = |contrast: f32| {
        let mut e = engine(rate, 1, EngineParams { contrast, ..full() });
        let mut h = Hops(Vec::new());
        let mut buf = x.clone();
        e.process_observed(&mut [&mut buf[..]], &mut h);
        h.0
    };
    let (plain, sharp) = (hops(0.0), hops(0.5));
    assert_eq!(plain.len(), sharp.len());
    let (mut kept, mut sharper) = (0, 0);
    for ((power, a), (_, b)) in plain.iter().zip(&sharp) {
        let energy = |g: &[f32]| -> f64 {
            g.iter()
                .zip(power)
                .map(|(&g, &p)| (g as f64).powi(2) * p as f64)
                .sum()
        };
        // The frame's energy is kept unless a bin hit the cap at 1.
        if b.iter().all(|&g| g < 1.0) && energy(a) > 0.0 {
            let (ea, eb) = (energy(a), energy(b));
            assert!((ea - eb).abs() <= 1e-3 * ea, "energy {ea} became {eb}");
            kept += 1;
        }
        // The order of the bins' gains never changes; the spread between them grows.
        for i in 1..a.len() {
            if a[i] < a[i - 1] {
                assert!(b[i] <= b[i - 1], "bins {i}: {a:?} -> {b:?}");
            }
        }
        let spread = |g: &[f32]| {
            let max = g.iter().fold(0.0f32, |m, &x| m.max(x));
            let min = g.iter().fold(1.0f32, |m, &x| m.min(x));
            max / min
        };
        sharper += (spread(b) > spread(a) * 1.01) as usize;
    }
    assert!(
        kept > plain.len() / 4,
        "{kept} of {} hops checked",
        plain.len()
    );
    assert!(
        sharper > plain.len() / 2,
        "{sharper} of {} hops sharper",
        plain.len()
    );
}

#[test]
fn the_deep_filter_is_causal_block_free_and_output_plus_removed_stays_the_input() {
    use quell::engine::Listen;
    use quell::model::ModelWeights;
    use std::sync::Arc;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let with = ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_filter.safetensors"))
        .unwrap();
    assert!(with.deep_filter.is_some());
    let mut without = with.clone();
    without.deep_filter = None;
    let rate = 48_000.0;
    let n = 24_000;
    let x: Vec<f32> = mixed(&voiced(n, rate, 0.3), &noise(n, 6, 0.05));
    let go = |w: &ModelWeights, params: EngineParams, input: &[f32], block: usize| {
        let instance = quell::ModelInstance::new(Arc::new(w.clone()), rate, 1).unwrap();
        let mut e = quell::Engine::new(Box::new(instance), params);
        run(&mut e, &[input.to_vec()], block).remove(0)
    };
    let params = EngineParams { mix: 0.9, ..full() };
    let filtered = go(&with, params, &x, 480);
    let plain = go(&without, params, &x, 480);
    let moved = filtered
        .iter()
        .zip(&plain)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "the filter changed nothing ({moved})");
    assert!(filtered.iter().all(|v| v.is_finite()));
    // Any block partition gives the same samples (the history is per hop, not per block).
    assert!(go(&with, params, &x, 97) == filtered);
    // Strictly causal: later input never changes earlier output.
    let cut = 12_000;
    let mut y = x.clone();
    for (a, b) in y[cut..].iter_mut().zip(noise(n - cut, 9, 0.5)) {
        *a = b;
    }
    assert_eq!(go(&with, params, &y, 480)[..cut], filtered[..cut]);
    // What Listen: Removed plays is exactly the input minus the output, filter included.
    let removed = go(
        &with,
        EngineParams {
            listen: Listen::Removed,
            ..params
        },
        &x,
        480,
    );
    let lat = {
        let instance = quell::ModelInstance::new(Arc::new(with.clone()), rate, 1).unwrap();
        quell::Engine::new(Box::new(instance), params).latency()
    };
    let err = (lat..n)
        .map(|i| (filtered[i] + removed[i] - x[i - lat]).abs())
        .fold(0.0f32, f32::max);
    assert!(
        err < 1e-4,
        "output + removed differs from the input by {err}"
    );
    // Rates with fewer bins than the filter covers, stereo linked and not: finite, no panic.
    for rate in [1_000.0, 8_000.0, 22_050.0, 96_000.0] {
        for link in [false, true] {
            let instance = quell::ModelInstance::new(Arc::new(with.clone()), rate, 2).unwrap();
            let params = EngineParams {
                stereo_link: link,
                ..full()
            };
            let mut e = quell::Engine::new(Box::new(instance), params);
            let n = rate as usize / 2;
            let input = vec![
                mixed(&voiced(n, rate, 0.3), &noise(n, 7, 0.05)),
                noise(n, 8, 0.1),
            ];
            let out = run(&mut e, &input, 256);
            assert!(
                out.iter().flatten().all(|v| v.is_finite()),
                "{rate} Hz, link {link}"
            );
        }
    }
}

#[test]
fn the_pitch_comb_is_causal_block_free_and_output_plus_removed_stays_the_input() {
    use quell::engine::Listen;
    let rate = 48_000.0;
    let n = 24_000;
    let x: Vec<f32> = mixed(&voiced(n, rate, 0.3), &noise(n, 6, 0.05));
    let go = |params: EngineParams, input: &[f32], block: usize| {
        run(&mut engine(rate, 1, params), &[input.to_vec()], block).remove(0)
    };
    let params = EngineParams {
        harmonics: 1.0,
        mix: 0.9,
        ..full()
    };
    let combed = go(params, &x, 480);
    let plain = go(
        EngineParams {
            harmonics: 0.0,
            ..params
        },
        &x,
        480,
    );
    let moved = combed
        .iter()
        .zip(&plain)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(moved > 1e-3, "the comb changed nothing ({moved})");
    // It moves energy between bins, not the level: within half a dB over the voiced second.
    let energy = |y: &[f32]| y.iter().map(|v| (*v as f64).powi(2)).sum::<f64>();
    let db = 10.0 * (energy(&combed) / energy(&plain)).log10();
    assert!(db.abs() < 0.5, "level moved {db:.2} dB");
    // Any block partition gives the same samples; later input never changes earlier output.
    assert!(go(params, &x, 97) == combed);
    let cut = 12_000;
    let mut y = x.clone();
    for (a, b) in y[cut..].iter_mut().zip(noise(n - cut, 9, 0.5)) {
        *a = b;
    }
    assert_eq!(go(params, &y, 480)[..cut], combed[..cut]);
    // Listen: Removed plays exactly the input minus the output, comb included.
    let removed = go(
        EngineParams {
            listen: Listen::Removed,
            ..params
        },
        &x,
        480,
    );
    let lat = engine(rate, 1, params).latency();
    let err = (lat..n)
        .map(|i| (combed[i] + removed[i] - x[i - lat]).abs())
        .fold(0.0f32, f32::max);
    assert!(
        err < 1e-4,
        "output + removed differs from the input by {err}"
    );
    // Odd and extreme rates, stereo linked and not: finite, no panic.
    for rate in [1_000.0, 8_000.0, 22_050.0, 44_100.0, 96_000.0] {
        for link in [false, true] {
            let params = EngineParams {
                harmonics: 1.0,
                stereo_link: link,
                ..full()
            };
            let n = rate as usize / 2;
            let input = vec![
                mixed(&voiced(n, rate, 0.3), &noise(n, 7, 0.05)),
                noise(n, 8, 0.1),
            ];
            let out = run(&mut engine(rate, 2, params), &input, 256);
            assert!(
                out.iter().flatten().all(|v| v.is_finite()),
                "{rate} Hz, link {link}"
            );
        }
    }
}

#[test]
fn a_model_that_takes_no_comb_is_untouched_by_it() {
    use quell::model::bundled;
    use std::sync::Arc;
    let tiny = Arc::new(bundled::load("tiny").unwrap());
    assert_eq!(
        tiny.pitch_comb,
        Some(0.0),
        "tiny's file carries pitch_comb 0"
    );
    let rate = 48_000.0;
    let x = vec![mixed(&voiced(24_000, rate, 0.3), &noise(24_000, 5, 0.05))];
    let go = |harmonics: f32| {
        let instance = quell::ModelInstance::new(tiny.clone(), rate, 1).unwrap();
        let params = EngineParams {
            harmonics,
            ..full()
        };
        run(&mut quell::Engine::new(Box::new(instance), params), &x, 480)
    };
    assert!(go(1.0) == go(0.0));
}
