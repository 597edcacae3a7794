//! Frame-by-frame inference: dense -> recurrent stack (PyTorch `nn.GRU` or `nn.LSTM` equations) ->
//! band gains + VAD.

use super::activations::{sigmoid, sigmoid_in_place, tanh, tanh_in_place};
use super::linalg::matvec_bias;
#[cfg(target_arch = "x86_64")]
use super::linalg::{Kernel, active_kernel};
use super::weights::{Cell, ConvFrontEnd, ModelWeights, RefineHead};

/// Per-stream recurrent state and scratch, sized for one model; allocated off the audio thread.
#[derive(Debug, Clone)]
pub struct NetState {
    hidden: Vec<Vec<f32>>,
    /// LSTM cell state per layer (empty vectors for a GRU).
    cell: Vec<Vec<f32>>,
    /// The dense layer's input: the normalised features, then the front end's outputs (if any).
    x: Vec<f32>,
    /// The front end's input: its last `time` normalised frames, oldest first, each with `freq / 2`
    /// zeros either side (the features past either end of the vector), so that every tap's loop runs
    /// over whole frames with no tail left to scalar code. Zeros after a reset.
    conv_frames: Vec<f32>,
    dense: Vec<f32>,
    gi: Vec<f32>,
    gh: Vec<f32>,
    /// The refinement head's input (last hidden layer, then the normalised features) and its tanh
    /// layer (empty for a model without the head).
    refine_in: Vec<f32>,
    refine_mid: Vec<f32>,
    /// The deep filter head's tanh layer (empty without one); it reads `refine_in` too.
    filter_mid: Vec<f32>,
}

impl NetState {
    pub fn new(w: &ModelWeights) -> Self {
        let max_h = w.hidden_sizes().max().unwrap_or(0);
        let gates = w.cell.gates();
        let lstm = w.cell == Cell::Lstm;
        Self {
            hidden: w.hidden_sizes().map(|h| vec![0.0; h]).collect(),
            cell: w
                .hidden_sizes()
                .map(|h| vec![0.0; if lstm { h } else { 0 }])
                .collect(),
            x: vec![0.0; w.n_features * (1 + w.conv.as_ref().map_or(0, |c| c.channels))],
            conv_frames: vec![
                0.0;
                w.conv
                    .as_ref()
                    .map_or(0, |c| c.time * (w.n_features + 2 * (c.freq / 2)))
            ],
            dense: vec![0.0; w.dense],
            gi: vec![0.0; gates * max_h],
            gh: vec![0.0; gates * max_h],
            refine_in: if w.refine.is_some() || w.deep_filter.is_some() {
                vec![0.0; w.hidden_sizes().last().unwrap_or(w.dense) + w.n_features]
            } else {
                Vec::new()
            },
            refine_mid: vec![0.0; w.refine.as_ref().map_or(0, |r| r.hidden_size())],
            filter_mid: vec![0.0; w.deep_filter.as_ref().map_or(0, |d| d.net.hidden_size())],
        }
    }

    pub fn reset(&mut self) {
        for h in self.hidden.iter_mut().chain(&mut self.cell) {
            h.fill(0.0);
        }
        self.conv_frames.fill(0.0);
    }

    pub fn is_finite(&self) -> bool {
        // Asked every hop: a fold that does not stop early vectorises, `all` tests one by one.
        let finite = |v: &[f32]| v.iter().fold(true, |ok, x| ok & x.is_finite());
        self.hidden.iter().chain(&self.cell).all(|h| finite(h)) && finite(&self.conv_frames)
    }

    /// Run one frame. Writes `n_bands` gains in [0, 1] and returns the speech probability.
    pub fn step(&mut self, w: &ModelWeights, features: &[f32], gains: &mut [f32]) -> f32 {
        #[cfg(target_arch = "x86_64")]
        if active_kernel() == Kernel::Avx2Fma {
            // SAFETY: the CPU has AVX2 (checked by `active_kernel`).
            return unsafe { self.step_avx2(w, features, gains) };
        }
        self.step_body(w, features, gains)
    }

