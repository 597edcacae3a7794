//! Host-visible parameters. Everything is automatable and saved with the host's project.

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;
use std::sync::{Arc, RwLock};

use super::handoff::ModelKey;
use crate::engine::{
    DEFAULT_CONTRAST, DEFAULT_HARMONICS, EngineParams, Listen, MAX_CONTRAST, MAX_HOLD_MS,
    MAX_LOOKBACK_MS, MAX_REVERB_REDUCTION_DB, MAX_STRENGTH_DB,
};

/// Editor size in logical points when nothing was saved.
pub const DEFAULT_EDITOR_SIZE: (f32, f32) = (860.0, 560.0);
pub const MIN_EDITOR_SIZE: (f32, f32) = (640.0, 460.0);

/// Bundled models, in the order of `model::bundled::BUNDLED`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    #[id = "standard"]
    #[name = "Standard"]
    Standard,
    #[id = "tiny"]
    #[name = "Tiny (lowest CPU)"]
    Tiny,
    #[id = "hq"]
    #[name = "High quality"]
    HighQuality,
    /// The `.safetensors` file loaded in the editor (saved with the project by path).
    #[id = "user"]
    #[name = "User file"]
    User,
}

impl ModelChoice {
    /// The model this choice names; the user file's key carries its load generation.
    pub fn key(self, user_generation: u32) -> ModelKey {
        match self {
            ModelChoice::User => ModelKey::User(user_generation),
            other => ModelKey::Bundled(other.to_index()),
        }
    }
}

/// What the output carries (see `engine::Listen`).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenChoice {
    #[id = "output"]
    #[name = "Output"]
    Output,
    /// What Quell takes away: the delayed input minus the output (before output gain).
    #[id = "removed"]
    #[name = "Removed"]
    Removed,
}

#[derive(Params)]
pub struct QuellParams {
    /// Window state for nice-plug-egui (its type cannot be saved in this version, so the size is
    /// saved separately below and restored when the editor opens).
    pub editor_state: Arc<EguiEditorState>,
    /// Editor size in logical points, saved with the project.
    #[persist = "editor-size"]
    pub editor_size: Arc<RwLock<(f32, f32)>>,
    /// Editor zoom (1.0 = 100 %), saved with the project.
    #[persist = "editor-zoom"]
    pub editor_zoom: Arc<RwLock<f32>>,
    /// Path of the user's model file, saved with the project and reloaded on activation.
    #[persist = "user-model-path"]
    pub user_model_path: Arc<RwLock<Option<String>>>,

    /// Maximum attenuation (in pauses; the overall limit): 0 dB leaves the signal untouched.
    #[id = "strength"]
    pub strength: FloatParam,
    /// Maximum attenuation while the model hears speech (never more than Strength).
    #[id = "speech-strength"]
    pub speech_strength: FloatParam,
    /// How much of the room to take away, independent of Strength (noise); the top is "Full".
    /// Needs a model with the reverb head; others always remove the room fully.
    #[id = "reverb-reduction"]
    pub reverb_reduction: FloatParam,
    /// Spectral contrast: how much the bins the model is unsure about drop relative to the ones it
    /// is sure are speech, the frame's energy kept (0 = the model's gains as they are).
    #[id = "contrast"]
    pub contrast: FloatParam,
    /// Output, or what is removed.
    #[id = "listen"]
    pub listen: EnumParam<ListenChoice>,
    /// Adaptive notches on mains hum and steady tones.
    #[id = "hum"]
    pub hum_removal: BoolParam,
    #[id = "mix"]
    pub mix: FloatParam,
    #[id = "gain"]
    pub output_gain: FloatParam,
    #[id = "model"]
    pub model: EnumParam<ModelChoice>,
    #[id = "link"]
    pub stereo_link: BoolParam,
    #[id = "bypass"]
    pub bypass: BoolParam,
    /// Voice-activity gate (off by default).
    #[id = "gate"]
    pub gate: BoolParam,
    #[id = "gate-threshold"]
    pub gate_threshold: FloatParam,
    #[id = "gate-hold"]
    pub gate_hold: FloatParam,
    /// Retroactive grace: adds its length to the plugin's latency while the gate is on.
    #[id = "gate-lookback"]
    pub gate_lookback: FloatParam,
}

