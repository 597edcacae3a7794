//! Audio out, a block at a time: WAV (hound) or FLAC (flacenc) into a temporary file that is renamed
//! into place only once complete, or WAV on standard output.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use flacenc::bitsink::ByteSink;
use flacenc::component::{BitRepr, Stream, StreamInfo};
use flacenc::error::Verify;
use flacenc::source::{Context, Fill, FrameBuf};
use hound::{SampleFormat, WavSpec, WavWriter};

/// Samples per FLAC frame (the reference encoder's default).
const FLAC_BLOCK: usize = 4096;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Wav,
    Flac,
}

impl Container {
    /// FLAC when the name ends in `.flac`, WAV otherwise.
    pub fn for_path(path: &Path) -> Self {
        if crate::decode::extension(path) == "flac" {
            Container::Flac
        } else {
            Container::Wav
        }
    }

    fn name(self) -> &'static str {
        match self {
            Container::Wav => "WAV",
            Container::Flac => "FLAC",
        }
    }
}

/// The output sample format for an input: a PCM input's own format (FLAC holds at most 24 bits),
/// 32-bit float WAV or 24-bit FLAC for lossy or float input.
pub fn output_spec(
    container: Container,
    pcm: Option<WavSpec>,
    rate: u32,
    channels: u16,
) -> WavSpec {
    let float = WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: SampleFormat::Float,
    };
    let spec = pcm.unwrap_or(float);
    match container {
        Container::Wav => spec,
        Container::Flac => WavSpec {
            bits_per_sample: match spec.sample_format {
                SampleFormat::Int if spec.bits_per_sample <= 24 => spec.bits_per_sample.max(8),
                _ => 24,
            },
            sample_format: SampleFormat::Int,
            ..spec
        },
    }
}

/// Where the denoised audio goes.
pub enum Encoder {
    WavFile(WavWriter<BufWriter<File>>, Partial),
    Flac(Box<FlacWriter>, Partial),
    WavStdout(StdoutWav),
}

/// A temporary file beside the output; removed unless `commit` renames it into place.
pub struct Partial {
    tmp: PathBuf,
    dest: PathBuf,
    what: &'static str,
    committed: bool,
}

impl Drop for Partial {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

impl Partial {
    fn fail(&self, why: impl std::fmt::Display) -> String {
        format!(
            "cannot write {} '{}': {why}",
            self.what,
            self.dest.display()
        )
    }

    fn commit(mut self) -> Result<(), String> {
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| self.fail(e))?;
        self.committed = true;
        Ok(())
    }
}

impl Encoder {
    /// `-` writes WAV to standard output; any other path gets a temporary file beside it.
    pub fn create(output: &str, spec: WavSpec) -> Result<Self, String> {
        if output == "-" {
            return StdoutWav::new(spec).map(Encoder::WavStdout);
        }
        let dest = PathBuf::from(output);
        let container = Container::for_path(&dest);
        let partial = Partial {
            tmp: quell_core::wav::partial_path(&dest),
            dest: dest.clone(),
            what: container.name(),
            committed: false,
        };
        if dest.is_dir() {
            return Err(partial.fail("it is a directory"));
        }
        let file = File::create(&partial.tmp).map_err(|e| partial.fail(e))?;
        let file = BufWriter::with_capacity(1 << 16, file);
        Ok(match container {
            Container::Wav => {
                let w = WavWriter::new(file, spec).map_err(|e| partial.fail(e))?;
                Encoder::WavFile(w, partial)
            }
            Container::Flac => {
                let w = FlacWriter::new(file, spec).map_err(|e| partial.fail(e))?;
                Encoder::Flac(Box::new(w), partial)
            }
        })
    }

    /// Appends `n` frames of `channels` (one slice per channel).
    pub fn write(
        &mut self,
        channels: &[Vec<f32>],
        range: std::ops::Range<usize>,
    ) -> Result<(), String> {
        match self {
            Encoder::WavFile(w, partial) => {
                write_hound(w, channels, range).map_err(|e| partial.fail(e))
            }
            Encoder::Flac(w, partial) => w.write(channels, range).map_err(|e| partial.fail(e)),
            Encoder::WavStdout(w) => w.write(channels, range),
        }
    }

    /// Completes the file and renames it into place.
    pub fn finish(self) -> Result<(), String> {
        match self {
            Encoder::WavFile(w, partial) => {
                w.finalize().map_err(|e| partial.fail(e))?;
                partial.commit()
            }
            Encoder::Flac(w, partial) => {
                w.finish().map_err(|e| partial.fail(e))?;
                partial.commit()
            }
            Encoder::WavStdout(mut w) => w.out.flush().map_err(stdout_error),
        }
    }
}

