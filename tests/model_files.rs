//! Bad model files give an error naming the problem, never a panic. (The full malformed-file corpus,
//! through the user-file loader and the CLI, is `tests/bad_files.rs`; these are the basics.)

mod common;

use common::bad_models::edited;
use quell::model::{ModelError, ModelWeights, bundled};

fn good_bytes() -> Vec<u8> {
    bundled::default_model().bytes.to_vec()
}

fn err(bytes: &[u8]) -> ModelError {
    ModelWeights::from_bytes(bytes).expect_err("must be rejected")
}

#[test]
fn the_bundled_default_loads() {
    let w = ModelWeights::from_bytes(&good_bytes()).unwrap();
    assert!(w.parameter_count() > 1000);
    // And a rebuild without edits still loads (the helper itself is sound).
    ModelWeights::from_bytes(&edited(|_| {})).unwrap();
}

#[test]
fn empty_truncated_and_garbage_files_are_format_errors() {
    let good = good_bytes();
    for bytes in [
        vec![],
        good[..4].to_vec(),
        good[..good.len() / 2].to_vec(),
        b"RIFF....WAVEfmt garbage".to_vec(),
    ] {
        assert!(matches!(err(&bytes), ModelError::Format(_)));
    }
    // A header claiming to be enormous.
    let mut huge = (u64::MAX / 2).to_le_bytes().to_vec();
    huge.extend_from_slice(&good[8..]);
    assert!(matches!(err(&huge), ModelError::Format(_)));
}

#[test]
fn missing_metadata_is_named() {
    let b = edited(|m| {
        m.meta().remove("band_edges_hz");
    });
    assert_eq!(err(&b), ModelError::MissingMetadata("band_edges_hz"));
    let b = edited(|m| {
        m.meta().clear();
    });
    assert_eq!(err(&b), ModelError::MissingMetadata("architecture"));
}

#[test]
fn wrong_architecture_and_bad_metadata_are_named() {
    let b = edited(|m| {
        m.meta().insert("architecture".into(), "some-lstm".into());
    });
    assert!(matches!(err(&b), ModelError::UnsupportedArchitecture(_)));
    let b = edited(|m| {
        m.meta()
            .insert("band_edges_hz".into(), "[0, 100, 50]".into());
    });
    assert!(matches!(
        err(&b),
        ModelError::BadMetadata {
            key: "band_edges_hz",
            ..
        }
    ));
    let b = edited(|m| {
        m.meta().insert("gru_hidden".into(), "7".into());
    });
    assert!(matches!(
        err(&b),
        ModelError::BadMetadata {
            key: "gru_hidden",
            ..
        }
    ));
}

#[test]
fn wrong_dtype_shape_missing_tensor_and_nan_weights_are_named() {
    let b = edited(|m| {
        // BF16: half-size like F16 (which is accepted), but not a dtype Quell reads.
        let t = m.tensor("gain.bias");
        t.dtype = "BF16".into();
        t.data.truncate(t.data.len() / 2);
    });
    assert!(
        matches!(err(&b), ModelError::WrongDtype { .. }),
        "{}",
        err(&b)
    );

    let b = edited(|m| {
        let t = m.tensor("gain.bias");
        t.shape = vec![t.shape[0] - 1];
        t.data.truncate(t.data.len() - 4);
    });
    assert!(
        matches!(err(&b), ModelError::WrongShape { .. }),
        "{}",
        err(&b)
    );

    let b = edited(|m| m.tensors.retain(|t| t.name != "vad.weight"));
    assert_eq!(err(&b), ModelError::MissingTensor("vad.weight".into()));

    let b = edited(|m| {
        m.tensor("gru.0.weight_hh").data[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    assert_eq!(err(&b), ModelError::NonFinite("gru.0.weight_hh".into()));
}

#[test]
fn messages_say_what_is_wrong() {
    let b = edited(|m| m.tensors.retain(|t| t.name != "vad.weight"));
    let msg = err(&b).to_string();
    assert!(
        msg.contains("vad.weight") && msg.contains("missing"),
        "{msg}"
    );
}

#[test]
fn missing_file_is_an_io_error() {
    let e = ModelWeights::from_file(std::path::Path::new("/nonexistent/model.safetensors"))
        .unwrap_err();
    assert!(matches!(e, ModelError::Io(_)));
}
