//! Frame-by-frame inference: dense -> GRU stack (PyTorch `nn.GRU` equations) -> band gains + VAD.

use super::linalg::{matvec_bias, sigmoid};
use super::weights::ModelWeights;

/// Per-stream recurrent state and scratch, sized for one model; allocated off the audio thread.
#[derive(Debug, Clone)]
pub struct NetState {
    hidden: Vec<Vec<f32>>,
    x: Vec<f32>,
    dense: Vec<f32>,
    gi: Vec<f32>,
    gh: Vec<f32>,
}

impl NetState {
    pub fn new(w: &ModelWeights) -> Self {
        let max_h = w.hidden_sizes().max().unwrap_or(0);
        Self {
            hidden: w.hidden_sizes().map(|h| vec![0.0; h]).collect(),
            x: vec![0.0; w.n_features],
            dense: vec![0.0; w.dense],
            gi: vec![0.0; 3 * max_h],
            gh: vec![0.0; 3 * max_h],
        }
    }

    pub fn reset(&mut self) {
        for h in &mut self.hidden {
            h.fill(0.0);
        }
    }

    pub fn is_finite(&self) -> bool {
        self.hidden.iter().all(|h| h.iter().all(|x| x.is_finite()))
    }

    /// Run one frame. Writes `n_bands` gains in [0, 1] and returns the speech probability.
    pub fn step(&mut self, w: &ModelWeights, features: &[f32], gains: &mut [f32]) -> f32 {
        for (((x, f), m), s) in self
            .x
            .iter_mut()
            .zip(features)
            .zip(&w.feature_mean)
            .zip(&w.feature_inv_std)
        {
            *x = (f - m) * s;
        }
        matvec_bias(&w.input_w, &w.input_b, &self.x, &mut self.dense);
        for d in &mut self.dense {
            *d = d.tanh();
        }
        for (l, layer) in w.gru.iter().enumerate() {
            let h = layer.hidden;
            let (before, rest) = self.hidden.split_at_mut(l);
            let input: &[f32] = if l == 0 { &self.dense } else { &before[l - 1] };
            let state = &mut rest[0];
            let gi = &mut self.gi[..3 * h];
            let gh = &mut self.gh[..3 * h];
            matvec_bias(&layer.w_ih, &layer.b_ih, input, gi);
            matvec_bias(&layer.w_hh, &layer.b_hh, state, gh);
            for j in 0..h {
                let r = sigmoid(gi[j] + gh[j]);
                let z = sigmoid(gi[h + j] + gh[h + j]);
                let n = (gi[2 * h + j] + r * gh[2 * h + j]).tanh();
                state[j] = (1.0 - z) * n + z * state[j];
            }
        }
        let last = self.hidden.last().map(Vec::as_slice).unwrap_or(&self.dense);
        matvec_bias(&w.gain_w, &w.gain_b, last, gains);
        for g in gains.iter_mut() {
            *g = sigmoid(*g);
        }
        let mut vad = [0.0];
        matvec_bias(&w.vad_w, &w.vad_b, last, &mut vad);
        sigmoid(vad[0])
    }
}
