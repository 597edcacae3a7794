//! The plugin's own loader thread: builds model instances the audio thread asks for, drops the ones
//! it retires, and reads user model files the editor asks for.
//!
//! Why not nice-plug's background tasks: in nice-plug 0.4.2 all instances share one worker thread,
//! and that thread exits when it meets a task whose instance is already gone; destroying the last
//! instance afterwards panics across the FFI boundary (clap-validator's fuzzer hit this, see
//! docs/validation.md). A thread per instance, joined on drop, has no such race.
//!
//! The audio thread only pushes small `Copy` requests into a lock-free ring; the worker polls it every
//! few milliseconds, so the audio thread never makes a syscall to wake it.

use ringbuf::traits::{Consumer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use super::handoff::{Loader, ModelKey};
use super::params::QuellParams;

/// How often the worker looks for requests (a model switch waits at most this long to start).
const POLL: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, Copy)]
pub struct Request {
    pub key: ModelKey,
    pub sample_rate: f32,
    pub channels: usize,
}

/// What the editor uses to ask for a user file.
#[derive(Default)]
pub struct FileRequests {
    path: Mutex<Option<PathBuf>>,
    thread: OnceLock<std::thread::Thread>,
}

impl FileRequests {
    /// GUI thread: read `path` on the worker (it may take a while for a big file).
    pub fn load(&self, path: PathBuf) {
        if let Ok(mut p) = self.path.lock() {
            *p = Some(path);
        }
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    fn take(&self) -> Option<PathBuf> {
        self.path.lock().ok().and_then(|mut p| p.take())
    }
}

/// Owns the thread; dropping it stops and joins the thread (off the audio thread: the plugin is
/// dropped by the host's main thread).
pub struct Worker {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    pub files: Arc<FileRequests>,
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(h) = self.handle.take() {
            h.thread().unpark();
            let _ = h.join();
        }
    }
}

/// Audio-thread end of the request ring.
pub struct Requester {
    tx: HeapProd<Request>,
}

impl Requester {
    /// Audio thread: never blocks or allocates; a full ring (eight pending) drops the request.
    pub fn request(&mut self, r: Request) -> bool {
        self.tx.try_push(r).is_ok()
    }
}

pub fn spawn(loader: Arc<Loader>, params: Arc<QuellParams>) -> (Worker, Requester) {
    let (tx, mut rx): (HeapProd<Request>, HeapCons<Request>) = HeapRb::new(8).split();
    let stop = Arc::new(AtomicBool::new(false));
    let files = Arc::new(FileRequests::default());
    let handle = {
        let stop = stop.clone();
        let files = files.clone();
        std::thread::Builder::new()
            .name("quell-loader".into())
            .spawn(move || {
                while !stop.load(Ordering::Acquire) {
                    while let Some(r) = rx.try_pop() {
                        loader.prepare(r.key, r.sample_rate, r.channels);
                    }
                    if let Some(path) = files.take()
                        && loader.load_user_file(&path).is_ok()
                        && let Ok(mut p) = params.user_model_path.write()
                    {
                        *p = Some(path.display().to_string());
                    }
                    loader.collect_trash();
                    std::thread::park_timeout(POLL);
                }
                loader.collect_trash();
            })
            .expect("cannot start Quell's loader thread")
    };
    let _ = files.thread.set(handle.thread().clone());
    (
        Worker {
            stop,
            handle: Some(handle),
            files,
        },
        Requester { tx },
    )
}
