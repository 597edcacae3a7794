//! Model swaps without touching the audio thread's allocator: the loader thread builds a complete
//! `ModelInstance`, hands it over through a lock-free ring, and takes the old one back the same way to
//! drop it. The audio thread only pops and pushes pointers and reads one atomic.
//!
//! The mutexes here guard state shared by the loader thread and the editor only; the audio thread
//! never touches them.

use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use crate::engine::ModelInstance;
use crate::model::ModelWeights;

/// Which model: a bundled one by index, or the user's file at a given load generation (each
/// successful load bumps it, so loading a new file while "User file" is selected swaps it in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKey {
    Bundled(usize),
    User(u32),
}

pub struct Prepared {
    pub key: ModelKey,
    pub instance: Box<ModelInstance>,
}

/// What the editor shows about the user model file.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum UserModelStatus {
    #[default]
    None,
    Loaded {
        path: String,
        name: String,
        params: usize,
        macs_per_frame: usize,
    },
    Rejected {
        path: String,
        error: String,
    },
}

/// The background side, shared with the task executor and the editor.
pub struct Loader {
    pub weights: Vec<Arc<ModelWeights>>,
    user: Mutex<Option<Arc<ModelWeights>>>,
    user_generation: AtomicU32,
    status: Mutex<UserModelStatus>,
    ready_tx: Mutex<HeapProd<Prepared>>,
    trash_rx: Mutex<HeapCons<Box<ModelInstance>>>,
}

/// The audio side.
pub struct Receiver {
    ready_rx: HeapCons<Prepared>,
    trash_tx: HeapProd<Box<ModelInstance>>,
}

pub fn channel(weights: Vec<Arc<ModelWeights>>) -> (Arc<Loader>, Receiver) {
    let (ready_tx, ready_rx) = HeapRb::new(4).split();
    let (trash_tx, trash_rx) = HeapRb::new(8).split();
    (
        Arc::new(Loader {
            weights,
            user: Mutex::new(None),
            user_generation: AtomicU32::new(0),
            status: Mutex::new(UserModelStatus::None),
            ready_tx: Mutex::new(ready_tx),
            trash_rx: Mutex::new(trash_rx),
        }),
        Receiver { ready_rx, trash_tx },
    )
}

impl Loader {
    /// Audio thread safe (one atomic load): the generation of the current user model, 0 if none.
    pub fn user_generation(&self) -> u32 {
        self.user_generation.load(Ordering::Acquire)
    }

    /// Weights for `key`, if it names something loaded.
    pub fn weights_for(&self, key: ModelKey) -> Option<Arc<ModelWeights>> {
        match key {
            ModelKey::Bundled(i) => self.weights.get(i).cloned(),
            ModelKey::User(_) => self.user.lock().ok()?.clone(),
        }
    }

    pub fn status(&self) -> UserModelStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Off the audio thread: read and check a user's model file. On success it becomes the "User
    /// file" model; on failure the previous one (if any) stays and the error is kept for the editor.
    pub fn load_user_file(&self, path: &Path) -> Result<(), String> {
        let shown = path.display().to_string();
        let result = ModelWeights::load_user_file(path);
        let status = match &result {
            Ok(w) => UserModelStatus::Loaded {
                path: shown,
                name: w.name.clone(),
                params: w.parameter_count(),
                macs_per_frame: w.macs_per_frame(),
            },
            Err(e) => UserModelStatus::Rejected {
                path: shown,
                error: e.to_string(),
            },
        };
        if let Ok(mut s) = self.status.lock() {
            *s = status;
        }
        let w = result.map_err(|e| e.to_string())?;
        if let Ok(mut u) = self.user.lock() {
            *u = Some(Arc::new(w));
        }
        self.user_generation.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// Loader thread: build an instance of `key` and queue it for the audio thread.
    pub fn prepare(&self, key: ModelKey, sample_rate: f32, channels: usize) {
        let Some(w) = self.weights_for(key) else {
            return;
        };
        match ModelInstance::new(w, sample_rate, channels) {
            Ok(inst) => {
                if let Ok(mut tx) = self.ready_tx.lock() {
                    let _ = tx.try_push(Prepared {
                        key,
                        instance: Box::new(inst),
                    });
                }
            }
            Err(e) => nice_plug::nice_log!("quell: cannot prepare model {key:?}: {e}"),
        }
    }

    /// Loader thread: drop instances the audio thread has retired.
    pub fn collect_trash(&self) {
        if let Ok(mut rx) = self.trash_rx.lock() {
            while rx.try_pop().is_some() {}
        }
    }
}

impl Receiver {
    /// Audio thread: take a prepared instance, if any.
    pub fn take(&mut self) -> Option<Prepared> {
        self.ready_rx.try_pop()
    }

    /// Audio thread: hand a retired instance back for dropping. If the trash ring is full (the
    /// loader thread is far behind) the instance is leaked rather than freed here.
    pub fn retire(&mut self, old: Box<ModelInstance>) {
        if let Err(old) = self.trash_tx.try_push(old) {
            std::mem::forget(old);
        }
    }
}
