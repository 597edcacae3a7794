//! Runs every WAV matching a suffix in a directory tree through the engine with chosen parameters
//! and writes delay-compensated outputs: the measurements in docs/strength.md and docs/hum.md.
//!
//! cargo run -p quell-core --example process_dir -- IN_DIR SUFFIX OUT_DIR [strength=100]
//!     [speech_strength=100] [hum=0|1]
//!
//! e.g. `... training/data/devset _noisy.wav /tmp/out 40 12 0` writes /tmp/out/snr+05/000_noisy.wav.

use quell_core::engine::{Engine, EngineParams, ModelInstance};
use quell_core::model::bundled;
use std::path::{Path, PathBuf};
use std::sync::Arc;

fn wavs(dir: &Path, suffix: &str, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable directory")
        .flatten()
        .map(|e| e.path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            wavs(&p, suffix, out);
        } else if p.to_string_lossy().ends_with(suffix) {
            out.push(p);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, suffix, output, rest @ ..] = args.as_slice() else {
        eprintln!("usage: process_dir IN_DIR SUFFIX OUT_DIR [strength] [speech_strength] [hum]");
        std::process::exit(2);
    };
    let num = |i: usize, d: f32| rest.get(i).map_or(d, |s| s.parse().expect("a number"));
    let params = EngineParams {
        strength_db: num(0, 100.0),
        speech_strength_db: num(1, 100.0),
        hum_removal: num(2, 0.0) != 0.0,
        ..EngineParams::default()
    };
    let weights = Arc::new(bundled::load(bundled::default_model().name).expect("model"));
    let mut files = Vec::new();
    wavs(Path::new(input), suffix, &mut files);
    let mut notched = 0;
    for f in &files {
        let a = quell_core::wav::read(f).expect("wav");
        let inst = ModelInstance::new(weights.clone(), a.sample_rate as f32, 1).expect("rate");
        let mut e = Engine::new(Box::new(inst), params);
        let lat = e.latency();
        let mut x = a.channels[0].clone();
        let n = x.len();
        x.extend(std::iter::repeat_n(0.0, lat));
        let mut any = false;
        for chunk in x.chunks_mut(480) {
            e.process(&mut [chunk]);
            any |= e.hum_tones().next().is_some();
        }
        notched += any as usize;
        let y = x[lat..lat + n].to_vec();
        let rel = f.strip_prefix(input).expect("under IN_DIR");
        let dest = Path::new(output).join(rel);
        std::fs::create_dir_all(dest.parent().unwrap()).expect("mkdir");
        quell_core::wav::write(&dest, quell_core::wav::float_spec(a.sample_rate, 1), &[y])
            .expect("write");
    }
    eprintln!("{} files -> {output} with {params:?}", files.len());
    if params.hum_removal {
        eprintln!("hum remover notched something in {notched} files");
    }
}
