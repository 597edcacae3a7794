//! The denoising engine: host blocks of any size in, the same number of samples out, delayed by
//! exactly [`Engine::latency`] samples. Plain Rust; the plugin, the CLI, tests and benches all drive it.

mod block;
mod channel;
mod contrast;
mod gate;
pub(crate) mod harmonics;
mod instance;
mod params;
mod room;
mod speech;

pub use contrast::{DEFAULT_CONTRAST, MAX_CONTRAST};
pub use gate::{MAX_HOLD_MS, MAX_LOOKBACK_MS};
pub use harmonics::{DEFAULT_HARMONICS, MAX_HARMONICS};
pub use instance::ModelInstance;
pub use params::{EngineParams, Listen, MAX_REVERB_REDUCTION_DB, MAX_STRENGTH_DB, room_kept};
pub use speech::{ATTACK_MS as SPEECH_ATTACK_MS, RELEASE_MS as SPEECH_RELEASE_MS};

use realfft::num_complex::Complex;

use crate::dsp::denormal::FtzGuard;
use crate::dsp::grid::FrameGrid;
use crate::dsp::hum::HumRemover;
use block::BlockAdapter;
use channel::Channel;
use gate::Gate;
use params::Smoothed;
use speech::SpeechFollower;

/// Input samples beyond this magnitude (+60 dBFS) are corrupt data, like NaN/Inf: nothing legitimate
/// is that loud. They are replaced by silence, so garbage cannot linger in the network's memory.
pub const INPUT_LIMIT: f32 = 1000.0;
/// Hops over which a model swap crossfades the mask.
const SWAP_FADE_HOPS: usize = 20;

pub struct Engine {
    grid: FrameGrid,
    adapter: BlockAdapter,
    channels: Vec<Channel>,
    model: Box<ModelInstance>,
    params: EngineParams,
    smoothed: Smoothed,
    /// Mask at the moment of the last model swap, per channel, and hops left in the crossfade.
    fade_from: Vec<Vec<f32>>,
    fade_left: usize,
    // Scratch, sized at construction.
    mean_power: Vec<f32>,
    mean_long_power: Vec<f32>,
    bin_gains: Vec<f32>,
    /// Last speech probability per channel (for a VAD gate or a display).
    vad: Vec<f32>,
    gate: Gate,
    speech: SpeechFollower,
    hum: HumRemover,
    /// The channels' mean input for the hum detector (scratch).
    mono: Vec<f32>,
    /// Whether the hum remover ran last hop (it sleeps, costing nothing, while switched off).
    hum_awake: bool,
    /// Time-domain share of the hum the remover took out that goes back into the output (0 while
    /// processing and listening to the output, 1 bypassed or listening to what is removed), at
    /// the end of the last hop.
    hum_back: f32,
}

/// What one hop did, for a display: channel 0's input power spectrum and the spectral gain applied
/// to it (mask with strength floor, before mix and output gain), the speech probability (max over
/// channels) and the gate's gain. Borrowed from the engine's own buffers: observing never copies.
pub struct HopView<'a> {
    pub power: &'a [f32],
    pub mask: &'a [f32],
    pub speech: f32,
    pub gate_gain: f32,
    /// Channel 0's attenuation limit in force (dB): between Speech Strength and Strength.
    pub limit_db: f32,
}

