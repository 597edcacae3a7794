//! Model swaps without touching the audio thread's allocator: a background task builds a complete
//! `ModelInstance`, hands it over through a lock-free ring, and takes the old one back the same way to
//! drop it. The audio thread only pops and pushes pointers.

use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::sync::{Arc, Mutex};

use crate::engine::ModelInstance;
use crate::model::ModelWeights;

pub type Instance = Box<ModelInstance>;

/// The background side, shared with the task executor.
pub struct Loader {
    pub weights: Vec<Arc<ModelWeights>>,
    ready_tx: Mutex<HeapProd<Instance>>,
    trash_rx: Mutex<HeapCons<Instance>>,
}

/// The audio side.
pub struct Receiver {
    ready_rx: HeapCons<Instance>,
    trash_tx: HeapProd<Instance>,
}

pub fn channel(weights: Vec<Arc<ModelWeights>>) -> (Arc<Loader>, Receiver) {
    let (ready_tx, ready_rx) = HeapRb::new(4).split();
    let (trash_tx, trash_rx) = HeapRb::new(8).split();
    (
        Arc::new(Loader {
            weights,
            ready_tx: Mutex::new(ready_tx),
            trash_rx: Mutex::new(trash_rx),
        }),
        Receiver { ready_rx, trash_tx },
    )
}

impl Loader {
    /// Background thread: build an instance of bundled model `index` and queue it for the audio thread.
    pub fn prepare(&self, index: usize, sample_rate: f32, channels: usize) {
        self.collect_trash();
        let Some(w) = self.weights.get(index) else {
            return;
        };
        match ModelInstance::new(w.clone(), sample_rate, channels) {
            Ok(inst) => {
                if let Ok(mut tx) = self.ready_tx.lock() {
                    let _ = tx.try_push(Box::new(inst));
                }
            }
            Err(e) => nice_plug::nice_log!("quell: cannot prepare model {index}: {e}"),
        }
    }

    /// Background thread: drop instances the audio thread has retired.
    pub fn collect_trash(&self) {
        if let Ok(mut rx) = self.trash_rx.lock() {
            while rx.try_pop().is_some() {}
        }
    }
}

impl Receiver {
    /// Audio thread: take a prepared instance, if any.
    pub fn take(&mut self) -> Option<Instance> {
        self.ready_rx.try_pop()
    }

    /// Audio thread: hand a retired instance back for dropping. If the trash ring is full (the
    /// background thread is far behind) the instance is leaked rather than freed here.
    pub fn retire(&mut self, old: Instance) {
        if let Err(old) = self.trash_tx.try_push(old) {
            std::mem::forget(old);
        }
    }
}