    /// [`Self::step`] compiled for AVX2: the front end's and the gates' element-wise loops run 8
    /// wide instead of the baseline's 4 (the front end was about a tenth of `tiny`'s CPU). Only
    /// "avx2", not "fma": without fused multiply-adds every element rounds as in the baseline
    /// build, so both give the same bits (the matrix products pick their kernel themselves).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn step_avx2(&mut self, w: &ModelWeights, features: &[f32], gains: &mut [f32]) -> f32 {
        self.step_body(w, features, gains)
    }

    #[inline(always)]
    fn step_body(&mut self, w: &ModelWeights, features: &[f32], gains: &mut [f32]) -> f32 {
        for (((x, f), m), s) in self
            .x
            .iter_mut()
            .zip(features)
            .zip(&w.feature_mean)
            .zip(&w.feature_inv_std)
        {
            *x = (f - m) * s;
        }
        if let Some(conv) = &w.conv {
            let (now, out) = self.x.split_at_mut(w.n_features);
            run_conv(conv, &mut self.conv_frames, now, out);
        }
        matvec_bias(&w.input_w, &w.input_b, &self.x, &mut self.dense);
        tanh_in_place(&mut self.dense);
        let gates = w.cell.gates();
        for (l, layer) in w.rnn.iter().enumerate() {
            let h = layer.hidden;
            let (before, rest) = self.hidden.split_at_mut(l);
            let input: &[f32] = if l == 0 { &self.dense } else { &before[l - 1] };
            let state = &mut rest[0];
            let gi = &mut self.gi[..gates * h];
            let gh = &mut self.gh[..gates * h];
            matvec_bias(&layer.w_ih, &layer.b_ih, input, gi);
            matvec_bias(&layer.w_hh, &layer.b_hh, state, gh);
            match w.cell {
                Cell::Gru => {
                    // r, z, n (nn.GRU): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)). One pass per
                    // step over whole slices, so each vectorises.
                    let (rz, n) = gi.split_at_mut(2 * h);
                    for (a, b) in rz.iter_mut().zip(&gh[..2 * h]) {
                        *a += b;
                    }
                    sigmoid_in_place(rz);
                    for ((n, r), hn) in n.iter_mut().zip(&rz[..h]).zip(&gh[2 * h..]) {
                        *n += r * hn;
                    }
                    tanh_in_place(n);
                    for ((s, z), n) in state.iter_mut().zip(&rz[h..]).zip(n.iter()) {
                        *s = (1.0 - z) * n + z * *s;
                    }
                }
                Cell::Lstm => {
                    // i, f, g, o (nn.LSTM): c' = f * c + i * g; h' = o * tanh(c').
                    let c = &mut self.cell[l];
                    for j in 0..h {
                        let i = sigmoid(gi[j] + gh[j]);
                        let f = sigmoid(gi[h + j] + gh[h + j]);
                        let g = tanh(gi[2 * h + j] + gh[2 * h + j]);
                        let o = sigmoid(gi[3 * h + j] + gh[3 * h + j]);
                        c[j] = f * c[j] + i * g;
                        state[j] = o * tanh(c[j]);
                    }
                }
            }
        }
        let last = self.hidden.last().map(Vec::as_slice).unwrap_or(&self.dense);
        matvec_bias(&w.gain_w, &w.gain_b, last, gains);
        sigmoid_in_place(gains);
        let mut vad = [0.0];
        matvec_bias(&w.vad_w, &w.vad_b, last, &mut vad);
        sigmoid(vad[0])
    }

    /// The reverb head's gains for the frame `step` just ran (same hidden state), in [0, 1]:
    /// what keeps the speech with its room. Returns false, leaving `out` alone, for a model
    /// without that head.
    pub fn reverb_gains(&self, w: &ModelWeights, out: &mut [f32]) -> bool {
        let Some(head) = &w.reverb else {
            return false;
        };
        let last = self.hidden.last().map(Vec::as_slice).unwrap_or(&self.dense);
        matvec_bias(&head.w, &head.b, last, out);
        sigmoid_in_place(out);
        true
    }

    /// The refinement head's per-bin factors for the frame `step` just ran, in [0, 2]: `out` gets
    /// `min(out.len(), bins)` of them. Returns false, leaving `out` alone, for a model without it.
    pub fn refine(&mut self, w: &ModelWeights, out: &mut [f32]) -> bool {
        let Some(head) = &w.refine else {
            return false;
        };
        self.fill_head_input();
        let n = out.len().min(head.bins);
        run_bin_head(head, &self.refine_in, &mut self.refine_mid, &mut out[..n]);
        sigmoid_in_place(&mut out[..n]);
        for r in &mut out[..n] {
            *r *= 2.0;
        }
        true
    }

    /// The deep filter's coefficients' departure from the identity for the frame `step` just ran,
    /// in [-1, 1] (`DeepFilterHead`'s order: bin, tap, re/im): `out` gets the first
    /// `min(out.len(), 2 * order * bins)`. Returns false, leaving `out` alone, for a model without it.
    pub fn deep_filter(&mut self, w: &ModelWeights, out: &mut [f32]) -> bool {
        let Some(head) = &w.deep_filter else {
            return false;
        };
        self.fill_head_input();
        let n = out.len().min(head.net.bins);
        run_bin_head(
            &head.net,
            &self.refine_in,
            &mut self.filter_mid,
            &mut out[..n],
        );
        tanh_in_place(&mut out[..n]);
        true
    }

    /// The per-bin heads' input: the last hidden layer, then the normalised features.
    fn fill_head_input(&mut self) {
        let last = self.hidden.last().unwrap_or(&self.dense);
        let (h, x) = self.refine_in.split_at_mut(last.len());
        h.copy_from_slice(last);
        x.copy_from_slice(&self.x[..x.len()]);
    }
}