impl Default for QuellParams {
    fn default() -> Self {
        Self {
            editor_state: EguiEditorState::from_size(
                nice_plug::editor::dpi::LogicalSize::new(
                    DEFAULT_EDITOR_SIZE.0,
                    DEFAULT_EDITOR_SIZE.1,
                ),
                1.0,
            ),
            editor_size: Arc::new(RwLock::new(DEFAULT_EDITOR_SIZE)),
            editor_zoom: Arc::new(RwLock::new(1.0)),
            user_model_path: Arc::new(RwLock::new(None)),
            strength: FloatParam::new(
                "Strength",
                MAX_STRENGTH_DB,
                FloatRange::Skewed {
                    min: 0.0,
                    max: MAX_STRENGTH_DB,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" dB")
            .with_value_to_string(formatters::v2s_f32_rounded(1)),
            speech_strength: FloatParam::new(
                "Speech Strength",
                MAX_STRENGTH_DB,
                FloatRange::Skewed {
                    min: 0.0,
                    max: MAX_STRENGTH_DB,
                    factor: FloatRange::skew_factor(-1.0),
                },
            )
            .with_unit(" dB")
            .with_value_to_string(formatters::v2s_f32_rounded(1)),
            reverb_reduction: FloatParam::new(
                "Reverb Reduction",
                MAX_REVERB_REDUCTION_DB,
                FloatRange::Linear {
                    min: 0.0,
                    max: MAX_REVERB_REDUCTION_DB,
                },
            )
            .with_unit(" dB")
            .with_value_to_string(formatters::v2s_f32_rounded(1))
            .with_string_to_value(Arc::new(reverb_from_string)),
            contrast: FloatParam::new(
                "Contrast",
                DEFAULT_CONTRAST,
                FloatRange::Linear {
                    min: 0.0,
                    max: MAX_CONTRAST,
                },
            )
            .with_value_to_string(formatters::v2s_f32_rounded(2)),
            listen: EnumParam::new("Listen", ListenChoice::Output),
            hum_removal: BoolParam::new("Hum Removal", false),
            mix: FloatParam::new("Mix", 1.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_unit("%")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            output_gain: FloatParam::new(
                "Output Gain",
                0.0,
                FloatRange::Linear {
                    min: -24.0,
                    max: 24.0,
                },
            )
            .with_unit(" dB")
            .with_value_to_string(formatters::v2s_f32_rounded(1)),
            model: EnumParam::new("Model", ModelChoice::Standard),
            stereo_link: BoolParam::new("Stereo Link", false),
            bypass: BoolParam::new("Bypass", false).make_bypass(),
            gate: BoolParam::new("VAD Gate", false),
            gate_threshold: FloatParam::new(
                "Gate Threshold",
                0.5,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_unit("%")
            .with_value_to_string(formatters::v2s_f32_percentage(0))
            .with_string_to_value(formatters::s2v_f32_percentage()),
            gate_hold: FloatParam::new(
                "Gate Hold",
                200.0,
                FloatRange::Skewed {
                    min: 0.0,
                    max: MAX_HOLD_MS,
                    factor: FloatRange::skew_factor(-1.5),
                },
            )
            .with_unit(" ms")
            .with_value_to_string(formatters::v2s_f32_rounded(0)),
            gate_lookback: FloatParam::new(
                "Retroactive Grace",
                30.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: MAX_LOOKBACK_MS,
                },
            )
            .with_unit(" ms")
            .with_value_to_string(formatters::v2s_f32_rounded(0)),
        }
    }
}

/// dB, or "full" for the top of the range (the room removed as well as the model can). Shown as a
/// plain dB value, so hosts that script parameters (pedalboard) treat it as a number.
fn reverb_from_string(s: &str) -> Option<f32> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("full") {
        return Some(MAX_REVERB_REDUCTION_DB);
    }
    s.trim_end_matches("dB").trim().parse().ok()
}

impl QuellParams {
    /// Current targets for the engine (it smooths them per hop itself).
    pub fn engine_params(&self) -> EngineParams {
        EngineParams {
            strength_db: self.strength.value(),
            speech_strength_db: self.speech_strength.value(),
            reverb_reduction_db: self.reverb_reduction.value(),
            contrast: self.contrast.value(),
            // No knob: the engine's measured default (a small, level-neutral gain in quality).
            harmonics: DEFAULT_HARMONICS,
            listen: match self.listen.value() {
                ListenChoice::Output => Listen::Output,
                ListenChoice::Removed => Listen::Removed,
            },
            hum_removal: self.hum_removal.value(),
            mix: self.mix.value(),
            output_gain: 10f32.powf(self.output_gain.value() / 20.0),
            stereo_link: self.stereo_link.value(),
            bypass: self.bypass.value(),
            gate: self.gate.value(),
            gate_threshold: self.gate_threshold.value(),
            gate_hold_ms: self.gate_hold.value(),
            // No grace (no delay) with the gate off.
            gate_lookback_ms: if self.gate.value() {
                self.gate_lookback.value()
            } else {
                0.0
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bundled::BUNDLED;

    #[test]
    fn window_size_zoom_and_user_model_path_are_saved_with_the_project() {
        let a = QuellParams::default();
        *a.editor_size.write().unwrap() = (1000.0, 700.0);
        *a.editor_zoom.write().unwrap() = 2.0;
        *a.user_model_path.write().unwrap() = Some("/models/mine.safetensors".into());
        let saved = a.serialize_fields();
        let b = QuellParams::default();
        assert_eq!(*b.editor_size.read().unwrap(), DEFAULT_EDITOR_SIZE);
        b.deserialize_fields(&saved);
        assert_eq!(*b.editor_size.read().unwrap(), (1000.0, 700.0));
        assert_eq!(*b.editor_zoom.read().unwrap(), 2.0);
        assert_eq!(
            b.user_model_path.read().unwrap().as_deref(),
            Some("/models/mine.safetensors")
        );
    }

    #[test]
    fn model_choices_are_the_bundled_models_in_order_then_the_user_file() {
        let ids = ModelChoice::ids().expect("stable ids");
        let names: Vec<&str> = BUNDLED.iter().map(|m| m.name).collect();
        assert_eq!(&ids[..names.len()], names.as_slice());
        assert_eq!(ids[names.len()..], ["user"]);
        for (i, v) in ModelChoice::variants().iter().enumerate() {
            let choice = ModelChoice::from_index(i);
            let expect = if i < names.len() {
                ModelKey::Bundled(i)
            } else {
                ModelKey::User(7)
            };
            assert_eq!(choice.key(7), expect, "{v}");
        }
    }
}
