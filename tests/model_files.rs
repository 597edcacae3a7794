//! Bad model files give an error naming the problem, never a panic.

use quell::model::{ModelError, ModelWeights, bundled};
use std::collections::HashMap;

fn good_bytes() -> Vec<u8> {
    bundled::default_model().bytes.to_vec()
}

/// Rebuild a safetensors file with edited tensors and metadata.
fn rebuild(
    edit: impl FnOnce(&mut Vec<(String, Vec<usize>, String, Vec<u8>)>, &mut HashMap<String, String>),
) -> Vec<u8> {
    let bytes = good_bytes();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut meta: HashMap<String, String> =
        serde_json::from_value(header["__metadata__"].clone()).unwrap();
    let mut tensors = Vec::new();
    for (k, v) in header.as_object().unwrap() {
        if k == "__metadata__" {
            continue;
        }
        let off: Vec<usize> = serde_json::from_value(v["data_offsets"].clone()).unwrap();
        let shape: Vec<usize> = serde_json::from_value(v["shape"].clone()).unwrap();
        tensors.push((
            k.clone(),
            shape,
            v["dtype"].as_str().unwrap().to_string(),
            data[off[0]..off[1]].to_vec(),
        ));
    }
    edit(&mut tensors, &mut meta);
    let mut h = serde_json::Map::new();
    h.insert("__metadata__".into(), serde_json::to_value(&meta).unwrap());
    let mut blob = Vec::new();
    for (k, shape, dtype, d) in &tensors {
        h.insert(k.clone(), serde_json::json!({"dtype": dtype, "shape": shape, "data_offsets": [blob.len(), blob.len() + d.len()]}));
        blob.extend_from_slice(d);
    }
    let hs = serde_json::to_vec(&h).unwrap();
    let mut out = (hs.len() as u64).to_le_bytes().to_vec();
    out.extend(hs);
    out.extend(blob);
    out
}

fn err(bytes: &[u8]) -> ModelError {
    ModelWeights::from_bytes(bytes).expect_err("must be rejected")
}

#[test]
fn the_bundled_default_loads() {
    let w = ModelWeights::from_bytes(&good_bytes()).unwrap();
    assert!(w.parameter_count() > 1000);
    // And a rebuild without edits still loads (the helper itself is sound).
    ModelWeights::from_bytes(&rebuild(|_, _| {})).unwrap();
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
    let b = rebuild(|_, m| {
        m.remove("band_edges_hz");
    });
    assert_eq!(err(&b), ModelError::MissingMetadata("band_edges_hz"));
    let b = rebuild(|_, m| {
        m.clear();
    });
    assert_eq!(err(&b), ModelError::MissingMetadata("architecture"));
}

#[test]
fn wrong_architecture_and_bad_metadata_are_named() {
    let b = rebuild(|_, m| {
        m.insert("architecture".into(), "some-lstm".into());
    });
    assert!(matches!(err(&b), ModelError::UnsupportedArchitecture(_)));
    let b = rebuild(|_, m| {
        m.insert("band_edges_hz".into(), "[0, 100, 50]".into());
    });
    assert!(matches!(
        err(&b),
        ModelError::BadMetadata {
            key: "band_edges_hz",
            ..
        }
    ));
    let b = rebuild(|_, m| {
        m.insert("gru_hidden".into(), "7".into());
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
    let b = rebuild(|t, _| {
        let e = t.iter_mut().find(|e| e.0 == "gain.bias").unwrap();
        e.2 = "F16".into();
        e.3.truncate(e.3.len() / 2);
    });
    assert!(
        matches!(err(&b), ModelError::WrongDtype { .. }),
        "{}",
        err(&b)
    );

    let b = rebuild(|t, _| {
        let e = t.iter_mut().find(|e| e.0 == "gain.bias").unwrap();
        e.1 = vec![e.1[0] - 1];
        e.3.truncate(e.3.len() - 4);
    });
    assert!(
        matches!(err(&b), ModelError::WrongShape { .. }),
        "{}",
        err(&b)
    );

    let b = rebuild(|t, _| t.retain(|e| e.0 != "vad.weight"));
    assert_eq!(err(&b), ModelError::MissingTensor("vad.weight".into()));

    let b = rebuild(|t, _| {
        let e = t.iter_mut().find(|e| e.0 == "gru.0.weight_hh").unwrap();
        e.3[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    assert_eq!(err(&b), ModelError::NonFinite("gru.0.weight_hh".into()));
}

#[test]
fn messages_say_what_is_wrong() {
    let b = rebuild(|t, _| t.retain(|e| e.0 != "vad.weight"));
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