/// The front end for one frame: `out[c F + j] = tanh(b[c] + sum over the kernel's frames and
/// neighbours of w * x)` with `now` the normalised frame (`F` values). `frames` holds the kernel's
/// frames padded with `freq / 2` zeros either side (see `NetState::conv_frames`): `now` joins them
/// first, then each tap adds `w * frame[j + df]` over the whole row. A padding zero adds only a zero,
/// so the sums are those of skipping the missing neighbours.
#[inline(always)]
fn run_conv(conv: &ConvFrontEnd, frames: &mut [f32], now: &[f32], out: &mut [f32]) {
    let (nf, kt, kf) = (now.len(), conv.time, conv.freq);
    let pw = nf + 2 * (kf / 2);
    frames.copy_within(pw.., 0);
    frames[(kt - 1) * pw + kf / 2..][..nf].copy_from_slice(now);
    for (c, (row, bias)) in out.chunks_exact_mut(nf).zip(&conv.b).enumerate() {
        row.fill(*bias);
        for (dt, frame) in frames.chunks_exact(pw).enumerate() {
            let taps = &conv.w[(c * kt + dt) * kf..(c * kt + dt + 1) * kf];
            for (df, &wt) in taps.iter().enumerate() {
                for (o, x) in row.iter_mut().zip(&frame[df..df + nf]) {
                    *o += wt * x;
                }
            }
        }
    }
    tanh_in_place(out);
}

/// A per-bin head's pre-activation outputs (its optional tanh layer into `mid`); rows past
/// `out.len()` (bins a low host rate lacks) are skipped.
fn run_bin_head(head: &RefineHead, input: &[f32], mid: &mut [f32], out: &mut [f32]) {
    let input: &[f32] = match &head.hidden {
        Some(m) => {
            matvec_bias(&m.w, &m.b, input, mid);
            tanh_in_place(mid);
            mid
        }
        None => input,
    };
    let (n, cols) = (out.len(), input.len());
    matvec_bias(
        head.out.w.view().prefix(n * cols),
        &head.out.b[..n],
        input,
        out,
    );
}
