//! Host-visible parameters. Everything is automatable and saved with the host's project.

use nice_plug::prelude::*;
use nice_plug_egui::EguiEditorState;
use std::sync::Arc;

use crate::engine::EngineParams;
use crate::engine::MAX_STRENGTH_DB;

/// Bundled models, in the order of `model::bundled::BUNDLED`.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelChoice {
    #[id = "standard"]
    #[name = "Standard"]
    Standard,
    #[id = "tiny"]
    #[name = "Tiny (lowest CPU)"]
    Tiny,
}

impl ModelChoice {
    pub fn index(self) -> usize {
        self.to_index()
    }
}

#[derive(Params)]
pub struct QuellParams {
    /// Window size (not host-persisted: the editor state type has no serialisation in this
    /// nice-plug-egui version).
    pub editor_state: Arc<EguiEditorState>,

    /// Maximum attenuation: 0 dB leaves the signal untouched.
    #[id = "strength"]
    pub strength: FloatParam,
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
}

impl Default for QuellParams {
    fn default() -> Self {
        Self {
            editor_state: EguiEditorState::from_size(
                nice_plug::editor::dpi::LogicalSize::new(640.0, 420.0),
                1.0,
            ),
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
        }
    }
}

impl QuellParams {
    /// Current targets for the engine (it smooths them per hop itself).
    pub fn engine_params(&self) -> EngineParams {
        EngineParams {
            strength_db: self.strength.value(),
            mix: self.mix.value(),
            output_gain: 10f32.powf(self.output_gain.value() / 20.0),
            stereo_link: self.stereo_link.value(),
            bypass: self.bypass.value(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bundled::BUNDLED;

    #[test]
    fn model_choices_match_the_bundled_models_in_order() {
        let ids = ModelChoice::ids().expect("stable ids");
        let names: Vec<&str> = BUNDLED.iter().map(|m| m.name).collect();
        assert_eq!(ids, names.as_slice());
        assert!(ids.len() >= 2, "a one-entry enum gives hosts a 0..0 range");
    }
}
