//! Audio in, a block at a time: WAV files through `quell_core::wav` (hound, with its detailed
//! header diagnosis), everything else (FLAC, Ogg Vorbis, MP3, AAC/M4A, and WAV on standard input)
//! through symphonia.

use std::fs::File;
use std::path::Path;

use hound::{SampleFormat, WavSpec};
use quell_core::wav::{self, WavStream};
use symphonia::core::codecs::audio::{AudioDecoder, AudioDecoderOptions};
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, FormatReader, TrackType};
use symphonia::core::io::{MediaSourceStream, ReadOnlySource};
use symphonia::core::meta::MetadataOptions;

/// What the rest of the pipeline needs to know about an input.
#[derive(Clone, Copy, Debug)]
pub struct InputInfo {
    pub sample_rate: u32,
    pub channels: u16,
    /// Frames the container declares, when it does.
    pub frames: Option<u64>,
    /// The input's own sample format when it is PCM (WAV, FLAC); `None` for lossy codecs.
    pub pcm: Option<WavSpec>,
}

pub enum Decoder {
    Wav(WavStream),
    Media(Box<MediaDecoder>),
}

/// `check` sees the format before any sample is decoded (rate, channel count limits).
pub fn open(
    input: &str,
    check: impl FnOnce(&InputInfo) -> Result<(), String>,
) -> Result<(Decoder, InputInfo), String> {
    if input == "-" {
        let src = ReadOnlySource::new(std::io::stdin());
        let mss = MediaSourceStream::new(Box::new(src), Default::default());
        let dec = MediaDecoder::new(mss, &Hint::new(), "standard input".into())?;
        return checked(Decoder::Media(Box::new(dec)), check, "standard input");
    }
    let path = Path::new(input);
    let ext = extension(path);
    if ext == "wav" || ext == "wave" {
        let mut info = None;
        let stream = wav::open_with(path, |spec| {
            let i = InputInfo {
                sample_rate: spec.sample_rate,
                channels: spec.channels,
                frames: None,
                pcm: Some(*spec),
            };
            info = Some(i);
            check(&i)
        })?;
        let info = InputInfo {
            frames: Some(stream.frames_declared() as u64),
            ..info.expect("the check ran")
        };
        return Ok((Decoder::Wav(stream), info));
    }
    let name = format!("'{}'", path.display());
    let fail = |why: String| format!("cannot read {name}: {why}");
    let meta = std::fs::metadata(path).map_err(|e| fail(e.to_string().to_lowercase()))?;
    if meta.is_dir() {
        return Err(fail("it is a directory, not a file".into()));
    }
    if meta.len() == 0 {
        return Err(fail("the file is empty (0 bytes)".into()));
    }
    check_signature(path, &ext).map_err(fail)?;
    let file = File::open(path).map_err(|e| fail(e.to_string().to_lowercase()))?;
    let mss = MediaSourceStream::new(Box::new(file), Default::default());
    let mut hint = Hint::new();
    hint.with_extension(&ext);
    let dec = MediaDecoder::new(mss, &hint, name.clone())?;
    checked(Decoder::Media(Box::new(dec)), check, &name)
}

fn checked(
    dec: Decoder,
    check: impl FnOnce(&InputInfo) -> Result<(), String>,
    name: &str,
) -> Result<(Decoder, InputInfo), String> {
    let Decoder::Media(m) = &dec else {
        unreachable!("WAV files are checked by wav::open_with")
    };
    let info = m.info;
    check(&info).map_err(|why| format!("cannot process {name}: {why}"))?;
    Ok((dec, info))
}

/// What `open` reads, for messages.
const FORMATS: &str = "WAV, FLAC, Ogg Vorbis, MP3, AAC/M4A";

