//! WAV in/out for the CLI and the dataset tools, with errors that name the file and the problem.

use hound::{SampleFormat, WavReader, WavSpec, WavWriter};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// What `read` accepts, for messages.
const SUPPORTED: &str = "Quell reads 8/16/24/32-bit integer PCM and 32-bit float";

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
    read_with(path, |_| Ok(()))
}

/// `read`, with `check` refusing a format (sample rate, channel count) before any sample is read.
pub fn read_with(
    path: &Path,
    check: impl FnOnce(&WavSpec) -> Result<(), String>,
) -> Result<Audio, String> {
    let mut stream = open_with(path, check)?;
    let spec = stream.spec();
    let n_ch = spec.channels as usize;
    let frames = stream.frames_declared() as usize;
    let mut channels = vec![Vec::with_capacity(frames); n_ch];
    let mut block = vec![vec![0.0f32; 4096]; n_ch];
    loop {
        let n = stream.read(&mut block)?;
        if n == 0 {
            break;
        }
        for (c, b) in channels.iter_mut().zip(&block) {
            c.extend_from_slice(&b[..n]);
        }
    }
    Ok(Audio {
        sample_rate: spec.sample_rate,
        channels,
        spec,
    })
}

/// A WAV file read a block at a time: memory stays constant whatever its length.
pub struct WavStream {
    reader: Samples,
    frames: u32,
    path: PathBuf,
    spec: WavSpec,
    /// Interleaved integer samples of one block, reused.
    ints: Vec<i32>,
    bytes: Vec<u8>,
}

enum Samples {
    /// Through hound, a sample at a time.
    Hound(WavReader<std::io::BufReader<File>>),
    /// Plain PCM read in bulk from where hound's header parse left the file (see `bulk_read`),
    /// with the number of samples not yet read.
    Bulk(std::io::BufReader<File>, u64),
}

/// Opens `path` and checks its header like `read_with`; no sample is read yet.
pub fn open_with(
    path: &Path,
    check: impl FnOnce(&WavSpec) -> Result<(), String>,
) -> Result<WavStream, String> {
    let fail = |why: String| format!("cannot read WAV '{}': {why}", path.display());
    let r = WavReader::open(path).map_err(|e| stream_error(path, &e))?;
    let spec = r.spec();
    if spec.channels == 0 {
        return Err(fail("it has no channels (channel count 0)".into()));
    }
    if spec.sample_rate == 0 {
        return Err(fail("its sample rate is 0 Hz".into()));
    }
    match (spec.sample_format, spec.bits_per_sample) {
        (SampleFormat::Float, 32) | (SampleFormat::Int, 1..=32) => {}
        (SampleFormat::Float, bits) => {
            return Err(fail(format!(
                "{bits}-bit float samples are not supported ({SUPPORTED})"
            )));
        }
        (SampleFormat::Int, bits) => {
            return Err(fail(format!(
                "{bits}-bit integer samples are not supported ({SUPPORTED})"
            )));
        }
    }
    // hound opens some files whose samples it then cannot read (e.g. 20 valid bits in 24): refuse
    // them now, with the words reading them would give, before any output is begun.
    if spec.sample_format == SampleFormat::Int && !matches!(spec.bits_per_sample, 8 | 16 | 24 | 32)
    {
        return Err(stream_error(path, &hound::Error::Unsupported));
    }
    check(&spec).map_err(|why| format!("cannot process WAV '{}': {why}", path.display()))?;
    let frames = r.duration();
    let reader = match plain_data_len(path, &spec, r.len()) {
        Some(n) => Samples::Bulk(r.into_inner(), n),
        None => Samples::Hound(r),
    };
    Ok(WavStream {
        reader,
        frames,
        path: path.to_path_buf(),
        spec,
        ints: Vec::new(),
        bytes: Vec::new(),
    })
}

