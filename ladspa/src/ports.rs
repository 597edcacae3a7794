//! The two port layouts (mono, stereo), their ranges and defaults, and the conversion of raw control
//! values (anything a host writes, NaN included) into engine parameters.

use std::ffi::{CStr, c_int};

use quell_core::EngineParams;
use quell_core::engine::Listen;
use quell_core::model::bundled::BUNDLED;

use crate::abi::*;

/// Control ports, in the order they appear after the audio ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Strength,
    Mix,
    Gain,
    Model,
    Link,
    Gate,
    Threshold,
    Hold,
    Grace,
    /// Attenuation limit while the model hears speech (the engine caps it at Strength).
    SpeechStrength,
    /// Toggle: 0 plays the output, 1 what processing takes away.
    Listen,
    /// Toggle: adaptive notches on mains hum and steady tones.
    Hum,
    /// How much of the room to take away, 0 dB to the top of the range ("full"); models without
    /// the reverb head always remove it fully.
    Reverb,
    /// Spectral contrast, 0 (the model's gains as they are) to 1.
    Contrast,
    /// Output: the delay in samples, read by hosts that compensate it.
    Latency,
}

impl Control {
    pub const COUNT: usize = 15;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    Input(usize),
    Output(usize),
    Control(Control),
}

pub struct PortSpec {
    pub name: &'static CStr,
    pub slot: Slot,
    pub hint: c_int,
    pub lower: f32,
    pub upper: f32,
    /// What the LADSPA default hint resolves to; also what NaN/Inf on the port becomes.
    pub default: f32,
}

const BOUNDED: c_int = HINT_BOUNDED_BELOW | HINT_BOUNDED_ABOVE;

const fn audio(name: &'static CStr, slot: Slot) -> PortSpec {
    PortSpec {
        name,
        slot,
        hint: 0,
        lower: 0.0,
        upper: 0.0,
        default: 0.0,
    }
}

const fn control(
    name: &'static CStr,
    c: Control,
    hint: c_int,
    lower: f32,
    upper: f32,
    default: f32,
) -> PortSpec {
    PortSpec {
        name,
        slot: Slot::Control(c),
        hint,
        lower,
        upper,
        default,
    }
}

/// Highest bundled model index.
const LAST_MODEL: f32 = (BUNDLED.len() - 1) as f32;

// Defaults are the CLAP/VST3 plugin's where a LADSPA default hint can express them exactly. Two
// ranges are narrowed for that: the hold starts at 20 ms (log scale, whose middle is 200 ms) and
// the grace ends at 120 ms (linear, whose "low" quarter is 30 ms).
const STRENGTH: PortSpec = control(
    c"Strength (dB)",
    Control::Strength,
    BOUNDED | HINT_DEFAULT_MAXIMUM,
    0.0,
    quell_core::engine::MAX_STRENGTH_DB,
    quell_core::engine::MAX_STRENGTH_DB,
);
const MIX: PortSpec = control(
    c"Mix (%)",
    Control::Mix,
    BOUNDED | HINT_DEFAULT_MAXIMUM,
    0.0,
    100.0,
    100.0,
);
const GAIN: PortSpec = control(
    c"Output gain (dB)",
    Control::Gain,
    BOUNDED | HINT_DEFAULT_0,
    -24.0,
    24.0,
    0.0,
);
const MODEL: PortSpec = control(
    c"Model (0 standard, 1 tiny, 2 hq)",
    Control::Model,
    BOUNDED | HINT_INTEGER | HINT_DEFAULT_MINIMUM,
    0.0,
    LAST_MODEL,
    0.0,
);
const LINK: PortSpec = control(
    c"Stereo link",
    Control::Link,
    HINT_TOGGLED | HINT_DEFAULT_0,
    0.0,
    1.0,
    0.0,
);
const GATE: PortSpec = control(
    c"VAD gate",
    Control::Gate,
    HINT_TOGGLED | HINT_DEFAULT_0,
    0.0,
    1.0,
    0.0,
);
const THRESHOLD: PortSpec = control(
    c"Gate threshold (%)",
    Control::Threshold,
    BOUNDED | HINT_DEFAULT_MIDDLE,
    0.0,
    100.0,
    50.0,
);
const HOLD: PortSpec = control(
    c"Gate hold (ms)",
    Control::Hold,
    BOUNDED | HINT_LOGARITHMIC | HINT_DEFAULT_MIDDLE,
    20.0,
    quell_core::engine::MAX_HOLD_MS,
    200.0,
);
const GRACE: PortSpec = control(
    c"Retroactive grace (ms)",
    Control::Grace,
    BOUNDED | HINT_DEFAULT_LOW,
    0.0,
    120.0,
    30.0,
);
// Speech strength's default is Strength's (100 dB, the range's maximum).
const SPEECH_STRENGTH: PortSpec = control(
    c"Speech strength (dB)",
    Control::SpeechStrength,
    BOUNDED | HINT_DEFAULT_MAXIMUM,
    0.0,
    quell_core::engine::MAX_STRENGTH_DB,
    quell_core::engine::MAX_STRENGTH_DB,
);
const LISTEN: PortSpec = control(
    c"Listen removed",
    Control::Listen,
    HINT_TOGGLED | HINT_DEFAULT_0,
    0.0,
    1.0,
    0.0,
);
const HUM: PortSpec = control(
    c"Hum removal",
    Control::Hum,
    HINT_TOGGLED | HINT_DEFAULT_0,
    0.0,
    1.0,
    0.0,
);
// Full reduction by default: the sound of a model without the reverb head.
const REVERB: PortSpec = control(
    c"Reverb reduction (dB, 24 = full)",
    Control::Reverb,
    BOUNDED | HINT_DEFAULT_MAXIMUM,
    0.0,
    quell_core::engine::MAX_REVERB_REDUCTION_DB,
    quell_core::engine::MAX_REVERB_REDUCTION_DB,
);
// 0..1 with the "low" default: exactly the engine's 0.25 (LADSPA's low is a quarter up a linear range).
const CONTRAST: PortSpec = control(
    c"Contrast (0 = the model's gains)",
    Control::Contrast,
    BOUNDED | HINT_DEFAULT_LOW,
    0.0,
    quell_core::engine::MAX_CONTRAST,
    quell_core::engine::DEFAULT_CONTRAST,
);
const LATENCY: PortSpec = PortSpec {
    name: c"latency",
    slot: Slot::Control(Control::Latency),
    hint: HINT_BOUNDED_BELOW,
    lower: 0.0,
    upper: 0.0,
    default: 0.0,
};

