//! A model bound to a frame grid and a channel count, with all its per-channel state. Built (and
//! dropped) off the audio thread; the engine swaps whole instances.

use std::sync::Arc;

use crate::dsp::bands::BandMap;
use crate::dsp::features;
use crate::dsp::grid::FrameGrid;
use crate::model::{ModelWeights, NetState};

use super::room::TailLimits;

/// Fastest allowed gain drop per 5 ms hop (release limit against musical noise, −14 dB per hop).
/// Chosen on the development set: the first models gave PESQ-WB 1.727, 1.737, 1.744 at 0.77, 0.6,
/// 0.45; this round's standard (with its refinement head and spectral contrast) 1.871, 1.884, 1.892,
/// 1.894, 1.895 at 0.6, 0.45, 0.3, 0.2, 0.1, STOI and ESTOI rising with it (training/README.md,
/// "Spectral contrast and a faster release"). 0.2 keeps a limit where the gain has stopped growing.
pub const GAIN_DECAY_PER_HOP: f32 = 0.2;

pub struct ModelInstance {
    weights: Arc<ModelWeights>,
    grid: FrameGrid,
    bands: BandMap,
    states: Vec<NetState>,
    smoothed: Vec<Vec<f32>>,
    energies: Vec<f32>,
    features: Vec<f32>,
    raw: Vec<f32>,
    /// The reverb head's gains (unused for a model without one).
    room_raw: Vec<f32>,
    tail: TailLimits,
    floored: Vec<f32>,
    /// The refinement head's last per-bin factors per mask channel (empty without the head).
    refine: Vec<Vec<f32>>,
    /// The dry head's gains alone, smoothed like `smoothed`, per mask channel (empty without the
    /// refinement head): the refinement sharpens the direct sound, and the room's share (what
    /// `smoothed` keeps beyond these) is added after it.
    dry_smoothed: Vec<Vec<f32>>,
    /// The dry gains of the refined bins (scratch).
    dry_bins: Vec<f32>,
    /// The deep filter's coefficients per mask channel, gated by speech (empty without a filter):
    /// `2 * filter_order` values (re, im per tap) for each of the filtered bins.
    filter: Vec<Vec<f32>>,
    filter_order: usize,
    /// Release limit: the model's own, else [`GAIN_DECAY_PER_HOP`].
    decay: f32,
    /// The file's member network (`ModelWeights::member`, with its own members) with its own state,
    /// and scratch for its bin gains: every network hears the same input and the mean of their
    /// gains is applied.
    member: Option<(Box<ModelInstance>, Vec<f32>)>,
    /// This network's share of that mean: 1 / the number of networks from here down the chain.
    own_share: f32,
    /// Whether the next `run` steps the chain's networks last to first (see `run`).
    backwards_next: bool,
}

