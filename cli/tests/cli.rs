//! The `quell` binary as a user runs it.

// The shared corpus builders name the core crate `quell`, as the root crate's tests do.
extern crate quell_core as quell;
#[path = "../../tests/common/mod.rs"]
mod common;

use hound::{SampleFormat, WavSpec};
use std::path::{Path, PathBuf};
use std::process::Command;

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("quell-cli-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d.join(name)
}

fn quell(args: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_quell"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `quell denoise IN -o OUT EXTRA...`: (success, stderr).
fn denoise(inp: &Path, out: &Path, extra: &[&str]) -> (bool, String) {
    let mut args = vec![
        "denoise",
        inp.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    quell(&args)
}

fn write(path: &Path, spec: WavSpec, channels: &[Vec<f32>]) {
    quell::wav::write(path, spec, channels).unwrap();
}

#[test]
fn denoise_keeps_format_length_and_alignment_for_any_wav() {
    let cases = [
        (44_100, 2, 16, SampleFormat::Int),
        (96_000, 1, 24, SampleFormat::Int),
        (16_000, 1, 32, SampleFormat::Float),
        (22_050, 2, 8, SampleFormat::Int),
        (48_000, 3, 32, SampleFormat::Int),
    ];
    for (rate, ch, bits, fmt) in cases {
        let spec = WavSpec {
            channels: ch,
            sample_rate: rate,
            bits_per_sample: bits,
            sample_format: fmt,
        };
        let n = rate as usize / 2 + 123;
        let input: Vec<Vec<f32>> = (0..ch as u64)
            .map(|c| common::noise(n, c + 1, 0.3))
            .collect();
        let (inp, outp) = (
            tmp(&format!("in_{rate}_{bits}.wav")),
            tmp(&format!("out_{rate}_{bits}.wav")),
        );
        write(&inp, spec, &input);
        let (ok, err) = quell(&[
            "denoise",
            inp.to_str().unwrap(),
            "-o",
            outp.to_str().unwrap(),
            "--strength",
            "0",
        ]);
        assert!(ok, "{err}");
        let a = quell::wav::read(&inp).unwrap();
        let b = quell::wav::read(&outp).unwrap();
        assert_eq!(b.spec, a.spec);
        assert_eq!(b.frames(), a.frames());
        // Strength 0: the output is the input, sample for sample (up to requantisation).
        let tol = if bits == 8 { 2.0 / 128.0 } else { 1e-3 };
        for c in 0..ch as usize {
            for i in 0..n {
                assert!(
                    (a.channels[c][i] - b.channels[c][i]).abs() <= tol,
                    "{rate}/{bits} ch{c} i{i}"
                );
            }
        }
    }
}

#[test]
fn bad_files_give_clear_errors() {
    let missing = tmp("does-not-exist.wav");
    let (ok, err) = quell(&[
        "denoise",
        missing.to_str().unwrap(),
        "-o",
        tmp("x.wav").to_str().unwrap(),
    ]);
    assert!(
        !ok && err.contains("error:") && err.contains("does-not-exist.wav"),
        "{err}"
    );

    let garbage = tmp("garbage.wav");
    std::fs::write(&garbage, b"this is not a wav file at all").unwrap();
    let (ok, err) = quell(&[
        "denoise",
        garbage.to_str().unwrap(),
        "-o",
        tmp("y.wav").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("garbage.wav"), "{err}");

    let good = tmp("good.wav");
    write(
        &good,
        quell::wav::float_spec(48_000, 1),
        &[common::noise(48_000, 1, 0.1)],
    );
    let bytes = std::fs::read(&good).unwrap();
    let truncated = tmp("truncated.wav");
    std::fs::write(&truncated, &bytes[..30]).unwrap();
    let (ok, err) = quell(&[
        "denoise",
        truncated.to_str().unwrap(),
        "-o",
        tmp("z.wav").to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("truncated.wav"), "{err}");

    let bad_model = tmp("bad.safetensors");
    std::fs::write(&bad_model, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}").unwrap();
    let (ok, err) = quell(&[
        "denoise",
        good.to_str().unwrap(),
        "-o",
        tmp("w.wav").to_str().unwrap(),
        "--model",
        bad_model.to_str().unwrap(),
    ]);
    assert!(!ok && err.contains("not a valid safetensors"), "{err}");

    let (ok, err) = quell(&[
        "denoise",
        good.to_str().unwrap(),
        "-o",
        tmp("v.wav").to_str().unwrap(),
        "--model",
        "no-such-model",
    ]);
    assert!(!ok && err.contains("neither a bundled model"), "{err}");

    let (ok, err) = quell(&["denoise", good.to_str().unwrap()]);
    assert!(!ok && err.contains("-o"), "{err}");
}

#[test]
fn nan_audio_in_a_float_wav_is_survived() {
    let inp = tmp("nan.wav");
    let mut x = common::noise(48_000, 2, 0.1);
    x[1000] = f32::NAN;
    x[2000] = f32::INFINITY;
    write(&inp, quell::wav::float_spec(48_000, 1), &[x]);
    let outp = tmp("nan_out.wav");
    let (ok, err) = quell(&[
        "denoise",
        inp.to_str().unwrap(),
        "-o",
        outp.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        quell::wav::read(&outp).unwrap().channels[0]
            .iter()
            .all(|v| v.is_finite())
    );
}

#[test]
fn models_lists_the_bundled_models() {
    let out = Command::new(env!("CARGO_BIN_EXE_quell"))
        .arg("models")
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && s.contains("standard") && s.contains("params"),
        "{s}"
    );
}

/// `--listen removed` writes exactly what the default run takes away: the two add up to the input
/// (float WAVs, so no rounding), and `--hum` takes a steady mains hum out of speech-free noise.
#[test]
fn listen_removed_and_hum_options_do_what_they_say() {
    let rate = 48_000u32;
    let n = 4 * rate as usize;
    let x: Vec<f32> = common::noise(n, 7, 0.05)
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let t = i as f32 / rate as f32;
            v + 0.03 * (std::f32::consts::TAU * 50.0 * t).sin()
                + 0.01 * (std::f32::consts::TAU * 150.0 * t).sin()
        })
        .collect();
    let inp = tmp("listen_in.wav");
    write(&inp, quell::wav::float_spec(rate, 1), &[x.clone()]);
    let run = |name: &str, extra: &[&str]| {
        let out = tmp(name);
        let (ok, err) = denoise(&inp, &out, extra);
        assert!(ok, "{extra:?}: {err}");
        quell::wav::read(&out).unwrap().channels.remove(0)
    };
    let (out, removed) = (
        run("listen_out.wav", &["--strength", "20"]),
        run(
            "listen_removed.wav",
            &["--strength", "20", "--listen", "removed"],
        ),
    );
    let worst = x
        .iter()
        .zip(out.iter().zip(&removed))
        .map(|(a, (o, r))| (a - o - r).abs())
        .fold(0.0f32, f32::max);
    assert!(
        worst < 1e-5,
        "output + removed differs from the input by {worst}"
    );
    let removed_rms = (removed.iter().map(|v| v * v).sum::<f32>() / n as f32).sqrt();
    assert!(removed_rms > 0.01, "nothing was removed ({removed_rms})");

    // Hum energy in the last second, with and without --hum (strength 0: only the remover acts).
    let hum_power = |y: &[f32]| common::tone_power(&y[3 * rate as usize..], 50.0, rate as usize);
    let plain = run("hum_off.wav", &["--strength", "0"]);
    let notched = run("hum_on.wav", &["--strength", "0", "--hum"]);
    let db = 10.0 * (hum_power(&plain) / hum_power(&notched)).log10();
    assert!(
        db > 20.0,
        "--hum took the 50 Hz hum down by only {db:.1} dB"
    );
    let (ok, err) = quell(&[
        "denoise",
        inp.to_str().unwrap(),
        "-o",
        tmp("x.wav").to_str().unwrap(),
        "--listen",
        "both",
    ]);
    assert!(!ok && err.contains("--listen"), "{err}");
}

/// `--reverb-reduction`: 0 keeps more of a room than `full` (the default), values outside 0..24 and
/// models without the reverb head are refused with a message naming the option.
#[test]
fn reverb_reduction_option_keeps_the_room_or_is_refused() {
    let rate = 48_000u32;
    // A spoken sentence in a room (RT60 0.6 s: direct path, then decaying noise as loud as it).
    let mut dry = common::speech::speech(rate as f32);
    let burst = dry.iter().rposition(|v| v.abs() > 1e-3).unwrap();
    dry.resize(burst + rate as usize, 0.0);
    let x = common::in_room(&dry, &common::room(0.6, 3, rate as f32), dry.len());
    let inp = tmp("reverb_in.wav");
    write(&inp, quell::wav::float_spec(rate, 1), &[x]);
    let run = |name: &str, extra: &[&str]| -> (bool, String, PathBuf) {
        let out = tmp(name);
        let (ok, err) = denoise(&inp, &out, extra);
        (ok, err, out)
    };
    let tail_energy = |p: &Path| -> f32 {
        let y = quell::wav::read(p).unwrap().channels.remove(0);
        // The room's tail from 0.1 to 0.6 s after the last word.
        let r = rate as usize;
        y[burst + r / 10..burst + 6 * r / 10]
            .iter()
            .map(|v| v * v)
            .sum()
    };
    let (ok0, e0, keep) = run("reverb_keep.wav", &["--reverb-reduction", "0"]);
    let (okf, ef, full) = run("reverb_full.wav", &["--reverb-reduction", "full"]);
    let (okd, ed, default) = run("reverb_default.wav", &[]);
    assert!(ok0 && okf && okd, "{e0}{ef}{ed}");
    assert_eq!(
        std::fs::read(&full).unwrap(),
        std::fs::read(&default).unwrap(),
        "full is the default"
    );
    let db = 10.0 * (tail_energy(&keep) / tail_energy(&full)).log10();
    eprintln!("--reverb-reduction 0 keeps {db:.1} dB more of the room's tail than full");
    assert!(
        db > 6.0,
        "--reverb-reduction 0 kept only {db:.1} dB more of the room's tail"
    );
    for bad in ["-1", "25", "lots"] {
        let (ok, err, _) = run("reverb_bad.wav", &["--reverb-reduction", bad]);
        assert!(!ok && err.contains("--reverb-reduction"), "{bad}: {err}");
    }
    // The default model without its reverb head: full reduction only.
    let plain = tmp("no_reverb_head.safetensors");
    let bytes = common::bad_models::edited(|m| {
        m.tensors.retain(|t| !t.name.starts_with("reverb_gain."));
    });
    std::fs::write(&plain, bytes).unwrap();
    let (ok, err, _) = run(
        "reverb_nohead.wav",
        &[
            "--model",
            plain.to_str().unwrap(),
            "--reverb-reduction",
            "6",
        ],
    );
    assert!(!ok && err.contains("no reverb head"), "{err}");
}

/// A numeric engine option: `default` is what the CLI uses unless told, `off` turns the stage off
/// (a different output), and values outside its range or not numbers are refused with a message
/// naming the option.
fn numeric_option_defaults_or_is_refused(option: &str, default: &str, off: &str, bad: &[&str]) {
    let rate = 48_000.0;
    let x: Vec<f32> = common::mixed(
        &common::voiced(48_000, rate, 0.3),
        &common::noise(48_000, 11, 0.05),
    );
    let stem = option.trim_start_matches('-');
    let inp = tmp(&format!("{stem}_in.wav"));
    write(&inp, quell::wav::float_spec(48_000, 1), &[x]);
    let run = |name: &str, extra: &[&str]| -> (bool, String, Vec<u8>) {
        let out = tmp(&format!("{stem}_{name}.wav"));
        let (ok, err) = denoise(&inp, &out, extra);
        (ok, err, std::fs::read(&out).unwrap_or_default())
    };
    let (ok_d, e_d, implicit) = run("default", &[]);
    let (ok_x, e_x, explicit) = run("explicit", &[option, default]);
    let (ok_0, e_0, stage_off) = run("off", &[option, off]);
    assert!(ok_d && ok_x && ok_0, "{e_d}{e_x}{e_0}");
    assert_eq!(implicit, explicit, "{default} is the default of {option}");
    assert_ne!(implicit, stage_off, "{option} {off} must change the output");
    for v in bad {
        let (ok, err, _) = run("bad", &[option, v]);
        assert!(!ok && err.contains(option), "{v}: {err}");
    }
}

/// `--contrast`: 0.25 is the default, 0 applies the model's gains as they are.
#[test]
fn contrast_option_defaults_to_its_constant_or_is_refused() {
    numeric_option_defaults_or_is_refused(
        "--contrast",
        "0.25",
        "0",
        &["-0.1", "1.5", "NaN", "sharp"],
    );
}

/// `--harmonics`: 0.25 is the default, 0 leaves the spectrum to the mask.
#[test]
fn harmonics_option_defaults_to_its_constant_or_is_refused() {
    numeric_option_defaults_or_is_refused(
        "--harmonics",
        "0.25",
        "0",
        &["-0.1", "1.5", "NaN", "comb"],
    );
}
