//! The plugin's background model loader with the malformed-model corpus (`common::bad_models`):
//! every bad file gives its named error and the previously loaded user model stays in place.

mod common;

use common::bad_models;
use common::checks::{assert_names, bad_model_paths, scratch};
use std::path::PathBuf;

#[test]
fn the_plugins_loader_rejects_every_bad_model_and_keeps_the_previous_one() {
    use quell::plugin::handoff::{ModelKey, UserModelStatus, channel};
    let dir = scratch("plugin");
    let (loader, _audio_side) = channel(vec![common::default_weights()]);
    // A good user file first: every rejection below must leave it in place.
    let good = dir.join("good.safetensors");
    std::fs::write(&good, bad_models::edited(|_| {})).unwrap();
    loader.load_user_file(&good).unwrap();
    let generation = loader.user_generation();
    let params = loader
        .weights_for(ModelKey::User(generation))
        .unwrap()
        .parameter_count();
    let mut cases: Vec<(PathBuf, Vec<String>)> = Vec::new();
    for (i, case) in bad_models::corpus().iter().enumerate() {
        let path = dir.join(format!("model_{i}.safetensors"));
        std::fs::write(&path, &case.bytes).unwrap();
        cases.push((path, case.mentions.clone()));
    }
    for (path, _, mentions) in bad_model_paths(&dir) {
        cases.push((path, mentions.iter().map(|s| s.to_string()).collect()));
    }
    for (path, mentions) in cases {
        let what = path.display().to_string();
        let msg = loader.load_user_file(&path).expect_err(&what);
        assert_names(&msg, &mentions, &what);
        assert_eq!(
            loader.status(),
            UserModelStatus::Rejected {
                path: what.clone(),
                error: msg
            }
        );
        assert_eq!(loader.user_generation(), generation, "{what}");
        let kept = loader.weights_for(ModelKey::User(generation)).unwrap();
        assert_eq!(kept.parameter_count(), params, "{what}");
    }
}