/// Called once per hop by [`Engine::process_observed`], on the audio thread: must not block.
pub trait HopObserver {
    fn hop(&mut self, view: &HopView<'_>);
}

impl HopObserver for () {
    fn hop(&mut self, _: &HopView<'_>) {}
}

impl Engine {
    /// Builds an engine for `n_channels` at `sample_rate`. Allocates; call off the audio thread.
    pub fn new(model: Box<ModelInstance>, params: EngineParams) -> Self {
        let grid = model.grid();
        let n_channels = model.channels();
        let bins = grid.bins();
        Self {
            grid,
            adapter: BlockAdapter::new(grid.hop, n_channels),
            channels: (0..n_channels).map(|_| Channel::new(grid)).collect(),
            model,
            smoothed: Smoothed::snapped(&params),
            params,
            fade_from: vec![vec![1.0; bins]; n_channels],
            fade_left: 0,
            mean_power: vec![0.0; bins],
            mean_long_power: vec![0.0; crate::dsp::features::LONG_HOPS * grid.hop / 2 + 1],
            bin_gains: vec![0.0; bins],
            vad: vec![0.0; n_channels],
            gate: Gate::new(grid, n_channels),
            speech: SpeechFollower::new(grid, n_channels),
            hum: HumRemover::new(grid, n_channels),
            mono: vec![0.0; grid.hop],
            hum_awake: false,
            hum_back: 0.0,
        }
    }

    pub fn grid(&self) -> FrameGrid {
        self.grid
    }

    pub fn channels(&self) -> usize {
        self.channels.len()
    }

    /// Samples between an input sample and its processed output: the STFT's, plus the gate's
    /// retroactive grace (it changes with the parameters).
    pub fn latency(&self) -> usize {
        self.grid.latency() + self.gate.lookback_hops(&self.params) * self.grid.hop
    }

    pub fn model(&self) -> &ModelInstance {
        &self.model
    }

    pub fn params(&self) -> &EngineParams {
        &self.params
    }

    /// New parameter targets; they are smoothed per hop (no zipper noise).
    pub fn set_params(&mut self, params: EngineParams) {
        self.params = params.sanitized();
    }

    pub fn vad(&self) -> &[f32] {
        &self.vad
    }

    /// Largest change of the attenuation limit in one hop, in dB, for the current parameters
    /// (the speech follower's attack applied to the distance between the two limits).
    pub fn max_limit_step_db(&self) -> f32 {
        let p = &self.params;
        (p.strength_db - p.speech_strength_db.min(p.strength_db)) * self.speech.max_step()
    }

    /// Tones the hum remover is notching now: (frequency in Hz, depth 0..1).
    pub fn hum_tones(&self) -> impl Iterator<Item = (f32, f32)> + '_ {
        self.hum.tones()
    }

    /// Band gains the model's own network gave in the last hop, per channel (before strength and mix;
    /// a file's member network is not in them).
    pub fn band_gains(&self, channel: usize) -> &[f32] {
        self.model.smoothed_gains(channel)
    }

    /// Swap in a model prepared off the audio thread (same grid and channel count). Returns the old
    /// one so the caller can drop it off the audio thread. Never allocates.
    pub fn swap_model(
        &mut self,
        new: Box<ModelInstance>,
    ) -> Result<Box<ModelInstance>, Box<ModelInstance>> {
        if new.grid() != self.grid || new.channels() != self.channels.len() {
            return Err(new);
        }
        for (from, ch) in self.fade_from.iter_mut().zip(&self.channels) {
            from.copy_from_slice(&ch.last_bin_gains);
        }
        self.fade_left = SWAP_FADE_HOPS;
        Ok(std::mem::replace(&mut self.model, new))
    }

    /// Clears every piece of state: buffers, recurrent state, smoothing.
    pub fn reset(&mut self) {
        self.adapter.reset();
        for ch in &mut self.channels {
            ch.reset();
        }
        self.model.reset();
        self.smoothed = Smoothed::snapped(&self.params);
        self.fade_left = 0;
        self.vad.fill(0.0);
        self.gate.reset(&self.params);
        self.speech.reset();
        self.hum.reset();
        self.hum_awake = false;
        self.hum_back = 1.0 - self.smoothed.active * (1.0 - self.smoothed.listen);
    }

    /// Process one host block in place. `buffers` holds one slice per channel, all the same length
    /// (any length, including 0). Channels beyond the engine's count are left untouched.
    pub fn process(&mut self, buffers: &mut [&mut [f32]]) {
        self.process_observed(buffers, &mut ());
    }