/// `Some(samples)` when each sample fills exactly `bits / 8` bytes, so the data can be converted
/// in bulk rather than through hound's per-sample reads (a tenth of the CLI's CPU on long files).
/// hound has then parsed the header and the data chunk's length is the u32 just before the data.
fn plain_data_len(path: &Path, spec: &WavSpec, samples: u32) -> Option<u64> {
    let mut f = File::open(path).ok()?;
    let start = data_start(&mut f)?;
    let mut len = [0u8; 4];
    (read_at(&mut f, start - 4, &mut len) == 4).then_some(())?;
    let bytes = u32::from_le_bytes(len) as u64;
    (bytes / (spec.bits_per_sample as u64 / 8) == samples as u64).then_some(samples as u64)
}

/// Where the samples begin: after the header hound read (whose reader does not tell).
fn data_start(f: &mut File) -> Option<u64> {
    let mut pos = 12u64;
    loop {
        let mut ch = [0u8; 8];
        if read_at(f, pos, &mut ch) < 8 {
            return None;
        }
        if &ch[..4] == b"data" {
            return Some(pos + 8);
        }
        pos += 8 + u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]) as u64;
    }
}

fn stream_error(path: &Path, e: &hound::Error) -> String {
    // hound's own words are terse ("Failed to read enough bytes."); say what is wrong where we can.
    let why = diagnose(path).unwrap_or_else(|| hound_words(e));
    format!("cannot read WAV '{}': {why}", path.display())
}

impl WavStream {
    pub fn spec(&self) -> WavSpec {
        self.spec
    }

    /// Frames the header declares (the data chunk's length).
    pub fn frames_declared(&self) -> u32 {
        self.frames
    }

    /// Reads the next frames into `out` (one slice per channel, all the same length), scaled to
    /// [-1, 1). Returns how many frames it filled; 0 at the end.
    pub fn read(&mut self, out: &mut [impl AsMut<[f32]>]) -> Result<usize, String> {
        let reader = match &mut self.reader {
            Samples::Hound(r) => r,
            Samples::Bulk(..) => return self.bulk_read(out),
        };
        let n_ch = self.spec.channels as usize;
        let want = out.first_mut().map_or(0, |o| o.as_mut().len()) * n_ch;
        let n = if self.spec.sample_format == SampleFormat::Float {
            let mut n = 0;
            for (i, s) in reader.samples::<f32>().take(want).enumerate() {
                let s = s.map_err(|e| stream_error(&self.path, &e))?;
                out[i % n_ch].as_mut()[i / n_ch] = s;
                n += 1;
            }
            n
        } else {
            self.ints.clear();
            for s in reader.samples::<i32>().take(want) {
                self.ints.push(s.map_err(|e| stream_error(&self.path, &e))?);
            }
            let scale = 1.0 / (1u64 << (self.spec.bits_per_sample - 1)) as f32;
            for (c, o) in out.iter_mut().enumerate().take(self.ints.len()) {
                let o = o.as_mut();
                for (d, &v) in o.iter_mut().zip(self.ints[c..].iter().step_by(n_ch)) {
                    *d = v as f32 * scale;
                }
            }
            self.ints.len()
        };
        Ok(n / n_ch)
    }