/// A file whose name promises a format must start like one: symphonia would otherwise hunt through
/// it for anything decodable (an MP3 frame sync turns up in most binary files).
fn check_signature(path: &Path, ext: &str) -> Result<(), String> {
    let mut head = [0u8; 12];
    let n = File::open(path)
        .and_then(|mut f| {
            let mut n = 0;
            while n < head.len() {
                match std::io::Read::read(&mut f, &mut head[n..])? {
                    0 => break,
                    k => n += k,
                }
            }
            Ok(n)
        })
        .unwrap_or(0);
    let head = &head[..n];
    let (name, ok, expected) = match ext {
        "flac" => ("a FLAC", head.starts_with(b"fLaC"), "'fLaC'"),
        "ogg" | "oga" => ("an Ogg", head.starts_with(b"OggS"), "'OggS'"),
        "m4a" | "mp4" => (
            "an MP4/M4A",
            head.get(4..8) == Some(b"ftyp"),
            "an 'ftyp' box",
        ),
        "mp3" => (
            "an MP3",
            head.starts_with(b"ID3") || (n >= 2 && head[0] == 0xFF && head[1] & 0xE0 == 0xE0),
            "an ID3 tag or an MPEG audio frame",
        ),
        _ => return Ok(()),
    };
    if ok {
        return Ok(());
    }
    let shown: String = head
        .iter()
        .take(4)
        .map(|&c| if c.is_ascii_graphic() { c as char } else { '?' })
        .collect();
    Err(format!(
        "not {name} file: it does not start with {expected} but with '{shown}'"
    ))
}

pub fn extension(path: &Path) -> String {
    path.extension()
        .map(|e| e.to_string_lossy().to_lowercase())
        .unwrap_or_default()
}

impl Decoder {
    /// Fills `out` (one equally long slice per channel) from the start; returns the frames
    /// filled, fewer than asked only at the end of the input, 0 once it is over.
    pub fn read(&mut self, out: &mut [Vec<f32>]) -> Result<usize, String> {
        match self {
            Decoder::Wav(w) => {
                // hound may return a short block only at the very end; keep filling till then.
                let want = out.first().map_or(0, Vec::len);
                let mut got = 0;
                while got < want {
                    let mut rest: Vec<&mut [f32]> = out.iter_mut().map(|o| &mut o[got..]).collect();
                    let n = w.read(&mut rest)?;
                    if n == 0 {
                        break;
                    }
                    got += n;
                }
                Ok(got)
            }
            Decoder::Media(m) => m.read(out),
        }
    }
}

pub struct MediaDecoder {
    format: Box<dyn FormatReader + 'static>,
    decoder: Box<dyn AudioDecoder>,
    track_id: u32,
    info: InputInfo,
    /// `'name'` of the input (or "standard input"), for messages.
    name: String,
    /// Decoded frames not yet handed out, one Vec per channel, from `pending_pos`.
    pending: Vec<Vec<f32>>,
    pending_pos: usize,
    decoded: u64,
    ended: bool,
}

impl MediaDecoder {
    fn new(mss: MediaSourceStream<'static>, hint: &Hint, name: String) -> Result<Self, String> {
        let fail = |why: String| format!("cannot read {name}: {why}");
        let format = symphonia::default::get_probe()
            .probe(
                hint,
                mss,
                FormatOptions::default(),
                MetadataOptions::default(),
            )
            .map_err(|e| {
                fail(match e {
                    SymError::IoError(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                        "truncated: the file ends early (while its header or index was read)".into()
                    }
                    SymError::Unsupported(what) if what.starts_with("core (probe)") => {
                        format!("no audio stream in a supported format ({FORMATS}) found in it")
                    }
                    e => format!("not a supported audio file ({FORMATS}): {}", words(&e)),
                })
            })?;
        let track = format
            .default_track(TrackType::Audio)
            .ok_or_else(|| fail("it has no audio track".into()))?;
        let params = track
            .codec_params
            .as_ref()
            .and_then(|p| p.audio())
            .ok_or_else(|| fail("its audio track has no codec parameters".into()))?;
        let decoder = symphonia::default::get_codecs()
            .make_audio_decoder(params, &AudioDecoderOptions::default())
            .map_err(|e| fail(format!("its codec is not supported: {}", words(&e))))?;
        let sample_rate = params
            .sample_rate
            .ok_or_else(|| fail("its header gives no sample rate".into()))?;
        let channels = params
            .channels
            .as_ref()
            .map(|c| c.count())
            .ok_or_else(|| fail("its header gives no channel count".into()))?;
        if sample_rate == 0 {
            return Err(fail("its sample rate is 0 Hz".into()));
        }
        if channels == 0 {
            return Err(fail("it has no channels (channel count 0)".into()));
        }
        let channels =
            u16::try_from(channels).map_err(|_| fail(format!("it claims {channels} channels")))?;
        let pcm =
            pcm_spec(params.sample_format, params.bits_per_sample).map(|(fmt, bits)| WavSpec {
                channels,
                sample_rate,
                bits_per_sample: bits,
                sample_format: fmt,
            });
        let info = InputInfo {
            sample_rate,
            channels,
            frames: track.num_frames,
            pcm,
        };
        let track_id = track.id;
        Ok(Self {
            format,
            decoder,
            track_id,
            info,
            name,
            pending: vec![Vec::new(); channels as usize],
            pending_pos: 0,
            decoded: 0,
            ended: false,
        })
    }