    /// [`Engine::process`], calling `observer` once per hop with what the hop did.
    pub fn process_observed(
        &mut self,
        buffers: &mut [&mut [f32]],
        observer: &mut impl HopObserver,
    ) {
        let _ftz = FtzGuard::new();
        let n = buffers.iter().map(|b| b.len()).min().unwrap_or(0);
        let used = buffers.len().min(self.channels.len());
        let hop = self.grid.hop;
        let mut pos = 0;
        while pos < n {
            let len = (n - pos).min(hop);
            for (c, buf) in buffers.iter().take(used).enumerate() {
                self.adapter.push_input(c, &buf[pos..pos + len]);
            }
            // Channels the host did not give us still advance, on silence.
            for c in used..self.channels.len() {
                self.adapter.push_silence(c, len);
            }
            while self.adapter.hop_ready() {
                self.process_hop(observer);
            }
            for (c, buf) in buffers.iter_mut().take(used).enumerate() {
                self.adapter.pop_output(c, &mut buf[pos..pos + len]);
            }
            for c in used..self.channels.len() {
                self.adapter.discard_output(c, len);
            }
            pos += len;
        }
    }

    fn process_hop(&mut self, observer: &mut impl HopObserver) {
        self.smoothed.step(&self.params);
        let s = self.smoothed;
        let n_ch = self.channels.len();
        let long = self.model.needs_long_window();
        let room = params::room_kept(s.reverb_reduction_db);
        for (c, ch) in self.channels.iter_mut().enumerate() {
            self.adapter.pop_hop(c, &mut ch.hop_in);
            ch.sanitise();
        }
        self.remove_hum(s.hum);
        for ch in &mut self.channels {
            ch.analyse(long);
        }
        let link = self.params.stereo_link && n_ch > 1;
        if link {
            self.mean_power.fill(0.0);
            self.mean_long_power.fill(0.0);
            for ch in &self.channels {
                for (m, p) in self.mean_power.iter_mut().zip(&ch.power) {
                    *m += p / n_ch as f32;
                }
                for (m, p) in self.mean_long_power.iter_mut().zip(&ch.long_power) {
                    *m += p / n_ch as f32;
                }
            }
            let v = self
                .model
                .run(0, &self.mean_power, &self.mean_long_power, room);
            self.vad.fill(v);
        } else {
            for (c, ch) in self.channels.iter().enumerate() {
                self.vad[c] = self.model.run(c, &ch.power, &ch.long_power, room);
            }
        }

        self.speech.step(&self.vad);
        let fade = if self.fade_left > 0 {
            self.fade_left -= 1;
            Some(self.fade_left as f32 / SWAP_FADE_HOPS as f32)
        } else {
            None
        };
        for c in 0..n_ch {
            let mask_ch = if link { 0 } else { c };
            let floor = s.floor_gain(self.speech.level(c));
            self.model.bin_gains(mask_ch, floor, &mut self.bin_gains);
            // The mask's own input: a linked mask is sharpened against the channels' mean power,
            // so every channel gets the same gains.
            let power = if link {
                &self.mean_power
            } else {
                &self.channels[c].power
            };
            contrast::sharpen(&mut self.bin_gains, power, s.contrast, floor);
            let ch = &mut self.channels[c];
            if let Some(old_weight) = fade {
                for (g, f) in self.bin_gains.iter_mut().zip(&self.fade_from[c]) {
                    *g = *g * (1.0 - old_weight) + f * old_weight;
                }
            }
            ch.last_bin_gains.copy_from_slice(&self.bin_gains);
            // The comb sees the unmasked spectrum; pauses are never combed.
            let comb = s.harmonics * self.model.comb_share();
            let combed = comb > 0.0 && ch.prepare_comb(&self.bin_gains, comb * self.vad[c]);
            // Mix, listen, output gain and bypass are linear, so they fold into the spectral gain:
            // the dry path is the same STFT at unit gain, already delay-aligned. What is removed
            // is the dry minus the kept part, before output gain, so kept + removed is exactly
            // the dry.
            for g in self.bin_gains.iter_mut() {
                let kept = s.mix * *g + (1.0 - s.mix);
                let heard = kept * s.output_gain * (1.0 - s.listen) + (1.0 - kept) * s.listen;
                *g = s.active * heard + (1.0 - s.active);
            }
            let spec: &mut [Complex<f32>] = &mut ch.spec;
            for (x, g) in spec.iter_mut().zip(&self.bin_gains) {
                *x *= *g;
            }
            // The fold above is linear in the mask: (wet g + dry) X.
            let wet = s.active * s.mix * (s.output_gain * (1.0 - s.listen) - s.listen);
            if combed {
                ch.apply_comb(wet);
            }
            if let Some((coefs, order)) = self.model.deep_filter(mask_ch) {
                ch.deep_filter(coefs, order, wet);
            }
            if !ch.synthesise() {
                // Should be unreachable with clipped input; never let it stick.
                self.model.reset_channel(mask_ch);
            }
        }
        self.restore_hum(1.0 - s.active * (1.0 - s.listen));
        let speech = self.vad.iter().fold(0.0f32, |m, &v| m.max(v));
        // The gate silences the output, not what is removed: it steps aside while listening to
        // the removed signal, as it does in bypass.
        self.gate.process(
            &self.params,
            speech,
            s.active * (1.0 - s.listen),
            self.channels.iter_mut().map(|ch| &mut ch.hop_out),
        );
        for (c, ch) in self.channels.iter().enumerate() {
            self.adapter.push_hop(c, &ch.hop_out);
        }
        if !self.model.is_finite() {
            self.model.reset();
        }
        let ch0 = &self.channels[0];
        observer.hop(&HopView {
            power: &ch0.power,
            mask: &ch0.last_bin_gains,
            speech,
            gate_gain: self.gate.gain(),
            limit_db: s.strength_db + (s.speech_strength_db - s.strength_db) * self.speech.level(0),
        });
    }

