//! Listen: Removed plays exactly what Quell takes away, and switching between Output and Removed
//! does not click.

mod common;

use common::speech::{speech, speech_after_noise};
use common::*;
use quell::engine::{EngineParams, Listen};

const RATE: f32 = 48_000.0;

fn mains_hum(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let t = i as f32 / RATE;
            0.03 * (2.0 * std::f32::consts::PI * 50.0 * t).sin()
                + 0.015 * (2.0 * std::f32::consts::PI * 150.0 * t).sin()
        })
        .collect()
}

#[test]
fn output_plus_removed_is_the_delayed_input() {
    let s = speech(RATE);
    let lead = RATE as usize;
    let (mut noisy, _, _) = speech_after_noise(&s, lead, 3, 5.0);
    // Hum too, with the hum remover on: what it takes out is part of "removed".
    for (x, h) in noisy.iter_mut().zip(mains_hum(lead + s.len())) {
        *x += h;
    }
    let base = EngineParams {
        mix: 0.9,
        hum_removal: true,
        ..EngineParams::default()
    };
    let out = aligned(&mut engine(RATE, 1, base), &noisy, 512);
    let removed_params = EngineParams {
        listen: Listen::Removed,
        ..base
    };
    let removed = aligned(&mut engine(RATE, 1, removed_params), &noisy, 333);
    let err = out
        .iter()
        .zip(&removed)
        .zip(&noisy)
        .map(|((o, r), x)| (o + r - x).abs())
        .fold(0.0f32, f32::max);
    let taken_db = 20.0 * (rms(&removed) / rms(&noisy)).log10();
    eprintln!(
        "output + removed vs input: max error {err:.2e}; removed is {taken_db:.1} dB re input"
    );
    assert!(
        err < 1e-4,
        "output + removed differs from the input by {err}"
    );
    assert!(
        taken_db > -12.0,
        "removed is nearly silent ({taken_db:.1} dB): proves nothing"
    );

    // Removed is taken before output gain: the gain leaves it alone.
    let louder = aligned(
        &mut engine(
            RATE,
            1,
            EngineParams {
                output_gain: 2.0,
                ..removed_params
            },
        ),
        &noisy,
        333,
    );
    assert!(louder == removed);
}

/// Largest sample-to-sample step in `y[a..b]`.
fn max_step(y: &[f32], a: usize, b: usize) -> f32 {
    y[a..b]
        .windows(2)
        .map(|w| (w[1] - w[0]).abs())
        .fold(0.0, f32::max)
}

#[test]
fn switching_between_output_and_removed_does_not_click() {
    // A low tone over low-frequency rumble: natural sample-to-sample steps are small, and the
    // output and the removed signal differ a lot, so a jump from one to the other would stand out.
    let n = 3 * RATE as usize;
    let mut lp = 0.0;
    let x: Vec<f32> = noise(n, 8, 0.5)
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            lp += 0.02 * (v - lp);
            let t = i as f32 / RATE;
            let env = 0.6 + 0.4 * (2.0 * std::f32::consts::PI * 3.0 * t).sin();
            lp + 0.3 * env * (2.0 * std::f32::consts::PI * 200.0 * t).sin()
        })
        .collect();
    let lead = RATE as usize / 2;
    let listen = |l| EngineParams {
        listen: l,
        ..EngineParams::default()
    };
    let out = aligned(&mut engine(RATE, 1, listen(Listen::Output)), &x, 480);
    let rem = aligned(&mut engine(RATE, 1, listen(Listen::Removed)), &x, 480);

    // Switch every 0.4 s through the speech, at odd sample positions.
    let mut e = engine(RATE, 1, listen(Listen::Output));
    let lat = e.latency();
    let mut y = x.clone();
    y.extend(std::iter::repeat_n(0.0, lat));
    let switches: Vec<usize> = (0..)
        .map(|k| lead + 1234 + k * 19_200)
        .take_while(|&p| p + 9600 < x.len())
        .collect();
    let mut pos = 0;
    for (k, &at) in switches.iter().chain([&y.len()]).enumerate() {
        run_slice(&mut e, &mut y[pos..at]);
        pos = at;
        e.set_params(listen(if k % 2 == 0 {
            Listen::Removed
        } else {
            Listen::Output
        }));
    }
    let y = &y[lat..];
    let w = 480; // 10 ms either side of the hop the switch lands in
    let mut worst = 0.0f32;
    for &at in &switches {
        let (a, b) = (at - w, at + 2 * w);
        let natural = max_step(&out, a, b).max(max_step(&rem, a, b));
        let seen = max_step(y, a, b);
        // What a hard cut from one to the other would do at the switch.
        let cut = (out[at] - rem[at]).abs();
        worst = worst.max(seen / natural);
        eprintln!("switch at {at}: step {seen:.4}, natural {natural:.4}, a hard cut {cut:.4}");
        assert!(
            seen <= 1.5 * natural + 1e-4,
            "click at {at}: step {seen} vs at most {natural} in either signal"
        );
    }
    // The check can fail: somewhere a hard cut would have stepped far beyond the bound.
    assert!(switches.iter().any(|&at| {
        let natural = max_step(&out, at - w, at + 2 * w).max(max_step(&rem, at - w, at + 2 * w));
        (out[at] - rem[at]).abs() > 3.0 * natural
    }));
    eprintln!("worst step / natural step: {worst:.2}");
}

fn run_slice(e: &mut quell::engine::Engine, x: &mut [f32]) {
    for chunk in x.chunks_mut(512) {
        e.process(&mut [chunk]);
    }
}