    fn read(&mut self, out: &mut [Vec<f32>]) -> Result<usize, String> {
        let want = out.first().map_or(0, Vec::len);
        let mut got = 0;
        while got < want {
            let avail = self.pending[0].len() - self.pending_pos;
            if avail == 0 {
                if self.ended || !self.decode_next()? {
                    break;
                }
                continue;
            }
            let n = avail.min(want - got);
            for (o, p) in out.iter_mut().zip(&self.pending) {
                o[got..got + n].copy_from_slice(&p[self.pending_pos..self.pending_pos + n]);
            }
            self.pending_pos += n;
            got += n;
        }
        Ok(got)
    }

    /// Decodes the next packet of our track into `pending`; false at the end of the stream.
    fn decode_next(&mut self) -> Result<bool, String> {
        let at = |decoded: u64| format!("{:.2} s", decoded as f64 / self.info.sample_rate as f64);
        loop {
            let packet = match self.format.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                // A stream of unknown length (a WAV from a pipe) simply stops.
                Err(SymError::IoError(e))
                    if e.kind() == std::io::ErrorKind::UnexpectedEof
                        && self.info.frames.is_none() =>
                {
                    break;
                }
                Err(SymError::IoError(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(format!(
                        "cannot read {}: truncated: the file ends inside a packet after {}",
                        self.name,
                        at(self.decoded)
                    ));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot read {}: corrupt data after {}: {}",
                        self.name,
                        at(self.decoded),
                        words(&e)
                    ));
                }
            };
            if packet.track_id != self.track_id {
                continue;
            }
            let buf = self.decoder.decode(&packet).map_err(|e| {
                format!(
                    "cannot read {}: corrupt audio after {}: {}",
                    self.name,
                    at(self.decoded),
                    words(&e)
                )
            })?;
            let frames = buf.frames();
            if buf.spec().channels().count() != self.pending.len() {
                return Err(format!(
                    "cannot read {}: the channel count changes mid-stream after {}",
                    self.name,
                    at(self.decoded)
                ));
            }
            for p in &mut self.pending {
                p.resize(frames, 0.0);
            }
            buf.copy_to_slice_planar::<f32, _>(&mut self.pending);
            self.pending_pos = 0;
            self.decoded += frames as u64;
            if frames > 0 {
                return Ok(true);
            }
        }
        self.ended = true;
        if let Some(declared) = self.info.frames
            && self.decoded < declared
        {
            return Err(format!(
                "cannot read {}: truncated: it ends after {} of the {} its header declares",
                self.name,
                at(self.decoded),
                at(declared)
            ));
        }
        Ok(false)
    }
}

/// The WAV format matching a PCM codec's samples; `None` for lossy codecs (decoded as float).
fn pcm_spec(
    format: Option<symphonia::core::audio::sample::SampleFormat>,
    bits: Option<u32>,
) -> Option<(SampleFormat, u16)> {
    use symphonia::core::audio::sample::SampleFormat as S;
    let container = |b: u32| b.div_ceil(8).clamp(1, 4) as u16 * 8;
    match (format, bits) {
        (Some(S::F32 | S::F64), _) => Some((SampleFormat::Float, 32)),
        (Some(S::U8 | S::S8), _) => Some((SampleFormat::Int, 8)),
        (Some(S::U16 | S::S16), _) => Some((SampleFormat::Int, 16)),
        (Some(S::U24 | S::S24), _) => Some((SampleFormat::Int, 24)),
        (Some(S::U32 | S::S32), _) => Some((SampleFormat::Int, 32)),
        // FLAC states only its bit depth.
        (None, Some(b)) => Some((SampleFormat::Int, container(b))),
        (None, None) => None,
    }
}

/// symphonia's message, without its capitalisation quirks.
fn words(e: &SymError) -> String {
    let s = e.to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => s,
    }
}