    /// Notch hum and steady tones out of every channel's sanitised input hop, keeping what was
    /// taken out for `restore_hum`. Asleep (no cost) while switched off and faded out.
    fn remove_hum(&mut self, amount: f32) {
        if amount == 0.0 && !self.hum.busy() {
            if self.hum_awake {
                self.hum.reset();
                self.hum_awake = false;
            }
            for ch in &mut self.channels {
                ch.hum_now.fill(0.0);
            }
            return;
        }
        self.hum_awake = true;
        let scale = 1.0 / self.channels.len() as f32;
        self.mono.fill(0.0);
        for ch in &self.channels {
            for (m, x) in self.mono.iter_mut().zip(&ch.hop_in) {
                *m += x * scale;
            }
        }
        self.hum.update(&self.mono, amount);
        for (c, ch) in self.channels.iter_mut().enumerate() {
            self.hum.process(c, &mut ch.hop_in, &mut ch.hum_now);
        }
    }

    /// Add the share `back` (ramped from the last hop's) of the hum removed one hop ago, which
    /// lines up with this hop's output, back into it: none while processing, all of it bypassed
    /// or when listening to what is removed.
    fn restore_hum(&mut self, back: f32) {
        let from = self.hum_back;
        self.hum_back = back;
        let hop = self.grid.hop as f32;
        for ch in &mut self.channels {
            if ch.hum_then_live && (from > 0.0 || back > 0.0) {
                for (i, (y, h)) in ch.hop_out.iter_mut().zip(&ch.hum_then).enumerate() {
                    *y += (from + (back - from) * (i + 1) as f32 / hop) * h;
                }
            }
            std::mem::swap(&mut ch.hum_then, &mut ch.hum_now);
            ch.hum_then_live = ch.hum_then.iter().any(|&h| h != 0.0);
        }
    }
}
