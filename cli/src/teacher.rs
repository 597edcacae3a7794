//! Files exchanged with a training-time teacher (DeepFilterNet3, `training/teacher/label.py`): the
//! dumper writes each noisy mixture, the teacher writes its delay-compensated output beside it, and
//! the dumper turns that output into band-gain targets with the engine's filterbank. The teacher
//! never runs inside Quell.

use std::path::{Path, PathBuf};

use quell_core::dataset::mixer::RATE;
use quell_core::wav;

fn mix_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:08}.wav"))
}

fn output_path(dir: &Path, index: u64) -> PathBuf {
    dir.join(format!("{index:08}.teacher.wav"))
}

/// Writes the noisy mixture and, as `NNNNNNNN.clean.wav`, its clean target: the labeller checks the
/// teacher's delay against the clean speech by cross-correlation.
pub fn write_mix(dir: &Path, index: u64, noisy: &[f32], clean: &[f32]) -> Result<(), String> {
    let spec = wav::float_spec(RATE as u32, 1);
    wav::write(
        &dir.join(format!("{index:08}.clean.wav")),
        spec,
        &[clean.to_vec()],
    )?;
    wav::write(&mix_path(dir, index), spec, &[noisy.to_vec()])
}

/// The teacher's output for mix `index`: mono, 48 kHz, exactly as long as the mixture (the labeller
/// removes the teacher's delay, so it lines up sample for sample).
pub fn read_output(dir: &Path, index: u64, len: usize) -> Result<Vec<f32>, String> {
    let path = output_path(dir, index);
    let a = wav::read(&path)?;
    if a.sample_rate != RATE as u32 || a.channels.len() != 1 || a.frames() != len {
        return Err(format!(
            "teacher output '{}' is {} Hz, {} channel(s), {} samples; the mix was 48000 Hz mono, {len} \
             samples (was it labelled from another dump's mixes?)",
            path.display(),
            a.sample_rate,
            a.channels.len(),
            a.frames()
        ));
    }
    Ok(a.channels.into_iter().next().unwrap_or_default())
}

/// Blend oracle band-gain targets with the teacher's: `w` = 1 takes the teacher's, 0 the oracle's.
/// Where either is "don't care" (negative) the oracle's value stands, so the clean speech's
/// bandwidth and the simulated Nyquist keep ruling what is learnt.
pub fn blend_targets(oracle: &mut [f32], teacher: &[f32], w: f32) {
    for (o, &t) in oracle.iter_mut().zip(teacher) {
        if *o >= 0.0 && t >= 0.0 {
            *o = (1.0 - w) * *o + w * t;
        }
    }
}

/// [`blend_targets`] only in frames without speech (`vad` 0; rows of `bands` targets per frame):
/// the teacher's deeper removal where nothing is said, the oracle's gains wherever speech is.
pub fn blend_targets_in_pauses(
    oracle: &mut [f32],
    teacher: &[f32],
    vad: &[f32],
    bands: usize,
    w: f32,
) {
    let rows = oracle.chunks_mut(bands).zip(teacher.chunks(bands)).zip(vad);
    for ((o, t), &v) in rows {
        if v == 0.0 {
            blend_targets(o, t, w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pause_blending_leaves_speech_frames_alone() {
        // Three frames of two bands: speech, pause, don't-care VAD.
        let mut o = [0.8, 0.6, 0.2, 0.4, 0.5, 0.5];
        blend_targets_in_pauses(
            &mut o,
            &[0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            &[1.0, 0.0, -1.0],
            2,
            0.5,
        );
        assert_eq!(o, [0.8, 0.6, 0.1, 0.2, 0.5, 0.5]);
    }

    #[test]
    fn blending_keeps_dont_care_and_weights_the_rest() {
        let mut o = [0.2, -1.0, 1.0, 0.5];
        blend_targets(&mut o, &[0.6, 0.3, -1.0, 0.5], 0.75);
        assert_eq!(o, [0.5, -1.0, 1.0, 0.5]);
    }

    #[test]
    fn a_teacher_output_of_the_wrong_length_is_refused_by_name() {
        let dir = std::env::temp_dir().join(format!("quell-teacher-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write_mix(&dir, 7, &[0.1; 480], &[0.05; 480]).unwrap();
        std::fs::copy(mix_path(&dir, 7), output_path(&dir, 7)).unwrap();
        assert_eq!(read_output(&dir, 7, 480).unwrap().len(), 480);
        let e = read_output(&dir, 7, 960).unwrap_err();
        assert!(
            e.contains("00000007.teacher.wav") && e.contains("960"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).ok();
    }
}
