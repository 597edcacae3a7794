//! Malformed WAV files, built byte by byte. Each case says words its error message must contain.

/// A RIFF/WAVE file described field by field; `bytes()` writes exactly what it says, however wrong.
#[derive(Clone, Debug)]
pub struct WavBytes {
    pub riff: [u8; 4],
    pub wave: [u8; 4],
    pub format_tag: u16,
    pub channels: u16,
    pub rate: u32,
    /// `None`: `rate * block_align`.
    pub byte_rate: Option<u32>,
    /// `None`: `channels * bits / 8`.
    pub block_align: Option<u16>,
    pub bits: u16,
    /// Bytes after the 16 standard `fmt ` bytes (`cbSize` and the extensible part).
    pub fmt_extra: Vec<u8>,
    /// Chunks between `fmt ` and `data`.
    pub chunks: Vec<([u8; 4], Vec<u8>)>,
    pub data: Vec<u8>,
    /// `None`: the data's real length.
    pub data_size: Option<u32>,
}

impl WavBytes {
    /// Half a second of mono 32-bit float at 48 kHz (a quiet ramp).
    pub fn float() -> Self {
        let data = (0..24_000)
            .flat_map(|i| ((i % 100) as f32 * 0.001).to_le_bytes())
            .collect();
        Self {
            riff: *b"RIFF",
            wave: *b"WAVE",
            format_tag: 3,
            channels: 1,
            rate: 48_000,
            byte_rate: None,
            block_align: None,
            bits: 32,
            fmt_extra: vec![],
            chunks: vec![],
            data,
            data_size: None,
        }
    }

    /// Integer PCM with `bits` per sample, `frames` frames of silence-ish.
    pub fn pcm(channels: u16, bits: u16, frames: usize) -> Self {
        Self {
            format_tag: 1,
            channels,
            bits,
            data: vec![1u8; frames * channels as usize * bits.div_ceil(8) as usize],
            ..Self::float()
        }
    }

    /// WAVE_FORMAT_EXTENSIBLE with `valid` bits in `container`-bit samples of `subformat`.
    pub fn extensible(subformat: u16, container: u16, valid: u16) -> Self {
        let mut extra = vec![];
        extra.extend(22u16.to_le_bytes());
        extra.extend(valid.to_le_bytes());
        extra.extend(4u32.to_le_bytes()); // channel mask: front centre
        extra.extend(subformat.to_le_bytes());
        extra.extend([
            0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
        ]);
        Self {
            format_tag: 0xFFFE,
            bits: container,
            fmt_extra: extra,
            data: vec![1u8; 4800 * container as usize / 8],
            ..Self::float()
        }
    }

    pub fn bytes(&self) -> Vec<u8> {
        let align = self
            .block_align
            .unwrap_or((self.channels as u32 * self.bits as u32 / 8) as u16);
        let byte_rate = self
            .byte_rate
            .unwrap_or((self.rate as u64 * align as u64) as u32);
        let mut fmt = vec![];
        fmt.extend(self.format_tag.to_le_bytes());
        fmt.extend(self.channels.to_le_bytes());
        fmt.extend(self.rate.to_le_bytes());
        fmt.extend(byte_rate.to_le_bytes());
        fmt.extend(align.to_le_bytes());
        fmt.extend(self.bits.to_le_bytes());
        fmt.extend(&self.fmt_extra);
        let mut body = self.wave.to_vec();
        let mut chunk = |id: &[u8; 4], size: u32, content: &[u8]| {
            body.extend(id);
            body.extend(size.to_le_bytes());
            body.extend(content);
        };
        chunk(b"fmt ", fmt.len() as u32, &fmt);
        for (id, c) in &self.chunks {
            chunk(id, c.len() as u32, c);
        }
        chunk(
            b"data",
            self.data_size.unwrap_or(self.data.len() as u32),
            &self.data,
        );
        let mut out = self.riff.to_vec();
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }
}