/// Integer samples as `wav::write` makes them: scaled, rounded half away from zero, clipped.
/// (Adding 0.5 before the truncating cast, rather than `f32::round`, which is a libm call here and
/// a tenth of the tiny model's whole run.) NaN becomes 0.
#[inline]
fn quantise(x: f32, bits: u16) -> i32 {
    let max = (1i64 << (bits - 1)) - 1;
    let y = x * (max + 1) as f32;
    // `as` saturates, so even huge values clip correctly below.
    ((y + 0.5f32.copysign(y)) as i64).clamp(-max - 1, max) as i32
}

fn write_hound<W: Write + Seek>(
    w: &mut WavWriter<W>,
    channels: &[Vec<f32>],
    range: std::ops::Range<usize>,
) -> Result<(), hound::Error> {
    let spec = w.spec();
    match spec.sample_format {
        SampleFormat::Float => {
            for i in range {
                for ch in channels {
                    w.write_sample(ch[i])?;
                }
            }
        }
        SampleFormat::Int => match spec.bits_per_sample {
            // The common case, without hound's per-sample format dispatch.
            16 => {
                let mut w16 = w.get_i16_writer((range.len() * channels.len()) as u32);
                for i in range {
                    for ch in channels {
                        w16.write_sample(quantise(ch[i], 16) as i16);
                    }
                }
                w16.flush()?;
            }
            bits => {
                for i in range {
                    for ch in channels {
                        w.write_sample(quantise(ch[i], bits))?;
                    }
                }
            }
        },
    }
    Ok(())
}

/// FLAC frames as they fill; the STREAMINFO block (length, MD5) is rewritten at the end.
pub struct FlacWriter {
    out: BufWriter<File>,
    config: flacenc::error::Verified<flacenc::config::Encoder>,
    info: StreamInfo,
    frame: FrameBuf,
    context: Context,
    bits: u16,
    /// Interleaved integer samples waiting to fill a frame.
    queued: Vec<i32>,
    sink: ByteSink,
}

impl FlacWriter {
    fn new(mut out: BufWriter<File>, spec: WavSpec) -> Result<Self, String> {
        let (ch, bits) = (spec.channels as usize, spec.bits_per_sample as usize);
        if ch > 8 {
            return Err(format!(
                "FLAC holds at most 8 channels, this audio has {ch}"
            ));
        }
        let mut config = flacenc::config::Encoder::default();
        config.block_size = FLAC_BLOCK;
        let config = config.into_verified().map_err(|(_, e)| e.to_string())?;
        let info =
            StreamInfo::new(spec.sample_rate as usize, ch, bits).map_err(|e| e.to_string())?;
        let mut sink = ByteSink::new();
        // The header now, with placeholders for what only the end knows; `finish` rewrites it.
        write_flac_header(&mut sink, &info, &mut out)?;
        Ok(Self {
            out,
            config,
            info,
            frame: FrameBuf::with_size(ch, FLAC_BLOCK).map_err(|e| e.to_string())?,
            context: Context::new(bits, ch),
            bits: spec.bits_per_sample,
            queued: Vec::with_capacity(FLAC_BLOCK * ch),
            sink,
        })
    }

    fn write(
        &mut self,
        channels: &[Vec<f32>],
        range: std::ops::Range<usize>,
    ) -> Result<(), String> {
        let per_frame = FLAC_BLOCK * channels.len();
        for i in range {
            for ch in channels {
                self.queued.push(quantise(ch[i], self.bits));
            }
            if self.queued.len() == per_frame {
                self.encode_queued()?;
            }
        }
        Ok(())
    }

    fn encode_queued(&mut self) -> Result<(), String> {
        if self.queued.is_empty() {
            return Ok(());
        }
        let mut fill = (&mut self.frame, &mut self.context);
        fill.fill_interleaved(&self.queued)
            .map_err(|e| e.to_string())?;
        self.queued.clear();
        let number = self.context.current_frame_number().unwrap_or(0);
        let frame = flacenc::encode_fixed_size_frame(&self.config, &self.frame, number, &self.info)
            .map_err(|e| e.to_string())?;
        self.info.update_frame_info(&frame);
        self.sink.clear();
        frame.write(&mut self.sink).map_err(|e| e.to_string())?;
        self.out
            .write_all(self.sink.as_slice())
            .map_err(|e| e.to_string())
    }

