//! WAV in/out for the CLI and the dataset tools, with errors that name the file and the problem.

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};
use std::path::Path;

pub struct Audio {
    pub sample_rate: u32,
    /// One Vec per channel.
    pub channels: Vec<Vec<f32>>,
    /// The input's format, so output can be written the same way.
    pub spec: WavSpec,
}

impl Audio {
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

pub fn read(path: &Path) -> Result<Audio, String> {
    let err = |e: hound::Error| format!("cannot read WAV '{}': {e}", path.display());
    let mut r = WavReader::open(path).map_err(err)?;
    let spec = r.spec();
    if spec.channels == 0 {
        return Err(format!(
            "cannot read WAV '{}': it has no channels",
            path.display()
        ));
    }
    if spec.sample_rate == 0 {
        return Err(format!(
            "cannot read WAV '{}': sample rate is 0",
            path.display()
        ));
    }
    let n_ch = spec.channels as usize;
    let interleaved: Vec<f32> = match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Float, 32) => r.samples::<f32>().collect::<Result<_, _>>().map_err(err)?,
        (SampleFormat::Int, bits @ 1..=32) => {
            let scale = 1.0 / (1u64 << (bits - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
                .map_err(err)?
        }
        (fmt, bits) => {
            return Err(format!(
                "cannot read WAV '{}': unsupported format {fmt:?} {bits}-bit",
                path.display()
            ));
        }
    };
    let frames = interleaved.len() / n_ch;
    let mut channels = vec![Vec::with_capacity(frames); n_ch];
    for frame in interleaved.chunks_exact(n_ch) {
        for (c, &s) in frame.iter().enumerate() {
            channels[c].push(s);
        }
    }
    Ok(Audio {
        sample_rate: spec.sample_rate,
        channels,
        spec,
    })
}

/// Write `channels` with `spec`'s rate, channel count and sample format (integers are clipped).
pub fn write(path: &Path, spec: WavSpec, channels: &[Vec<f32>]) -> Result<(), String> {
    let err = |e: hound::Error| format!("cannot write WAV '{}': {e}", path.display());
    let mut w = WavWriter::create(path, spec).map_err(err)?;
    let frames = channels.first().map_or(0, Vec::len);
    match spec.sample_format {
        SampleFormat::Float => {
            for i in 0..frames {
                for ch in channels {
                    w.write_sample(ch[i]).map_err(err)?;
                }
            }
        }
        SampleFormat::Int => {
            let max = ((1i64 << (spec.bits_per_sample - 1)) - 1) as f32;
            for i in 0..frames {
                for ch in channels {
                    let v = (ch[i] * (max + 1.0)).round().clamp(-max - 1.0, max);
                    w.write_sample(v as i32).map_err(err)?;
                }
            }
        }
    }
    w.finalize().map_err(err)
}

/// Mono 32-bit float spec at `rate`.
pub fn float_spec(rate: u32, channels: u16) -> WavSpec {
    WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    }
}