// Layout: audio ports, the controls in the order they were added (so a host that stores values by
// port index keeps the older ones), then the `latency` output last.
pub static MONO: [PortSpec; 16] = [
    audio(c"Input", Slot::Input(0)),
    audio(c"Output", Slot::Output(0)),
    STRENGTH,
    MIX,
    GAIN,
    MODEL,
    GATE,
    THRESHOLD,
    HOLD,
    GRACE,
    SPEECH_STRENGTH,
    LISTEN,
    HUM,
    REVERB,
    CONTRAST,
    LATENCY,
];

pub static STEREO: [PortSpec; 19] = [
    audio(c"Input L", Slot::Input(0)),
    audio(c"Input R", Slot::Input(1)),
    audio(c"Output L", Slot::Output(0)),
    audio(c"Output R", Slot::Output(1)),
    STRENGTH,
    MIX,
    GAIN,
    MODEL,
    LINK,
    GATE,
    THRESHOLD,
    HOLD,
    GRACE,
    SPEECH_STRENGTH,
    LISTEN,
    HUM,
    REVERB,
    CONTRAST,
    LATENCY,
];

impl PortSpec {
    pub fn ladspa_descriptor(&self) -> c_int {
        match self.slot {
            Slot::Input(_) => PORT_INPUT | PORT_AUDIO,
            Slot::Output(_) => PORT_OUTPUT | PORT_AUDIO,
            Slot::Control(Control::Latency) => PORT_OUTPUT | PORT_CONTROL,
            Slot::Control(_) => PORT_INPUT | PORT_CONTROL,
        }
    }

    pub fn range_hint(&self) -> PortRangeHint {
        PortRangeHint {
            hint_descriptor: self.hint,
            lower_bound: self.lower,
            upper_bound: self.upper,
        }
    }

    /// The value in range: NaN/Inf become the default, the rest is clamped to the declared bounds.
    pub fn sanitize(&self, v: f32) -> f32 {
        if !v.is_finite() {
            self.default
        } else if self.hint & BOUNDED == BOUNDED {
            v.clamp(self.lower, self.upper)
        } else {
            v
        }
    }
}

/// Control values as the host left them (NaN where a port is not connected).
pub type RawControls = [f32; Control::COUNT];

fn spec(c: Control) -> &'static PortSpec {
    match c {
        Control::Strength => &STRENGTH,
        Control::Mix => &MIX,
        Control::Gain => &GAIN,
        Control::Model => &MODEL,
        Control::Link => &LINK,
        Control::Gate => &GATE,
        Control::Threshold => &THRESHOLD,
        Control::Hold => &HOLD,
        Control::Grace => &GRACE,
        Control::SpeechStrength => &SPEECH_STRENGTH,
        Control::Listen => &LISTEN,
        Control::Hum => &HUM,
        Control::Reverb => &REVERB,
        Control::Contrast => &CONTRAST,
        Control::Latency => &LATENCY,
    }
}

fn value(raw: &RawControls, c: Control) -> f32 {
    spec(c).sanitize(raw[c as usize])
}

/// LADSPA toggles are on when above zero.
fn toggle(raw: &RawControls, c: Control) -> bool {
    value(raw, c) > 0.0
}