    /// `read` for plain PCM: whole blocks of bytes from hound's reader, converted here.
    fn bulk_read(&mut self, out: &mut [impl AsMut<[f32]>]) -> Result<usize, String> {
        let Samples::Bulk(reader, left) = &mut self.reader else {
            unreachable!("only called for bulk reading")
        };
        let n_ch = self.spec.channels as usize;
        let want = out.first_mut().map_or(0, |o| o.as_mut().len()) * n_ch;
        let frames = (want as u64).min(*left) as usize / n_ch;
        if frames == 0 {
            return Ok(0);
        }
        let width = self.spec.bits_per_sample as usize / 8;
        self.bytes.resize(frames * n_ch * width, 0);
        std::io::Read::read_exact(reader, &mut self.bytes)
            .map_err(|e| stream_error(&self.path, &hound::Error::IoError(e)))?;
        *left -= (frames * n_ch) as u64;
        let scale = 1.0 / (1u64 << (self.spec.bits_per_sample - 1)) as f32;
        let float = self.spec.sample_format == SampleFormat::Float;
        for (c, o) in out.iter_mut().enumerate() {
            let o = &mut o.as_mut()[..frames];
            let samples = self.bytes[c * width..].chunks(width).step_by(n_ch);
            for (d, b) in o.iter_mut().zip(samples) {
                *d = match (float, width) {
                    (true, _) => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
                    // 8-bit WAV is unsigned.
                    (false, 1) => (b[0] as i32 - 128) as f32 * scale,
                    (false, 2) => i16::from_le_bytes([b[0], b[1]]) as f32 * scale,
                    (false, 3) => (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 * scale,
                    _ => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32 * scale,
                };
            }
        }
        Ok(frames)
    }
}

fn hound_words(e: &hound::Error) -> String {
    match e {
        hound::Error::Unsupported => format!("its encoding is not supported ({SUPPORTED})"),
        e => e.to_string(),
    }
}

/// Why hound refused `path`, in the user's terms: a walk over the RIFF chunks. `None` when it finds
/// nothing more specific to say than hound did.
fn diagnose(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if meta.is_dir() {
        return Some("it is a directory, not a file".into());
    }
    let len = meta.len();
    if len == 0 {
        return Some("the file is empty (0 bytes)".into());
    }
    let mut f = File::open(path).ok()?;
    let mut head = [0u8; 12];
    let n = read_at(&mut f, 0, &mut head);
    let tag = |b: &[u8]| -> String {
        b.iter()
            .map(|&c| {
                if c.is_ascii_graphic() || c == b' ' {
                    c as char
                } else {
                    '?'
                }
            })
            .collect()
    };
    match &head[..4.min(n)] {
        b"RIFF" => {}
        b"RIFX" => return Some("big-endian (RIFX) WAV files are not supported".into()),
        b"RF64" => return Some("RF64 (64-bit) WAV files are not supported".into()),
        p if n < 4 && b"RIFF".starts_with(p) => {}
        p => {
            return Some(format!(
                "not a WAV file: it does not start with 'RIFF' but with '{}'",
                tag(p)
            ));
        }
    }
    if n < 12 {
        return Some(format!(
            "truncated: the file is only {len} bytes, shorter than a WAV header"
        ));
    }
    if &head[8..12] != b"WAVE" {
        return Some(format!(
            "a RIFF file but not WAVE audio (its form type is '{}')",
            tag(&head[8..12])
        ));
    }
    let mut pos = 12u64;
    // The block align of the `fmt ` chunk, once seen.
    let mut align = None;
    loop {
        let mut ch = [0u8; 8];
        if pos + 8 > len {
            let before = if align.is_some() { "'data'" } else { "'fmt '" };
            return Some(format!(
                "truncated: the file ends after {len} bytes, before its {before} chunk"
            ));
        }
        if read_at(&mut f, pos, &mut ch) < 8 {
            return None;
        }
        let id = &ch[..4];
        let size = u32::from_le_bytes([ch[4], ch[5], ch[6], ch[7]]) as u64;
        let body = pos + 8;
        let avail = len - body;
        if id == b"fmt " {
            if size < 16 {
                return Some(format!(
                    "its 'fmt ' chunk is {size} bytes, too short (at least 16)"
                ));
            }
            if size > avail {
                return Some(format!(
                    "truncated inside the 'fmt ' chunk (it claims {size} bytes, {avail} follow)"
                ));
            }
            let mut fmt = vec![0u8; size.min(64) as usize];
            if read_at(&mut f, body, &mut fmt) < fmt.len() {
                return None;
            }
            if let Some(why) = check_fmt(&fmt, size) {
                return Some(why);
            }
            align = Some(u16::from_le_bytes([fmt[12], fmt[13]]) as u64);
        } else if id == b"data" {
            let Some(align) = align else {
                return Some("its 'data' chunk comes before any 'fmt ' chunk".into());
            };
            if size > avail {
                return Some(format!(
                    "truncated: the data chunk claims {size} bytes but only {avail} follow"
                ));
            }
            if align > 0 && !size.is_multiple_of(align) {
                return Some(format!(
                    "its data chunk ({size} bytes) is not a whole number of {align}-byte frames"
                ));
            }
            return None;
        } else if size > avail {
            return Some(format!(
                "truncated: chunk '{}' claims {size} bytes but only {avail} follow",
                tag(id)
            ));
        }
        // hound skips chunks without the RIFF pad byte; walk the file the way it read it.
        pos = body + size;
    }
}

fn read_at(f: &mut File, pos: u64, buf: &mut [u8]) -> usize {
    if f.seek(SeekFrom::Start(pos)).is_err() {
        return 0;
    }
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(k) => got += k,
        }
    }
    got
}

