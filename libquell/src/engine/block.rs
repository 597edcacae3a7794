//! Adapts host blocks of any size to the fixed hop through lock-free ring buffers (one input and one
//! output FIFO per channel). The output FIFO starts with `hop - 1` zeros: exactly enough that a block
//! can always be answered in full, whatever its size, so output never depends on how the host splits
//! the stream.

use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

struct Fifo {
    prod: HeapProd<f32>,
    cons: HeapCons<f32>,
}

impl Fifo {
    fn new(cap: usize) -> Self {
        let (prod, cons) = HeapRb::<f32>::new(cap).split();
        Self { prod, cons }
    }

    fn clear(&mut self) {
        self.cons.clear();
    }
}

pub(crate) struct BlockAdapter {
    hop: usize,
    inputs: Vec<Fifo>,
    outputs: Vec<Fifo>,
}

impl BlockAdapter {
    pub fn new(hop: usize, channels: usize) -> Self {
        let mut s = Self {
            hop,
            inputs: (0..channels).map(|_| Fifo::new(4 * hop)).collect(),
            outputs: (0..channels).map(|_| Fifo::new(4 * hop)).collect(),
        };
        s.reset();
        s
    }

    pub fn reset(&mut self) {
        for f in &mut self.inputs {
            f.clear();
        }
        for f in &mut self.outputs {
            f.clear();
            for _ in 0..self.hop - 1 {
                let _ = f.prod.try_push(0.0);
            }
        }
    }

    /// At most one hop at a time (the engine feeds blocks in hop-sized pieces).
    pub fn push_input(&mut self, c: usize, samples: &[f32]) {
        let _ = self.inputs[c].prod.push_slice(samples);
    }

    pub fn push_silence(&mut self, c: usize, n: usize) {
        for _ in 0..n {
            let _ = self.inputs[c].prod.try_push(0.0);
        }
    }

    pub fn hop_ready(&self) -> bool {
        self.inputs[0].cons.occupied_len() >= self.hop
    }

    pub fn pop_hop(&mut self, c: usize, out: &mut [f32]) {
        let n = self.inputs[c].cons.pop_slice(out);
        out[n..].fill(0.0);
    }

    pub fn push_hop(&mut self, c: usize, samples: &[f32]) {
        let _ = self.outputs[c].prod.push_slice(samples);
    }

    pub fn pop_output(&mut self, c: usize, out: &mut [f32]) {
        let n = self.outputs[c].cons.pop_slice(out);
        // Unreachable by construction (see the module comment); silence beats stale data.
        out[n..].fill(0.0);
    }

    pub fn discard_output(&mut self, c: usize, n: usize) {
        self.outputs[c].cons.skip(n);
    }
}
