//! The Rust network gives the PyTorch network's outputs on the same stored input (fixtures written by
//! training/export.py and training/make_tiny_fixture.py).

use quell::model::{ModelWeights, NetState};
use safetensors::SafeTensors;
use std::path::Path;

fn f32s(st: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = st
        .tensor(name)
        .unwrap_or_else(|_| panic!("fixture lacks {name}"));
    let v = t
        .data()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    (t.shape().to_vec(), v)
}

fn check(fixture: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join(fixture)).unwrap();
    let (_, header) = SafeTensors::read_metadata(&bytes).unwrap();
    let model_path = header
        .metadata()
        .as_ref()
        .and_then(|m| m.get("model"))
        .expect("fixture names its model")
        .clone();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let (fshape, features) = f32s(&st, "features");
    let (gshape, gains) = f32s(&st, "gains");
    let (_, vad) = f32s(&st, "vad");
    let w = ModelWeights::from_file(&root.join(&model_path)).unwrap();
    let (frames, nf) = (fshape[0], fshape[1]);
    let nb = gshape[1];
    assert_eq!(nf, w.n_features);
    assert_eq!(nb, w.n_bands);
    // A model with the reverb head must come with its gains in the fixture, and they must match too.
    let reverb = st
        .tensor("reverb_gains")
        .is_ok()
        .then(|| f32s(&st, "reverb_gains").1);
    assert_eq!(
        reverb.is_some(),
        w.has_reverb_head(),
        "{fixture}: reverb_gains in the fixture iff the model has the reverb head"
    );
    // Likewise the refinement head's per-bin factors.
    let refine = st.tensor("refine").is_ok().then(|| f32s(&st, "refine"));
    assert_eq!(
        refine.is_some(),
        w.refine.is_some(),
        "{fixture}: refine in the fixture iff the model has the refinement head"
    );
    // And the deep filter's coefficients.
    let filter = st
        .tensor("deep_filter")
        .is_ok()
        .then(|| f32s(&st, "deep_filter"));
    assert_eq!(
        filter.is_some(),
        w.deep_filter.is_some(),
        "{fixture}: deep_filter in the fixture iff the model has a deep filter"
    );
    let mut coefs = vec![0.0; w.deep_filter.as_ref().map_or(0, |d| 2 * d.order * d.bins)];
    let mut factors = vec![0.0; w.refine.as_ref().map_or(0, |r| r.bins)];
    let mut state = NetState::new(&w);
    let mut out = vec![0.0; nb];
    let mut room = vec![0.0; nb];
    let mut max_diff = 0.0f32;
    for t in 0..frames {
        let v = state.step(&w, &features[t * nf..(t + 1) * nf], &mut out);
        for (a, b) in out.iter().zip(&gains[t * nb..(t + 1) * nb]) {
            max_diff = max_diff.max((a - b).abs());
        }
        max_diff = max_diff.max((v - vad[t]).abs());
        if let Some(reverb) = &reverb {
            assert!(state.reverb_gains(&w, &mut room));
            for (a, b) in room.iter().zip(&reverb[t * nb..(t + 1) * nb]) {
                max_diff = max_diff.max((a - b).abs());
            }
        }
        if let Some((shape, refine)) = &refine {
            let k = shape[1];
            assert_eq!(k, factors.len());
            assert!(state.refine(&w, &mut factors));
            for (a, b) in factors.iter().zip(&refine[t * k..(t + 1) * k]) {
                max_diff = max_diff.max((a - b).abs());
            }
        }
        if let Some((shape, filter)) = &filter {
            let k = shape[1];
            assert_eq!(k, coefs.len());
            assert!(state.deep_filter(&w, &mut coefs));
            for (a, b) in coefs.iter().zip(&filter[t * k..(t + 1) * k]) {
                max_diff = max_diff.max((a - b).abs());
            }
        }
    }
    assert!(
        max_diff < 1e-4,
        "{fixture}: max |rust - torch| = {max_diff}"
    );
    eprintln!("{fixture}: {frames} frames, max |rust - torch| = {max_diff:e}");
}

/// A refinement head with a tanh layer: both paths of `NetState::refine` against PyTorch.
#[test]
fn refine_head_matches_pytorch() {
    check("tests/fixtures/parity_tiny_random_refine.safetensors");
}

/// A deep filter with a tanh layer next to a linear refinement head.
#[test]
fn deep_filter_head_matches_pytorch() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w = ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_filter.safetensors"))
        .unwrap();
    let d = w
        .deep_filter
        .as_ref()
        .expect("the fixture has a deep filter");
    assert_eq!((d.bins, d.order, d.net.hidden_size()), (12, 3, 9));
    check("tests/fixtures/parity_tiny_random_filter.safetensors");
}

