//! The default model removes noise and keeps speech at rates other than the design rate.
//! Speech comes from espeak-ng (installed by scripts/test.sh), noise is generated.

mod common;

use common::speech::{speech, speech_after_noise};
use common::*;
use quell::engine::EngineParams;

fn check_rate(rate: f32) {
    for m in quell::model::bundled::BUNDLED {
        check_model(m.name, rate);
    }
}

fn check_model(name: &str, rate: f32) {
    let s = speech(rate);
    let lead = rate as usize; // one second of noise alone first
    let (noisy, nz, g) = speech_after_noise(&s, lead, 99, 5.0);
    let out = &aligned(
        &mut bundled_engine(name, rate, 1, EngineParams::default()),
        &noisy,
        512,
    );
    // Noise alone (skip the first half second while the model settles).
    let (a, b) = (lead / 2, lead);
    let reduction_db = 20.0 * (rms(&noisy[a..b]) / rms(&out[a..b]).max(1e-9)).log10();
    // Speech kept: the output's speech part correlates with the clean speech and is not much quieter.
    let o = &out[lead..];
    let dot: f32 = o.iter().zip(&s).map(|(x, y)| x * y).sum();
    let corr = dot / (rms(o) * rms(&s) * s.len() as f32);
    let level_db = 20.0 * (rms(o) / rms(&s)).log10();
    let snr_in = 20.0 * (rms(&s) / (g * rms(&nz[lead..]))).log10();
    let resid: Vec<f32> = o.iter().zip(&s).map(|(x, y)| x - y).collect();
    let snr_out = 20.0 * (rms(&s) / rms(&resid)).log10();
    eprintln!(
        "{name} {rate} Hz: noise reduced {reduction_db:.1} dB, speech corr {corr:.3}, level {level_db:.1} dB, SNR {snr_in:.1} -> {snr_out:.1} dB"
    );
    assert!(
        reduction_db > 12.0,
        "{name} {rate}: noise only reduced by {reduction_db:.1} dB"
    );
    assert!(corr > 0.85, "{name} {rate}: speech correlation {corr:.3}");
    assert!(
        level_db > -6.0,
        "{name} {rate}: speech level dropped {level_db:.1} dB"
    );
    assert!(
        snr_out > snr_in + 3.0,
        "{name} {rate}: SNR {snr_in:.1} -> {snr_out:.1} dB"
    );
}

#[test]
fn denoises_44_1_khz() {
    check_rate(44_100.0);
}

#[test]
fn denoises_96_khz() {
    check_rate(96_000.0);
}

#[test]
fn denoises_48_khz() {
    check_rate(48_000.0);
}

#[test]
fn denoises_16_khz() {
    check_rate(16_000.0);
}

/// The VAD gate with its retroactive grace, for every bundled model (the gate reads each model's
/// own speech probability; a network whose probability crossed 0.5 once in white noise alone kept the
/// gate open there): speech passes with its onsets intact, the noise before it is silenced.
#[test]
fn vad_gate_mutes_noise_alone_and_keeps_speech_onsets() {
    for m in quell::model::bundled::BUNDLED {
        check_gate(m.name);
    }
}

fn check_gate(name: &str) {
    let rate = 48_000.0;
    let s = speech(rate);
    let lead = rate as usize;
    let (noisy, _, _) = speech_after_noise(&s, lead, 5, 15.0);
    let process =
        |params: EngineParams| aligned(&mut bundled_engine(name, rate, 1, params), &noisy, 480);
    let gated = process(EngineParams {
        gate: true,
        gate_lookback_ms: 30.0,
        ..EngineParams::default()
    });
    let open = process(EngineParams::default());
    // Noise alone (after the first 0.3 s): at least 40 dB below the ungated output.
    let (a, b) = (lead * 3 / 10, lead - lead / 10);
    let extra_db = 20.0 * (rms(&open[a..b]) / rms(&gated[a..b]).max(1e-9)).log10();
    // The first 100 ms of the first word: nearly as loud as without the gate.
    let first = lead + s.iter().position(|x| x.abs() > 0.02).unwrap();
    let w = (rate * 0.1) as usize;
    let onset_db = 20.0 * (rms(&gated[first..first + w]) / rms(&open[first..first + w])).log10();
    // The whole speech part: kept.
    let speech_db = 20.0 * (rms(&gated[lead..]) / rms(&open[lead..])).log10();
    eprintln!(
        "{name} gate: noise alone {extra_db:.1} dB lower, first word {onset_db:.2} dB, speech {speech_db:.2} dB"
    );
    assert!(
        extra_db > 40.0,
        "{name}: noise alone only {extra_db:.1} dB lower"
    );
    assert!(
        onset_db > -1.0,
        "{name}: word onset clipped: {onset_db:.2} dB"
    );
    assert!(speech_db > -1.0, "{name}: speech lost {speech_db:.2} dB");
}