/// Well-formed WAVs in the corpus that only `quell denoise` refuses (sample rate, channel count).
pub const VALID_BUT_UNPROCESSABLE: &[&str] = &[
    "sample_rate_below_the_engines",
    "sample_rate_above_the_engines",
    "too_many_channels",
];

pub struct BadWav {
    /// Also the file's name stem: letters, digits and underscores.
    pub name: &'static str,
    pub bytes: Vec<u8>,
    /// Words the error message must contain, lower-case.
    pub mentions: Vec<String>,
}

/// The malformed-WAV corpus: every file is refused by `quell denoise` with a message naming the
/// problem. (`wav::read` alone accepts the few that are valid WAVs the CLI cannot process: see
/// `VALID_BUT_UNPROCESSABLE`.)
pub fn corpus() -> Vec<BadWav> {
    let good = WavBytes::float().bytes();
    let w = WavBytes::float;
    let case = |name, bytes, mentions: &[&str]| BadWav {
        name,
        bytes,
        mentions: mentions.iter().map(|m| m.to_lowercase()).collect(),
    };
    // Just outside the engine's range, whatever it is in this build.
    let low = (quell::dsp::grid::MIN_RATE as u32).saturating_sub(1).max(1);
    let high = quell::dsp::grid::MAX_RATE as u32 + 1;
    let (low_msg, high_msg) = (
        format!("unsupported sample rate {low} hz"),
        format!("unsupported sample rate {high} hz"),
    );
    vec![
        case("empty", vec![], &["empty"]),
        case("riff_only", good[..4].to_vec(), &["truncated"]),
        case("truncated_riff_header", good[..10].to_vec(), &["truncated"]),
        case(
            "truncated_in_fmt",
            good[..30].to_vec(),
            &["truncated", "fmt"],
        ),
        case(
            "truncated_before_data",
            good[..36].to_vec(),
            &["truncated", "data"],
        ),
        case(
            "truncated_in_data",
            good[..good.len() / 2].to_vec(),
            &["truncated", "data chunk"],
        ),
        case(
            "not_riff",
            b"this is not a wav file at all".to_vec(),
            &["not a wav file", "riff"],
        ),
        case(
            "rifx_big_endian",
            [b"RIFX", &good[4..]].concat(),
            &["rifx", "not supported"],
        ),
        case(
            "riff_not_wave",
            WavBytes {
                wave: *b"AVI ",
                ..w()
            }
            .bytes(),
            &["not wave", "avi"],
        ),
        case(
            "zero_channels",
            WavBytes {
                channels: 0,
                block_align: Some(4),
                ..w()
            }
            .bytes(),
            &["no channels"],
        ),
        case(
            "zero_sample_rate",
            WavBytes { rate: 0, ..w() }.bytes(),
            &["sample rate is 0"],
        ),
        case(
            "sample_rate_below_the_engines",
            WavBytes { rate: low, ..w() }.bytes(),
            &[&low_msg],
        ),
        case(
            "sample_rate_above_the_engines",
            WavBytes { rate: high, ..w() }.bytes(),
            &[&high_msg],
        ),
        case(
            "sample_rate_4_ghz",
            WavBytes {
                rate: 4_000_000_000,
                ..w()
            }
            .bytes(),
            &["byte rate", "4000000000"],
        ),
        case(
            "byte_rate_inconsistent",
            WavBytes {
                byte_rate: Some(12345),
                ..w()
            }
            .bytes(),
            &["byte rate 12345"],
        ),
        case(
            "alaw",
            WavBytes {
                format_tag: 6,
                ..WavBytes::pcm(1, 8, 4800)
            }
            .bytes(),
            &["a-law", "not supported"],
        ),
        case(
            "mulaw",
            WavBytes {
                format_tag: 7,
                ..WavBytes::pcm(1, 8, 4800)
            }
            .bytes(),
            &["mu-law", "not supported"],
        ),
        case(
            "ms_adpcm",
            WavBytes {
                format_tag: 2,
                block_align: Some(256),
                ..WavBytes::pcm(1, 4, 4800)
            }
            .bytes(),
            &["adpcm", "not supported"],
        ),
        case(
            "mp3",
            WavBytes {
                format_tag: 0x55,
                block_align: Some(1),
                ..WavBytes::pcm(1, 8, 4800)
            }
            .bytes(),
            &["mp3", "not supported"],
        ),
        case(
            "float_64_bit",
            WavBytes {
                bits: 64,
                data: vec![0; 8 * 4800],
                ..w()
            }
            .bytes(),
            &["64-bit float", "not supported"],
        ),
        case(
            "float_16_bit",
            WavBytes {
                bits: 16,
                data: vec![0; 2 * 4800],
                ..w()
            }
            .bytes(),
            &["16-bit float", "not supported"],
        ),
        case(
            "extensible_float_64_bit",
            WavBytes::extensible(3, 64, 64).bytes(),
            &["64-bit float", "not supported"],
        ),
        case(
            "extensible_alaw",
            WavBytes::extensible(6, 8, 8).bytes(),
            &["a-law", "not supported"],
        ),
        case(
            "extensible_20_in_24_bit",
            WavBytes::extensible(1, 24, 20).bytes(),
            &["20-bit samples in 24-bit containers"],
        ),
        case(
            "int_12_bit",
            WavBytes {
                block_align: Some(2),
                ..WavBytes::pcm(1, 12, 4800)
            }
            .bytes(),
            &["12-bit", "not supported"],
        ),
        case(
            "int_0_bit",
            WavBytes {
                block_align: Some(2),
                ..WavBytes::pcm(1, 0, 4800)
            }
            .bytes(),
            &["0-bit", "not supported"],
        ),
        case(
            "int_40_bit",
            WavBytes::pcm(1, 40, 4800).bytes(),
            &["40-bit", "not supported"],
        ),
        case(
            "odd_block_align",
            WavBytes {
                block_align: Some(3),
                ..w()
            }
            .bytes(),
            &["block align is 3", "need 4"],
        ),
        case(
            "block_align_too_big",
            WavBytes {
                block_align: Some(4),
                ..WavBytes::pcm(1, 16, 4800)
            }
            .bytes(),
            &["block align is 4", "need 2"],
        ),
        case(
            "block_align_zero",
            WavBytes {
                block_align: Some(0),
                ..w()
            }
            .bytes(),
            &["block align is 0"],
        ),
        case(
            "data_size_larger_than_file",
            WavBytes {
                data_size: Some(0x7FFF_FFFC),
                ..w()
            }
            .bytes(),
            &["truncated", "2147483644"],
        ),
        case(
            "data_size_not_whole_frames",
            WavBytes {
                data_size: Some(4 * 1000 + 2),
                ..w()
            }
            .bytes(),
            &["data chunk"],
        ),
        case(
            "chunk_size_past_end",
            WavBytes {
                chunks: vec![(*b"LIST", vec![0; 4])],
                ..w()
            }
            .bytes()
            .into_iter()
            .enumerate()
            // The LIST chunk's size field (after RIFF/size/WAVE, the 24-byte fmt chunk, "LIST").
            .map(|(i, b)| if (40..44).contains(&i) { 0xF0 } else { b })
            .collect(),
            &["truncated", "list"],
        ),
        case(
            "fmt_chunk_too_short",
            {
                let mut b = w().bytes();
                b[16..20].copy_from_slice(&8u32.to_le_bytes());
                b
            },
            &["fmt", "too short"],
        ),
        case(
            "no_fmt_chunk",
            {
                let mut b = w().bytes();
                b[12..16].copy_from_slice(b"junk");
                b
            },
            &["data", "before any 'fmt ' chunk"],
        ),
        case(
            "too_many_channels",
            WavBytes::pcm(1000, 8, 10).bytes(),
            &["1000 channels", "at most"],
        ),
    ]
}