/// What is wrong with a `fmt ` chunk body (`size` as declared), if anything we can name.
fn check_fmt(b: &[u8], size: u64) -> Option<String> {
    let u16_at = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
    let u32_at = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    let (tag, channels, rate, byte_rate, align, bits) = (
        u16_at(0),
        u16_at(2),
        u32_at(4),
        u32_at(8),
        u16_at(12),
        u16_at(14),
    );
    if channels == 0 {
        return Some("it has no channels (channel count 0)".into());
    }
    if rate == 0 {
        return Some("its sample rate is 0 Hz".into());
    }
    // WAVE_FORMAT_EXTENSIBLE: the real encoding and the valid bits live in the extension.
    let (encoding, valid) = if tag == 0xFFFE {
        if size < 40 || b.len() < 26 {
            return Some(format!(
                "its extensible 'fmt ' chunk is {size} bytes, too short (40)"
            ));
        }
        let valid = u16_at(18);
        (u16_at(24), if valid == 0 { bits } else { valid })
    } else {
        (tag, bits)
    };
    let name = match encoding {
        1 => "integer PCM",
        3 => "IEEE float",
        2 => "Microsoft ADPCM",
        6 => "A-law",
        7 => "mu-law",
        0x11 => "IMA ADPCM",
        0x31 => "GSM 6.10",
        0x50 => "MPEG",
        0x55 => "MP3",
        _ => "unknown",
    };
    if encoding != 1 && encoding != 3 {
        return Some(format!(
            "its encoding {name} (format tag 0x{encoding:04X}) is not supported ({SUPPORTED})"
        ));
    }
    if bits == 0 || !bits.is_multiple_of(8) {
        return Some(format!(
            "{bits}-bit sample containers are not supported ({SUPPORTED})"
        ));
    }
    let expected_align = channels as u32 * (bits as u32 / 8);
    if align as u32 != expected_align {
        return Some(format!(
            "its block align is {align} bytes, but {channels} channel(s) of {bits}-bit samples \
             need {expected_align}"
        ));
    }
    if byte_rate as u64 != align as u64 * rate as u64 {
        return Some(format!(
            "its byte rate {byte_rate} is not sample rate {rate} x block align {align} \
             (corrupt header?)"
        ));
    }
    if encoding == 3 && (bits != 32 || valid != 32) {
        return Some(format!(
            "{valid}-bit float samples are not supported ({SUPPORTED})"
        ));
    }
    if encoding == 1 && valid != bits {
        return Some(format!(
            "{valid}-bit samples in {bits}-bit containers are not supported ({SUPPORTED})"
        ));
    }
    let expected_size: &[u64] = if tag == 0xFFFE {
        &[40]
    } else if encoding == 3 {
        &[16, 18]
    } else {
        &[16, 18, 40]
    };
    if !expected_size.contains(&size) {
        return Some(format!(
            "its 'fmt ' chunk has an unexpected size ({size} bytes)"
        ));
    }
    None
}

/// Write `channels` with `spec`'s rate, channel count and sample format (integers are clipped).
/// Writes a temporary file beside `path` and renames it: on any error nothing is left at `path`
/// (and a file already there, even the input itself, is untouched).
pub fn write(path: &Path, spec: WavSpec, channels: &[Vec<f32>]) -> Result<(), String> {
    let fail = |e: String| format!("cannot write WAV '{}': {e}", path.display());
    if path.is_dir() {
        return Err(fail("it is a directory".into()));
    }
    let tmp = partial_path(path);
    let result = write_to(&tmp, spec, channels)
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(fail)
}

/// The temporary name beside `path` that output is written to before it is renamed into place.
pub fn partial_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.quell-partial"))
}

fn write_to(path: &Path, spec: WavSpec, channels: &[Vec<f32>]) -> Result<(), String> {
    let err = |e: hound::Error| e.to_string();
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