    fn finish(mut self: Box<Self>) -> Result<(), String> {
        self.encode_queued()?;
        let md5 = self.context.md5_digest();
        self.info.set_md5_digest(&md5);
        // Every frame but the last is FLAC_BLOCK long; FLAC's block sizes leave the last one out
        // (and with a stream shorter than one block, the reference encoder writes it as both).
        // flacenc counted the last frame in, which readers such as symphonia then refuse.
        self.info
            .set_block_sizes(FLAC_BLOCK, FLAC_BLOCK)
            .map_err(|e| e.to_string())?;
        let Self {
            mut out,
            mut sink,
            info,
            ..
        } = *self;
        out.seek(SeekFrom::Start(0)).map_err(|e| e.to_string())?;
        write_flac_header(&mut sink, &info, &mut out)?;
        out.into_inner().map_err(|e| e.to_string())?;
        Ok(())
    }
}

fn write_flac_header(
    sink: &mut ByteSink,
    info: &StreamInfo,
    out: &mut impl Write,
) -> Result<(), String> {
    sink.clear();
    Stream::with_stream_info(info.clone())
        .write(sink)
        .map_err(|e| e.to_string())?;
    out.write_all(sink.as_slice()).map_err(|e| e.to_string())
}

/// WAV on standard output: no seeking back, so the header says "length unknown" (0xFFFFFFFF sizes,
/// as ffmpeg writes to a pipe and reads from one).
pub struct StdoutWav {
    out: BufWriter<std::io::Stdout>,
    spec: WavSpec,
    bytes: Vec<u8>,
}

fn stdout_error(e: std::io::Error) -> String {
    format!("cannot write WAV to standard output: {e}")
}

impl StdoutWav {
    fn new(spec: WavSpec) -> Result<Self, String> {
        let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout());
        let align = spec.channels as u32 * (spec.bits_per_sample as u32 / 8);
        let tag: u16 = if spec.sample_format == SampleFormat::Float {
            3
        } else {
            1
        };
        let mut h = Vec::with_capacity(44);
        h.extend_from_slice(b"RIFF");
        h.extend_from_slice(&u32::MAX.to_le_bytes());
        h.extend_from_slice(b"WAVEfmt ");
        h.extend_from_slice(&16u32.to_le_bytes());
        h.extend_from_slice(&tag.to_le_bytes());
        h.extend_from_slice(&spec.channels.to_le_bytes());
        h.extend_from_slice(&spec.sample_rate.to_le_bytes());
        h.extend_from_slice(&(spec.sample_rate * align).to_le_bytes());
        h.extend_from_slice(&(align as u16).to_le_bytes());
        h.extend_from_slice(&spec.bits_per_sample.to_le_bytes());
        h.extend_from_slice(b"data");
        h.extend_from_slice(&u32::MAX.to_le_bytes());
        out.write_all(&h).map_err(stdout_error)?;
        Ok(Self {
            out,
            spec,
            bytes: Vec::new(),
        })
    }

    fn write(
        &mut self,
        channels: &[Vec<f32>],
        range: std::ops::Range<usize>,
    ) -> Result<(), String> {
        let bits = self.spec.bits_per_sample;
        let float = self.spec.sample_format == SampleFormat::Float;
        self.bytes.clear();
        for i in range {
            for ch in channels {
                let x = ch[i];
                match (float, bits) {
                    (true, _) => self.bytes.extend_from_slice(&x.to_le_bytes()),
                    // 8-bit WAV is unsigned.
                    (false, 8) => self.bytes.push((quantise(x, 8) + 128) as u8),
                    (false, b) => {
                        let v = quantise(x, b).to_le_bytes();
                        self.bytes.extend_from_slice(&v[..b as usize / 8]);
                    }
                }
            }
        }
        self.out.write_all(&self.bytes).map_err(stdout_error)
    }
}

#[cfg(test)]
mod tests {
    use super::quantise;

    #[test]
    fn quantise_rounds_half_away_from_zero_and_clips() {
        let lsb = 1.0 / 32768.0;
        assert_eq!(quantise(0.0, 16), 0);
        assert_eq!(quantise(1.5 * lsb, 16), 2);
        assert_eq!(quantise(-1.5 * lsb, 16), -2);
        assert_eq!(quantise(1.0, 16), 32767);
        assert_eq!(quantise(-1.0, 16), -32768);
        assert_eq!(quantise(1e30, 24), (1 << 23) - 1);
        assert_eq!(quantise(-1e30, 32), i32::MIN);
        assert_eq!(quantise(f32::NAN, 16), 0);
        assert_eq!(quantise(-1.0, 8), -128);
    }
}
