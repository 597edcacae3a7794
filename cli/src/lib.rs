//! The `quell` command line: `denoise`, `dump-features`, `models`.

mod args;
mod batch;
mod decode;
mod denoise;
mod dump;
mod encode;
mod pipeline;
mod progress;
mod teacher;

pub use args::Args;
pub use denoise::MAX_CHANNELS;

use quell_core::model::{ModelError, ModelWeights, bundled};
use std::path::Path;

const USAGE: &str = "\
quell: real-time GRU voice noise suppressor

USAGE:
  quell denoise IN -o OUT [--model NAME|PATH] [--strength DB] [--speech-strength DB]
                [--reverb-reduction DB|full] [--contrast X] [--harmonics X] [--mix X] [--gain DB]
                [--stereo-link] [--hum] [--listen output|removed] [--quiet]
  quell denoise FILES_OR_DIRS... --out-dir DIR [--jobs N] [options as above]
  quell dump-features --speech LIST --noise LIST --out DIR [--hours H] [--seed N]
                [--snr-min DB] [--snr-max DB] [--threads N] [--bands erb32|erbN|bins]
                [--features 1|2] [--speed-perturb P] [--formant-shift P] [--spectra [--complex-bins K [--comb]]] [--reverb-prob P] [--rt60-max S]
                [--reverb-targets]
                [--mixes-out DIR | --teacher DIR [--teacher-mix W] [--teacher-where all|pauses]]
  quell models            list the bundled models

denoise: reads WAV (8/16/24/32-bit int, 32-bit float), FLAC, Ogg Vorbis, MP3 and AAC/M4A at any
rate and channel count, streaming (memory does not grow with the length). IN may be - for standard
input. OUT is FLAC if it ends in .flac, else WAV; -o - writes WAV to standard output. The output has
the input's rate and channels and is aligned with it sample for sample; a WAV or FLAC input keeps its
sample format (FLAC at most 24-bit), lossy input becomes 32-bit float WAV or 24-bit FLAC. Output
appears only once complete (a temporary file beside it is renamed). --strength is the maximum
attenuation in dB (0 = untouched, default 100); --speech-strength the limit while the model hears
speech (default: the same as --strength; never above it), --reverb-reduction how much of the room's
reverberation to take away (0 keeps it, 24 or full, the default, removes it as well as the model can;
models with a reverb head only), --contrast the spectral contrast from 0 (the model's gains as they
are) to 1 (default 0.25: gains raised to the power 1 + X, the frame's energy kept), --harmonics the
pitch comb from 0 (off) to 1 (default 0.25: while someone speaks, energy between the voice's harmonics
moves onto them, each band's level kept), --mix the dry/wet ratio (default 1), --hum
removes mains hum and other steady tones, --listen removed writes what Quell takes away instead of
the result (before --gain).
--out-dir: every file (folders are searched recursively for .wav .flac .ogg .oga .mp3 .m4a .aac
.mp4) is denoised on --jobs threads (default: all cores) into DIR under its own name (relative path
for folder arguments; WAV/FLAC keep their extension, other formats become .wav). The run is refused
if an output would land on an input. A bad file does not stop the others: every failure is reported
at the end and the exit status is 1. Progress goes to stderr, only on a terminal and without --quiet.
dump-features: mixes speech and noise (augmented) and writes the features and targets the trainer
reads (training/FORMATS.md). --features picks the feature version (default 2), --speed-perturb the
share of speech clips played 0.88-1.15x as fast (default 0.5; 0 mixes exactly as builds before it),
--formant-shift the share whose formants move 0.87-1.15x with pitch and tempo kept (default 0).
--reverb-prob is the share of mixes whose speech is put in a synthetic room (default 0.3), whose RT60
is drawn from 0.15 s to --rt60-max (default 0.9);
--reverb-targets also writes the reverb head's targets (gains that keep the speech with its room).
--spectra also writes the compressed noisy/clean spectra and the band-to-bin interpolation that the
trainer's output-spectrum loss needs (training/FORMATS.md); --complex-bins K with it also the compressed
complex noisy/clean STFT of bins 0..K, for a deep filter, and --comb the noisy bins one pitch period back. --mixes-out writes every noisy mixture
for a training-time teacher; --teacher reads the teacher's outputs for the same mixes (same --seed and
--hours) back and blends them into the band targets (--teacher-mix: 1 = teacher, 0 = oracle; --teacher-where
pauses: only in frames without speech).";

/// Entry point; returns the process exit code.
pub fn main() -> i32 {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    match run(argv) {
        Ok(()) => 0,
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

pub fn run(argv: Vec<String>) -> Result<(), String> {
    let mut args = Args::new(argv);
    match args.subcommand().as_deref() {
        Some("denoise") => denoise::run(args),
        Some("dump-features") => dump::run(args),
        Some("models") => {
            for m in bundled::BUNDLED {
                match ModelWeights::from_bytes(m.bytes) {
                    Ok(w) => println!(
                        "{:<10} {:>8} params  {:>6.1} M MAC/s  {}",
                        m.name,
                        w.parameter_count(),
                        w.macs_per_frame() as f64 * 200.0 / 1e6,
                        w.description
                    ),
                    Err(e) => println!("{:<10} BROKEN: {e}", m.name),
                }
            }
            Ok(())
        }
        Some("-h") | Some("--help") | Some("help") | None => {
            println!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command '{other}'\n\n{USAGE}")),
    }
}

/// A bundled model by name, else a `.safetensors` path.
pub fn resolve_model(spec: &str) -> Result<ModelWeights, String> {
    if let Some(m) = bundled::find(spec) {
        return ModelWeights::from_bytes(m.bytes)
            .map_err(|e| format!("bundled model '{spec}': {e}"));
    }
    let path = Path::new(spec);
    if !path.exists() {
        let names: Vec<&str> = bundled::BUNDLED.iter().map(|m| m.name).collect();
        // Something that looks like a path was meant as one: say so plainly.
        if spec.contains(std::path::is_separator) || spec.ends_with(".safetensors") {
            return Err(format!(
                "model file '{spec}' does not exist (bundled models: {})",
                names.join(", ")
            ));
        }
        return Err(format!(
            "'{spec}' is neither a bundled model ({}) nor an existing file",
            names.join(", ")
        ));
    }
    ModelWeights::load_user_file(path).map_err(|e: ModelError| format!("model '{spec}': {e}"))
}