/// A causal convolutional front end (5 kernels, 3 frames x 5 features) next to a refinement head,
/// over 200 frames: the kernel's edges, its past frames and the heads' feature slice against PyTorch.
#[test]
fn conv_front_end_matches_pytorch() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w =
        ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_conv.safetensors")).unwrap();
    let c = w.conv.as_ref().expect("the fixture has a front end");
    assert_eq!((c.channels, c.time, c.freq, w.n_features), (5, 3, 5, 29));
    assert_eq!(w.input_w.len(), w.dense * 29 * 6);
    check("tests/fixtures/parity_tiny_random_conv.safetensors");
}

/// After `reset` the front end has forgotten its past frames: the same input gives the same output
/// as from a fresh state (the engine resets on a model swap, a transport restart and bad input).
#[test]
fn reset_clears_the_front_ends_past() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w =
        ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_conv.safetensors")).unwrap();
    let frames: Vec<Vec<f32>> = (0..6)
        .map(|t| {
            (0..w.n_features)
                .map(|f| ((t * 7 + f) % 11) as f32 - 9.0)
                .collect()
        })
        .collect();
    let run = |s: &mut NetState| -> Vec<f32> {
        let mut g = vec![0.0; w.n_bands];
        let mut all = Vec::new();
        for f in &frames {
            all.push(s.step(&w, f, &mut g));
            all.extend_from_slice(&g);
        }
        all
    };
    let mut s = NetState::new(&w);
    let first = run(&mut s);
    let carried = run(&mut s);
    s.reset();
    assert_eq!(run(&mut s), first);
    assert_ne!(
        carried, first,
        "without a reset the past frames and state carry over"
    );
}

#[test]
fn tiny_random_model_matches_pytorch() {
    check("tests/fixtures/parity_tiny_random.safetensors");
}

#[test]
fn tiny_random_feature_v2_model_matches_pytorch() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w =
        ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_v2.safetensors")).unwrap();
    assert_eq!(w.feature_version, 2);
    assert_eq!(w.n_features, w.n_bands + quell::dsp::features::PITCH_BINS);
    check("tests/fixtures/parity_tiny_random_v2.safetensors");
}

#[test]
fn tiny_random_lstm_model_matches_pytorch() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w =
        ModelWeights::from_file(&root.join("tests/fixtures/tiny_random_lstm.safetensors")).unwrap();
    assert_eq!(w.cell, quell::model::weights::Cell::Lstm);
    assert_eq!(w.rnn.len(), 2);
    check("tests/fixtures/parity_tiny_random_lstm.safetensors");
}

#[test]
fn gru_files_without_a_cell_key_load_as_gru() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let w = ModelWeights::from_file(&root.join("tests/fixtures/tiny_random.safetensors")).unwrap();
    assert_eq!(w.cell, quell::model::weights::Cell::Gru);
    for m in quell::model::bundled::BUNDLED {
        let w = ModelWeights::from_bytes(m.bytes).unwrap();
        assert_eq!(w.cell, quell::model::weights::Cell::Gru, "{}", m.name);
    }
}

#[test]
fn every_shipped_model_has_a_matching_parity_fixture() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut checked = 0;
    for m in quell::model::bundled::BUNDLED {
        let fixture = format!("tests/fixtures/parity_{}.safetensors", m.name);
        if root.join(&fixture).exists() {
            check(&fixture);
            checked += 1;
        } else {
            // The only model allowed without a fixture is an untrained placeholder.
            let w = ModelWeights::from_bytes(m.bytes).unwrap();
            assert!(
                w.description.contains("UNTRAINED"),
                "model {} has no parity fixture",
                m.name
            );
        }
    }
    eprintln!("checked {checked} shipped models");
}

/// Any exported parity fixture (e.g. a study's model outside `tests/fixtures`):
/// `QUELL_PARITY=training/runs/x/parity.safetensors cargo test --test parity -- --ignored`
/// (comma-separated paths, relative to the repository root).
#[test]
#[ignore = "needs QUELL_PARITY=path[,path...]"]
fn fixtures_named_in_quell_parity_match_pytorch() {
    let list = std::env::var("QUELL_PARITY").expect("set QUELL_PARITY");
    for fixture in list.split(',').filter(|s| !s.trim().is_empty()) {
        check(fixture.trim());
    }
}