/// Engine parameters for the controls; the grace (a latency change) is left to the caller, which
/// only applies it at activation.
pub fn engine_params(raw: &RawControls) -> EngineParams {
    EngineParams {
        strength_db: value(raw, Control::Strength),
        speech_strength_db: value(raw, Control::SpeechStrength),
        listen: if toggle(raw, Control::Listen) {
            Listen::Removed
        } else {
            Listen::Output
        },
        hum_removal: toggle(raw, Control::Hum),
        reverb_reduction_db: value(raw, Control::Reverb),
        contrast: value(raw, Control::Contrast),
        // The pitch comb has no port: the engine's measured default.
        harmonics: quell_core::engine::DEFAULT_HARMONICS,
        mix: value(raw, Control::Mix) / 100.0,
        output_gain: 10f32.powf(value(raw, Control::Gain) / 20.0),
        stereo_link: toggle(raw, Control::Link),
        bypass: false,
        gate: toggle(raw, Control::Gate),
        gate_threshold: value(raw, Control::Threshold) / 100.0,
        gate_hold_ms: value(raw, Control::Hold),
        gate_lookback_ms: 0.0,
    }
}

/// Retroactive grace wanted now: none with the gate off, as in the CLAP/VST3 plugin.
pub fn grace_ms(raw: &RawControls) -> f32 {
    if toggle(raw, Control::Gate) {
        value(raw, Control::Grace)
    } else {
        0.0
    }
}

/// Index into the bundled models.
pub fn model_index(raw: &RawControls) -> usize {
    value(raw, Control::Model).round() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a host computes from the default hint (ladspa.h's rules).
    fn hinted_default(p: &PortSpec) -> Option<f32> {
        let (lo, hi) = (p.lower, p.upper);
        let log = p.hint & HINT_LOGARITHMIC != 0;
        let between = |w: f32| {
            if log {
                (lo.ln() * (1.0 - w) + hi.ln() * w).exp()
            } else {
                lo * (1.0 - w) + hi * w
            }
        };
        match p.hint & 0x3C0 {
            HINT_DEFAULT_MINIMUM => Some(lo),
            HINT_DEFAULT_LOW => Some(between(0.25)),
            HINT_DEFAULT_MIDDLE => Some(between(0.5)),
            HINT_DEFAULT_MAXIMUM => Some(hi),
            HINT_DEFAULT_0 => Some(0.0),
            _ => None,
        }
    }

    #[test]
    fn default_hints_resolve_to_the_declared_defaults() {
        for p in STEREO.iter().chain(&MONO) {
            if let Slot::Control(c) = p.slot {
                if c == Control::Latency {
                    continue;
                }
                let d = hinted_default(p).unwrap_or_else(|| panic!("{:?} has no default", p.name));
                assert!(
                    (d - p.default).abs() < 1e-3,
                    "{:?}: {d} vs {}",
                    p.name,
                    p.default
                );
            }
        }
    }

    #[test]
    fn defaults_match_the_engine_defaults() {
        let mut raw = [f32::NAN; Control::COUNT];
        let p = engine_params(&raw);
        let e = EngineParams::default();
        assert_eq!(
            p,
            EngineParams {
                gate_lookback_ms: 0.0,
                ..e
            }
        );
        raw[Control::Gate as usize] = 1.0;
        assert_eq!(grace_ms(&raw), 30.0);
        assert_eq!(model_index(&raw), 0);
    }

    #[test]
    fn absurd_values_are_clamped() {
        let mut raw = [f32::NAN; Control::COUNT];
        raw[Control::Model as usize] = 1e9;
        raw[Control::Mix as usize] = -5.0;
        raw[Control::Gain as usize] = f32::INFINITY;
        raw[Control::Hold as usize] = 1e12;
        raw[Control::SpeechStrength as usize] = -3.0;
        raw[Control::Listen as usize] = f32::INFINITY;
        raw[Control::Hum as usize] = 1e30;
        assert_eq!(model_index(&raw), BUNDLED.len() - 1);
        let p = engine_params(&raw);
        assert_eq!(p.mix, 0.0);
        assert_eq!(p.output_gain, 1.0);
        assert_eq!(p.gate_hold_ms, quell_core::engine::MAX_HOLD_MS);
        assert_eq!(p.speech_strength_db, 0.0);
        // Inf is not a value: the default (off), like NaN.
        assert_eq!(p.listen, Listen::Output);
        assert!(p.hum_removal);
        raw[Control::SpeechStrength as usize] = 1e9;
        raw[Control::Listen as usize] = 0.5;
        raw[Control::Hum as usize] = -1.0;
        let p = engine_params(&raw);
        assert_eq!(p.speech_strength_db, quell_core::engine::MAX_STRENGTH_DB);
        assert_eq!(p.listen, Listen::Removed);
        assert!(!p.hum_removal);
    }
}
