//! `quell denoise` on real files: every supported input format, FLAC output, standard input and
//! output, batches, and broken FLAC/MP3/Ogg/M4A files. The fixtures in `tests/fixtures` are 0.25 s of
//! a 44.1 kHz stereo tone pair, made by `tests/fixtures/make.sh` (ffmpeg).

extern crate quell_core as quell;
#[path = "../../tests/common/mod.rs"]
mod common;

use common::checks::{assert_names, scratch};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
const RATE: u32 = 44_100;
const FRAMES: usize = 11_025;

fn fixture(ext: &str) -> PathBuf {
    Path::new(FIXTURES).join(format!("tone.{ext}"))
}

fn quell(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quell"))
        .args(args)
        .output()
        .unwrap()
}

fn denoise(input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut a: Vec<&std::ffi::OsStr> = vec!["denoise".as_ref(), input.as_ref()];
    a.extend(["-o".as_ref(), output.as_os_str()]);
    a.extend(extra.iter().map(std::ffi::OsStr::new));
    quell(&a)
}

fn ok(o: &Output) {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn every_format_decodes_at_its_rate_and_channel_count() {
    let dir = scratch("formats");
    let reference = quell::wav::read(&fixture("wav")).unwrap();
    for ext in ["wav", "flac", "mp3", "ogg", "m4a"] {
        let out = dir.join(format!("{ext}.wav"));
        ok(&denoise(&fixture(ext), &out, &["--strength", "0"]));
        let a = quell::wav::read(&out).unwrap();
        assert_eq!((a.sample_rate, a.channels.len()), (RATE, 2), "{ext}");
        // Lossless inputs keep their 16-bit format and come back sample for sample; lossy ones
        // are written as float and may carry the codec's own padding.
        if ext == "wav" || ext == "flac" {
            assert_eq!(a.spec, reference.spec, "{ext}");
            assert_eq!(a.frames(), FRAMES, "{ext}");
            for c in 0..2 {
                let d = max_diff(&a.channels[c], &reference.channels[c]);
                assert!(d <= 1.0 / 32768.0, "{ext} ch{c}: differs by {d}");
            }
        } else {
            assert_eq!(a.spec.sample_format, hound::SampleFormat::Float, "{ext}");
            assert!(
                (FRAMES..FRAMES + 4096).contains(&a.frames()),
                "{ext}: {} frames",
                a.frames()
            );
            assert!(common::rms(&a.channels[0]) > 0.01, "{ext}: silent");
        }
    }
}

#[test]
fn flac_output_round_trips_and_keeps_alignment() {
    let dir = scratch("flac-out");
    let flac = dir.join("out.flac");
    ok(&denoise(&fixture("wav"), &flac, &["--strength", "0"]));
    assert_eq!(&std::fs::read(&flac).unwrap()[..4], b"fLaC");
    // Read it back through the FLAC decoder and compare with the original.
    let back = dir.join("back.wav");
    ok(&denoise(&flac, &back, &["--strength", "0"]));
    let a = quell::wav::read(&fixture("wav")).unwrap();
    let b = quell::wav::read(&back).unwrap();
    assert_eq!((b.spec, b.frames()), (a.spec, a.frames()));
    for c in 0..2 {
        assert!(max_diff(&a.channels[c], &b.channels[c]) <= 1.0 / 32768.0);
    }
    // A float WAV becomes 24-bit FLAC.
    let float_in = dir.join("float.wav");
    let x = common::noise(30_000, 7, 0.3);
    quell::wav::write(
        &float_in,
        quell::wav::float_spec(48_000, 1),
        std::slice::from_ref(&x),
    )
    .unwrap();
    let flac24 = dir.join("float.flac");
    ok(&denoise(&float_in, &flac24, &["--strength", "0"]));
    let back24 = dir.join("float_back.wav");
    ok(&denoise(&flac24, &back24, &["--strength", "0"]));
    let b = quell::wav::read(&back24).unwrap();
    assert_eq!(b.spec.bits_per_sample, 24);
    assert_eq!(b.frames(), x.len());
    assert!(max_diff(&b.channels[0], &x) < 1e-5);
}

/// Parses the streaming WAV `quell denoise ... -o -` writes: a 44-byte header with unknown sizes.
fn parse_stream_wav(bytes: &[u8]) -> (u16, u32, Vec<i16>) {
    assert_eq!(&bytes[..4], b"RIFF");
    assert_eq!(&bytes[4..8], &u32::MAX.to_le_bytes(), "unknown RIFF size");
    assert_eq!(&bytes[36..40], b"data");
    let channels = u16::from_le_bytes([bytes[22], bytes[23]]);
    let rate = u32::from_le_bytes(bytes[24..28].try_into().unwrap());
    let samples = bytes[44..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    (channels, rate, samples)
}

#[test]
fn standard_input_to_standard_output_lines_up_with_the_input() {
    let input = std::fs::read(fixture("wav")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_quell"))
        .args(["denoise", "-", "-o", "-", "--strength", "0"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let o = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    ok(&o);
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (channels, rate, samples) = parse_stream_wav(&o.stdout);
    assert_eq!((channels, rate, samples.len()), (2, RATE, FRAMES * 2));
    let a = quell::wav::read(&fixture("wav")).unwrap();
    for (i, s) in samples.iter().enumerate() {
        let want = a.channels[i % 2][i / 2];
        assert!(
            (*s as f32 / 32768.0 - want).abs() <= 1.0 / 32768.0,
            "sample {i}"
        );
    }
}

#[test]
fn an_ffmpeg_pipeline_works_end_to_end() {
    // ffmpeg -i talk.mp4 -f wav - | quell denoise - -o - | ffmpeg -f wav -i - out.m4a
    if Command::new("ffmpeg").arg("-version").output().is_err() {
        eprintln!("SKIPPED: ffmpeg is not installed (apt-get install ffmpeg)");
        return;
    }
    let dir = scratch("ffmpeg-pipe");
    let out = dir.join("out.m4a");
    let script = format!(
        "set -o pipefail; ffmpeg -v error -i '{}' -f wav - | '{}' denoise - -o - | \
         ffmpeg -v error -y -f wav -i - '{}'",
        fixture("m4a").display(),
        env!("CARGO_BIN_EXE_quell"),
        out.display()
    );
    let o = Command::new("bash").args(["-c", &script]).output().unwrap();
    ok(&o);
    // ffmpeg reads our output back: AAC at the input's rate and channels.
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,sample_rate,channels",
        ])
        .args(["-of", "csv=p=0"])
        .arg(&out)
        .output()
        .unwrap();
    let s = String::from_utf8_lossy(&probe.stdout);
    assert_eq!(s.trim(), "aac,44100,2", "{s}");
}

#[test]
fn a_batch_writes_the_good_files_and_reports_the_bad_one() {
    let dir = scratch("batch");
    let inp = dir.join("in");
    std::fs::create_dir_all(inp.join("sub")).unwrap();
    std::fs::copy(fixture("wav"), inp.join("a.wav")).unwrap();
    std::fs::copy(fixture("flac"), inp.join("sub/b.flac")).unwrap();
    std::fs::copy(fixture("ogg"), inp.join("c.ogg")).unwrap();
    std::fs::write(inp.join("broken.mp3"), b"not an mp3 at all").unwrap();
    std::fs::write(inp.join("notes.txt"), b"skipped: not audio").unwrap();
    let extra = dir.join("d.mp3");
    std::fs::copy(fixture("mp3"), &extra).unwrap();
    let out = dir.join("out");
    let o = quell(&[
        "denoise".as_ref(),
        inp.as_os_str(),
        extra.as_os_str(),
        "--out-dir".as_ref(),
        out.as_os_str(),
        "--jobs".as_ref(),
        "2".as_ref(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("broken.mp3") && stderr.contains("1 of 5 files failed"),
        "{stderr}"
    );
    let mut written: Vec<String> = Vec::new();
    collect(&out, &out, &mut written);
    written.sort();
    assert_eq!(written, ["a.wav", "c.wav", "d.wav", "sub/b.flac"]);
    let a = quell::wav::read(&out.join("a.wav")).unwrap();
    assert_eq!(a.frames(), FRAMES);
}

fn collect(root: &Path, dir: &Path, into: &mut Vec<String>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            collect(root, &p, into);
        } else {
            into.push(p.strip_prefix(root).unwrap().to_string_lossy().into_owned());
        }
    }
}

#[test]
fn a_batch_never_writes_over_its_inputs() {
    let dir = scratch("batch-in-place");
    let a = dir.join("a.wav");
    std::fs::copy(fixture("wav"), &a).unwrap();
    let before = std::fs::read(&a).unwrap();
    let o = quell(&[
        "denoise".as_ref(),
        a.as_os_str(),
        "--out-dir".as_ref(),
        dir.as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert_names(&stderr, &["would overwrite input", "a.wav"], "in place");
    assert_eq!(std::fs::read(&a).unwrap(), before);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

/// Broken compressed files, each with the words its error must contain.
fn broken_files() -> Vec<(String, Vec<u8>, &'static [&'static str])> {
    let mut cases: Vec<(String, Vec<u8>, &'static [&'static str])> = Vec::new();
    for ext in ["flac", "mp3", "ogg", "m4a"] {
        let good = std::fs::read(fixture(ext)).unwrap();
        let mut wrong_magic = good.clone();
        wrong_magic[..4].copy_from_slice(b"XXXX");
        let garbage: Vec<u8> = common::noise(3000, 3, 1.0)
            .iter()
            .map(|v| (v * 127.0) as i8 as u8)
            .collect();
        // M4A keeps its index (moov) at the end and its signature at byte 4: symphonia's own words.
        let m4a = ext == "m4a";
        let (truncated, magic): (&[&str], &[&str]) = if m4a {
            (
                &["not a supported audio file", "moov"],
                &["not a supported audio file"],
            )
        } else {
            (&["truncated"], &["does not start with", "XXXX"])
        };
        cases.push((
            format!("truncated.{ext}"),
            good[..good.len() / 2].to_vec(),
            truncated,
        ));
        cases.push((format!("garbage.{ext}"), garbage, &["does not start with"]));
        cases.push((format!("wrong_magic.{ext}"), wrong_magic, magic));
        cases.push((format!("empty.{ext}"), Vec::new(), &["empty", "0 bytes"]));
    }
    // Header only: FLAC's metadata blocks, Ogg's header pages, MP3's ID3 tag.
    let flac = std::fs::read(fixture("flac")).unwrap();
    let mut pos = 4;
    loop {
        let last = flac[pos] & 0x80 != 0;
        pos += 4 + u32::from_be_bytes([0, flac[pos + 1], flac[pos + 2], flac[pos + 3]]) as usize;
        if last {
            break;
        }
    }
    cases.push((
        "header_only.flac".into(),
        flac[..pos].to_vec(),
        &["truncated"],
    ));
    let ogg = std::fs::read(fixture("ogg")).unwrap();
    let pages: Vec<usize> = (0..ogg.len() - 4)
        .filter(|&i| &ogg[i..i + 4] == b"OggS")
        .collect();
    cases.push((
        "header_only.ogg".into(),
        ogg[..pages[pages.len() - 1]].to_vec(),
        &["truncated"],
    ));
    let mp3 = std::fs::read(fixture("mp3")).unwrap();
    assert_eq!(&mp3[..3], b"ID3");
    // ID3v2: a 10-byte header, then a size in four 7-bit bytes.
    let tag = 10 + mp3[6..10].iter().fold(0usize, |n, &b| n << 7 | b as usize);
    cases.push(("header_only.mp3".into(), mp3[..tag].to_vec(), &["no audio"]));
    cases
}

#[test]
fn broken_compressed_files_fail_cleanly() {
    let dir = scratch("broken");
    let out = dir.join("out.wav");
    for (name, bytes, words) in broken_files() {
        let path = dir.join(&name);
        std::fs::write(&path, &bytes).unwrap();
        let o = denoise(&path, &out, &[]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{name}: {stderr}");
        assert!(!stderr.contains("panicked"), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.starts_with("error: "), "{name}: {stderr}");
        assert_names(&stderr, &[path.to_str().unwrap()], &name);
        assert_names(&stderr, words, &name);
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{name}: input changed"
        );
        let left: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with('.') || n.starts_with("out"))
            .collect();
        assert!(left.is_empty(), "{name}: left {left:?}");
        eprintln!("{name:>24} | {}", stderr.trim_end());
    }
}