impl ModelInstance {
    pub fn new(
        weights: Arc<ModelWeights>,
        sample_rate: f32,
        channels: usize,
    ) -> Result<Self, String> {
        let grid = FrameGrid::for_rate(sample_rate)?;
        // This network's own features; a member is checked when its instance is built below.
        if weights.n_features != features::n_features(weights.feature_version, weights.n_bands) {
            return Err(format!(
                "model '{}' expects {} features but its {} bands give {}",
                weights.name,
                weights.n_features,
                weights.n_bands,
                features::n_features(weights.feature_version, weights.n_bands)
            ));
        }
        if channels == 0 {
            return Err("need at least one channel".into());
        }
        let bands = BandMap::new(&weights.band_edges_hz, &grid);
        let nb = weights.n_bands;
        // Bins the refinement head covers at this rate.
        let refined = weights
            .refine
            .as_ref()
            .map_or(0, |r| r.bins.min(grid.bins()));
        let member = match &weights.member {
            Some(m) => Some((
                Box::new(Self::new(m.clone(), sample_rate, channels)?),
                vec![0.0; grid.bins()],
            )),
            None => None,
        };
        // The deep filter: this network's, else the member's (the mean of both when both have one,
        // which must then be the same size).
        let own_filter = weights
            .deep_filter
            .as_ref()
            .map(|d| (d.bins.min(grid.bins()), d.order));
        let theirs = member
            .as_ref()
            .filter(|(m, _)| m.filter_order > 0)
            .map(|(m, _)| (m.filter[0].len() / (2 * m.filter_order), m.filter_order));
        let (filtered, filter_order) = match (own_filter, theirs) {
            (Some(a), Some(b)) if a != b => {
                return Err(format!(
                    "model '{}': its deep filter ({} bins, order {}) and its member's ({} bins, order {}) differ",
                    weights.name, a.0, a.1, b.0, b.1
                ));
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => (0, 0),
        };
        Ok(Self {
            filter: vec![identity_filter(filtered, filter_order); channels],
            filter_order,
            member,
            states: (0..channels).map(|_| NetState::new(&weights)).collect(),
            smoothed: vec![vec![0.0; nb]; channels],
            energies: vec![0.0; nb],
            features: vec![0.0; weights.n_features],
            raw: vec![0.0; nb],
            room_raw: vec![0.0; nb],
            tail: TailLimits::new(channels, nb, grid.hop as f32 / sample_rate),
            floored: vec![0.0; nb],
            refine: vec![vec![1.0; refined]; channels],
            dry_smoothed: vec![vec![0.0; if refined > 0 { nb } else { 0 }]; channels],
            dry_bins: vec![0.0; refined],
            decay: weights.gain_decay_per_hop.unwrap_or(GAIN_DECAY_PER_HOP),
            own_share: 1.0 / weights.network_count() as f32,
            backwards_next: false,
            bands,
            grid,
            weights,
        })
    }

    pub fn weights(&self) -> &Arc<ModelWeights> {
        &self.weights
    }

    pub fn grid(&self) -> FrameGrid {
        self.grid
    }

    pub fn channels(&self) -> usize {
        self.states.len()
    }

    pub fn reset(&mut self) {
        for c in 0..self.states.len() {
            self.reset_channel(c);
        }
    }

    pub fn reset_channel(&mut self, c: usize) {
        self.states[c].reset();
        self.smoothed[c].fill(0.0);
        self.tail.reset_channel(c);
        self.refine[c].fill(1.0);
        self.dry_smoothed[c].fill(0.0);
        set_identity(&mut self.filter[c], self.filter_order);
        if let Some((m, _)) = &mut self.member {
            m.reset_channel(c);
        }
    }

    pub fn is_finite(&self) -> bool {
        self.states.iter().all(NetState::is_finite)
            && self.member.as_ref().is_none_or(|(m, _)| m.is_finite())
    }

    /// The file's own network's smoothed band gains (a member's are not in them; the per-bin mean
    /// is what `bin_gains` gives).
    pub fn smoothed_gains(&self, c: usize) -> &[f32] {
        &self.smoothed[c]
    }

    /// The features of the last `run` (what the network read).
    pub fn features(&self) -> &[f32] {
        &self.features
    }

    /// The share of the engine's pitch comb this model takes: its file's `pitch_comb`, else all.
    pub fn comb_share(&self) -> f32 {
        self.weights.pitch_comb.unwrap_or(1.0)
    }

    /// Whether the features need the long-window power (`run`'s `long_power`).
    pub fn needs_long_window(&self) -> bool {
        features::needs_long_window(self.weights.feature_version)
            || self
                .member
                .as_ref()
                .is_some_and(|(m, _)| m.needs_long_window())
    }

    /// Whether the model has the reverb head, so `run`'s `room` does anything.
    pub fn has_reverb_head(&self) -> bool {
        self.weights.has_reverb_head()
    }

    /// Run the network on one frame's power spectrum (and long-window power, read only by feature
    /// version 2) for mask channel `c`; returns speech probability. `room` (0..1) is the share of
    /// the reverberation to keep: 0 is the dry head alone (direct sound and early reflections),
    /// 1 the reverb head (speech with its room); ignored by a model without the reverb head.
    /// With members, every network runs and the mean of their speech probabilities is returned.
    pub fn run(&mut self, c: usize, power: &[f32], long_power: &[f32], room: f32) -> f32 {
        // Every network streams all its weights each hop, and a chain's together can outgrow a
        // core's L2 cache (four `hq`-sized networks are 2.1 MB of halves). Stepping them in the
        // same order every hop then evicts each network's weights just before they are needed
        // again, so every one is read from L3; alternating the order reads first what was read
        // last. The networks are independent and their results are combined in one fixed order,
        // so the output is the same bits either way.
        let backwards = self.backwards_next;
        self.backwards_next = !backwards;
        self.run_chain(c, power, long_power, room, backwards)
    }

    /// [`Self::run`] with the order given: this network then its member's chain, or (`backwards`)
    /// the member's chain, last network first, then this one.
    fn run_chain(
        &mut self,
        c: usize,
        power: &[f32],
        long_power: &[f32],
        room: f32,
        backwards: bool,
    ) -> f32 {
        let mut theirs = None;
        if backwards && let Some((m, _)) = &mut self.member {
            theirs = Some(m.run_chain(c, power, long_power, room, true));
        }
        let own = self.run_own(c, power, long_power, room);
        match &mut self.member {
            Some((m, _)) => {
                let theirs = match theirs {
                    Some(t) => t,
                    None => m.run_chain(c, power, long_power, room, false),
                };
                // A network without a filter contributes the identity.
                if self.filter_order > 0 {
                    let mine = self.weights.deep_filter.is_some();
                    let id = |i: usize| {
                        if i.is_multiple_of(2 * self.filter_order) {
                            1.0
                        } else {
                            0.0
                        }
                    };
                    for (i, f) in self.filter[c].iter_mut().enumerate() {
                        let a = if mine { *f } else { id(i) };
                        let b = m
                            .filter
                            .get(c)
                            .and_then(|v| v.get(i))
                            .copied()
                            .unwrap_or(id(i));
                        *f = self.own_share * a + (1.0 - self.own_share) * b;
                    }
                }
                self.own_share * own + (1.0 - self.own_share) * theirs
            }
            None => own,
        }
    }

    /// The deep filter's coefficients for mask channel `c` after `run` and its order, or None for
    /// a model without one. Per filtered bin (as many as `coefficients.len() / (2 * order)`), per
    /// tap (0 = the current frame), re and im.
    pub fn deep_filter(&self, c: usize) -> Option<(&[f32], usize)> {
        (self.filter_order > 0).then(|| (self.filter[c].as_slice(), self.filter_order))
    }

    fn run_own(&mut self, c: usize, power: &[f32], long_power: &[f32], room: f32) -> f32 {
        self.bands.band_energies(power, &mut self.energies);
        features::compute(&self.energies, long_power, &mut self.features);
        let state = &mut self.states[c];
        let vad = state.step(&self.weights, &self.features, &mut self.raw);
        self.tail.track(c, &self.energies, &self.raw);
        release_limited(&mut self.dry_smoothed[c], &self.raw, self.decay);
        if room > 0.0 && state.reverb_gains(&self.weights, &mut self.room_raw) {
            self.tail.limit(c, &self.energies, &mut self.room_raw);
            // The room's share is what the reverb head keeps beyond the dry head; never less.
            for (g, &r) in self.raw.iter_mut().zip(&self.room_raw) {
                *g += room * (r - *g).max(0.0);
            }
        }
        release_limited(&mut self.smoothed[c], &self.raw, self.decay);
        if state.refine(&self.weights, &mut self.refine[c]) {
            // Only while the model hears speech: in pauses, single bins lifted above their band's
            // gain are heard as musical noise (ungated, PESQ-WB fell at +15/+20 dB).
            let v = if vad.is_finite() {
                vad.clamp(0.0, 1.0)
            } else {
                0.0
            };
            for r in &mut self.refine[c] {
                *r = if r.is_finite() {
                    1.0 + (*r - 1.0) * v
                } else {
                    1.0
                };
            }
        }
        if self.weights.deep_filter.is_some() {
            let f = &mut self.filter[c];
            if state.deep_filter(&self.weights, f) {
                // Like the refinement, only while the model hears speech; in pauses the gains
                // alone decide.
                let v = if vad.is_finite() {
                    vad.clamp(0.0, 1.0)
                } else {
                    0.0
                };
                let taps = 2 * self.filter_order;
                for (i, x) in f.iter_mut().enumerate() {
                    let d = if x.is_finite() { *x * v } else { 0.0 };
                    *x = if i % taps == 0 { 1.0 + d } else { d };
                }
            }
        }
        if vad.is_finite() { vad } else { 0.0 }
    }

    /// Per-bin gains for mask channel `c`, never below `floor` nor above 1. A model with the
    /// refinement head refines its lowest bins' dry gains and adds the room's share after. With a
    /// member, the mean of every network's gains (each floored and refined its own way).
    pub fn bin_gains(&mut self, c: usize, floor: f32, out: &mut [f32]) {
        self.own_bin_gains(c, floor, out);
        if let Some((m, theirs)) = &mut self.member {
            let theirs = &mut theirs[..out.len()];
            m.bin_gains(c, floor, theirs);
            // The member's gains are already the mean of its own chain. (For a pair, s = 0.5: the
            // same bits as 0.5 (g + t), as halving is exact.)
            let s = self.own_share;
            for (g, &t) in out.iter_mut().zip(theirs.iter()) {
                *g = s * *g + (1.0 - s) * t;
            }
        }
    }

    fn own_bin_gains(&mut self, c: usize, floor: f32, out: &mut [f32]) {
        for (f, &s) in self.floored.iter_mut().zip(&self.smoothed[c]) {
            *f = s.max(floor);
        }
        self.bands.interpolate(&self.floored, out);
        if self.refine[c].is_empty() {
            return;
        }
        for (f, &s) in self.floored.iter_mut().zip(&self.dry_smoothed[c]) {
            *f = s.max(floor);
        }
        let k = self.dry_bins.len().min(out.len());
        self.bands
            .interpolate(&self.floored, &mut self.dry_bins[..k]);
        // Dry gain d becomes d r' with r' = 1 + (r - 1)(1 - d): a bin moves within [d², d (2 - d)],
        // freely where its band says noise and hardly where the band gain is near 1 (clean speech
        // is left alone). Interpolation is linear, so `g - d` is exactly the room's share of the bin
        // (0 at full reverb reduction).
        for ((g, &d), &r) in out.iter_mut().zip(&self.dry_bins[..k]).zip(&self.refine[c]) {
            *g = (d * (1.0 + (r - 1.0) * (1.0 - d)) + (*g - d))
                .min(1.0)
                .max(floor);
        }
    }
}

/// Coefficients that leave `bins` bins as they are: 1 on tap 0, 0 elsewhere.
fn identity_filter(bins: usize, order: usize) -> Vec<f32> {
    let mut f = vec![0.0; 2 * order * bins];
    set_identity(&mut f, order);
    f
}

/// [`identity_filter`] in place (no allocation: the audio thread resets channels).
fn set_identity(f: &mut [f32], order: usize) {
    for (i, x) in f.iter_mut().enumerate() {
        *x = if i % (2 * order.max(1)) == 0 {
            1.0
        } else {
            0.0
        };
    }
}

/// Follow `gains` into `smoothed`, falling at most to `decay` of the last value per hop (a non-finite
/// gain counts as 1).
fn release_limited(smoothed: &mut [f32], gains: &[f32], decay: f32) {
    for (s, &g) in smoothed.iter_mut().zip(gains) {
        let g = if g.is_finite() { g } else { 1.0 };
        *s = g.max(*s * decay);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::bundled;

    #[test]
    fn a_member_adds_its_gains_and_speech_in_its_share_of_the_mean() {
        let hq = Arc::new(bundled::load("hq").unwrap());
        let member = hq.member.clone().expect("the bundled hq has a member");
        // The file's own network weighs 1/N of N networks; its member (itself a chain when N > 2)
        // the rest, so every network counts alike.
        let own = 1.0 / hq.network_count() as f32;
        let mut alone = (*hq).clone();
        alone.member = None;
        let mut both = ModelInstance::new(hq, 48_000.0, 1).unwrap();
        let mut a = ModelInstance::new(Arc::new(alone), 48_000.0, 1).unwrap();
        let mut b = ModelInstance::new(member, 48_000.0, 1).unwrap();
        assert!(both.needs_long_window());
        let bins = both.grid().bins();
        let long_bins = features::LONG_HOPS * both.grid().hop / 2 + 1;
        let (mut g, mut ga, mut gb) = (vec![0.0; bins], vec![0.0; bins], vec![0.0; bins]);
        let mut differ = 0.0f32;
        for t in 0..200 {
            // A voice-like comb with a moving pitch over a noise floor.
            let f0 = 1.2 + 0.4 * (t as f32 * 0.05).sin();
            let comb = |k: usize, width: f32| {
                let x = k as f32 / (width * f0);
                1e-6 + 1e-3 * (x * std::f32::consts::PI).cos().powi(8) / (1.0 + k as f32 * 0.05)
            };
            let power: Vec<f32> = (0..bins).map(|k| comb(k, 1.0)).collect();
            let long: Vec<f32> = (0..long_bins).map(|k| comb(k, 2.0)).collect();
            let v = both.run(0, &power, &long, 1.0);
            let (va, vb) = (a.run(0, &power, &long, 1.0), b.run(0, &power, &long, 1.0));
            assert!(
                (v - (own * va + (1.0 - own) * vb)).abs() < 1e-6,
                "hop {t}: {v} vs {va}, {vb}"
            );
            both.bin_gains(0, 0.01, &mut g);
            a.bin_gains(0, 0.01, &mut ga);
            b.bin_gains(0, 0.01, &mut gb);
            for k in 0..bins {
                assert!(
                    (g[k] - (own * ga[k] + (1.0 - own) * gb[k])).abs() < 1e-6,
                    "hop {t} bin {k}"
                );
                differ = differ.max((ga[k] - gb[k]).abs());
            }
        }
        // The own network and the member really disagree somewhere, so the mean is not one of them.
        assert!(differ > 0.05, "members agree everywhere ({differ})");
        both.reset();
        assert!(both.is_finite());
    }

    #[test]
    fn a_chain_of_members_weighs_every_network_alike() {
        // hq's own network, whose member (standard) has tiny as its member: three networks.
        let hq = bundled::load("hq").unwrap();
        let (standard, tiny) = (
            bundled::load("standard").unwrap(),
            bundled::load("tiny").unwrap(),
        );
        let mut own = hq.clone();
        own.member = None;
        let mut middle = standard.clone();
        middle.member = Some(Arc::new(tiny.clone()));
        let mut three = own.clone();
        three.member = Some(Arc::new(middle));
        assert_eq!(three.network_count(), 3);
        let mut all = ModelInstance::new(Arc::new(three), 48_000.0, 1).unwrap();
        let mut each: Vec<ModelInstance> = [own, standard, tiny]
            .into_iter()
            .map(|w| ModelInstance::new(Arc::new(w), 48_000.0, 1).unwrap())
            .collect();
        let bins = all.grid().bins();
        let long_bins = features::LONG_HOPS * all.grid().hop / 2 + 1;
        let mut g = vec![0.0; bins];
        let mut gs = vec![vec![0.0; bins]; 3];
        for t in 0..120 {
            let power: Vec<f32> = (0..bins)
                .map(|k| 1e-6 + 1e-3 * ((k as f32 * 0.4 + t as f32 * 0.3).sin()).powi(2))
                .collect();
            let long: Vec<f32> = (0..long_bins).map(|k| power[k / 2]).collect();
            let v = all.run(0, &power, &long, 1.0);
            let vs: Vec<f32> = each
                .iter_mut()
                .map(|m| m.run(0, &power, &long, 1.0))
                .collect();
            let mean_v = vs.iter().sum::<f32>() / 3.0;
            assert!((v - mean_v).abs() < 1e-5, "hop {t}: {v} vs {vs:?}");
            all.bin_gains(0, 0.01, &mut g);
            for (m, out) in each.iter_mut().zip(gs.iter_mut()) {
                m.bin_gains(0, 0.01, out);
            }
            for k in 0..bins {
                let mean = (gs[0][k] + gs[1][k] + gs[2][k]) / 3.0;
                assert!(
                    (g[k] - mean).abs() < 1e-5,
                    "hop {t} bin {k}: {} vs {mean}",
                    g[k]
                );
            }
        }
    }
}
