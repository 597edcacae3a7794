//! Host-level tests of the built CLAP plugin, through a small CLAP host written on `clap-sys`.
//!
//! These tests load the plugin binary the way a DAW does (dlopen + `clap_entry`), so they test
//! what ships, wrapper included, rather than the engine in-process. Which binary:
//!
//! 1. `$QUELL_CLAP`, if set;
//! 2. else `target/bundled/Quell.clap` (from `cargo xtask bundle quell`), if it exists;
//! 3. else `target/debug/libquell.so` (from `cargo build --lib`; `cargo test` also builds it).
//!
//! The allocation test (`process_never_allocates`) only means something against a debug build with
//! the `assert_process_allocs` feature, so run these tests as
//!
//! ```text
//! cargo test --features assert_process_allocs --test clap_host
//! ```
//!
//! (which also rebuilds `target/debug/libquell.so` with the feature). It fails, saying so, when the
//! loaded binary lacks the feature.
//!
//! Threads: the test thread that creates an instance is its main thread; audio runs on a separate
//! thread while the main thread services `request_callback` (as a host's event loop would), and the
//! host's thread-check extension answers from a thread-local role.

#![allow(clippy::missing_safety_doc)]

use std::cell::Cell;
use std::ffi::{CStr, CString, c_char, c_void};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::ptr::{null, null_mut};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use clap_sys::audio_buffer::clap_audio_buffer;
use clap_sys::entry::clap_plugin_entry;
use clap_sys::events::{
    CLAP_CORE_EVENT_SPACE_ID, CLAP_EVENT_PARAM_VALUE, clap_event_header, clap_event_param_value,
    clap_input_events, clap_output_events,
};
use clap_sys::ext::audio_ports::{
    CLAP_AUDIO_PORT_IS_MAIN, CLAP_EXT_AUDIO_PORTS, clap_audio_port_info, clap_plugin_audio_ports,
};
use clap_sys::ext::audio_ports_config::{
    CLAP_EXT_AUDIO_PORTS_CONFIG, clap_audio_ports_config, clap_plugin_audio_ports_config,
};
use clap_sys::ext::latency::{CLAP_EXT_LATENCY, clap_host_latency, clap_plugin_latency};
use clap_sys::ext::params::{
    CLAP_EXT_PARAMS, CLAP_PARAM_IS_BYPASS, clap_host_params, clap_param_clear_flags,
    clap_param_info, clap_param_rescan_flags, clap_plugin_params,
};
use clap_sys::ext::state::{CLAP_EXT_STATE, clap_host_state, clap_plugin_state};
use clap_sys::ext::thread_check::{CLAP_EXT_THREAD_CHECK, clap_host_thread_check};
use clap_sys::factory::plugin_factory::{CLAP_PLUGIN_FACTORY_ID, clap_plugin_factory};
use clap_sys::host::clap_host;
use clap_sys::id::clap_id;
use clap_sys::plugin::clap_plugin;
use clap_sys::process::{CLAP_PROCESS_ERROR, clap_process};
use clap_sys::stream::{clap_istream, clap_ostream};
use clap_sys::version::{CLAP_VERSION, clap_version_is_compatible};

const PLUGIN_ID: &str = "org.quell.denoiser";

/// Set in the environment of the child processes the allocation test spawns.
const CHILD_ENV: &str = "QUELL_HOST_TEST_CHILD";
/// The plugin's test hook: `process()` allocates on purpose when set at instance creation.
const PLANT_ENV: &str = "QUELL_TEST_PLANT_ALLOC";

// ---------------------------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------------------------

fn plugin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("QUELL_CLAP") {
        let p = PathBuf::from(p);
        assert!(
            p.is_file(),
            "QUELL_CLAP={} does not name a file",
            p.display()
        );
        return p;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bundled = root.join("target/bundled/Quell.clap");
    let debug_so = root.join("target/debug/libquell.so");
    if bundled.is_file() {
        // The bundle is not rebuilt by `cargo test`: say so when it is older than the dylib.
        let mtime = |p: &Path| std::fs::metadata(p).and_then(|m| m.modified()).ok();
        if let (Some(b), Some(d)) = (mtime(&bundled), mtime(&debug_so))
            && b < d
        {
            eprintln!(
                "warning: {} is older than {}; re-run `cargo xtask bundle quell --features \
                 assert_process_allocs` or set QUELL_CLAP",
                bundled.display(),
                debug_so.display()
            );
        }
        return bundled;
    }
    if debug_so.is_file() {
        return debug_so;
    }
    panic!(
        "no CLAP plugin binary to test: set QUELL_CLAP, or build one with `cargo build --lib \
         --features assert_process_allocs` (gives {}) or `cargo xtask bundle quell --features \
         assert_process_allocs` (gives {})",
        debug_so.display(),
        bundled.display()
    );
}

struct Loaded {
    path: PathBuf,
    entry: &'static clap_plugin_entry,
    factory: &'static clap_plugin_factory,
    /// Never unloaded: Rust dylibs with thread-locals and a worker thread do not survive dlclose.
    _lib: &'static libloading::Library,
}

/// dlopen the plugin, `clap_entry.init` it once per process, and get its plugin factory.
fn loaded() -> &'static Loaded {
    static LOADED: OnceLock<Loaded> = OnceLock::new();
    LOADED.get_or_init(|| {
        let path = plugin_path();
        eprintln!("loading CLAP plugin {}", path.display());
        let lib: &'static libloading::Library = Box::leak(Box::new(
            unsafe { libloading::Library::new(&path) }
                .unwrap_or_else(|e| panic!("cannot dlopen {}: {e}", path.display())),
        ));
        let entry: &'static clap_plugin_entry = unsafe {
            let sym = lib
                .get::<*const clap_plugin_entry>(b"clap_entry\0")
                .unwrap_or_else(|e| panic!("{} exports no clap_entry: {e}", path.display()));
            &**sym
        };
        assert!(
            clap_version_is_compatible(entry.clap_version),
            "incompatible CLAP version {:?}",
            entry.clap_version
        );
        let cpath = CString::new(path.to_string_lossy().as_bytes()).unwrap();
        assert!(
            unsafe { (entry.init.unwrap())(cpath.as_ptr()) },
            "clap_entry.init failed"
        );
        let factory = unsafe { (entry.get_factory.unwrap())(CLAP_PLUGIN_FACTORY_ID.as_ptr()) }
            as *const clap_plugin_factory;
        assert!(!factory.is_null(), "no plugin factory");
        Loaded {
            path,
            entry,
            factory: unsafe { &*factory },
            _lib: lib,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// The host side
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Other,
    Main,
    Audio,
}

thread_local! {
    static ROLE: Cell<Role> = const { Cell::new(Role::Other) };
}

fn role() -> Role {
    ROLE.with(|r| r.get())
}

/// What the plugin told the host. One per instance, behind `clap_host::host_data`.
#[derive(Default)]
struct HostState {
    callback_requested: AtomicBool,
    restart_requests: AtomicU32,
    process_requests: AtomicU32,
    latency_changed: AtomicU32,
    params_rescans: AtomicU32,
    flush_requests: AtomicU32,
    /// Host functions the CLAP spec reserves for the main thread, called from another.
    thread_violations: AtomicU32,
}

/// `clap_host` must stay put while the plugin lives: boxed, `host_data` pointing at `state`.
struct HostBox {
    host: clap_host,
    state: HostState,
}

unsafe fn host_state<'a>(host: *const clap_host) -> &'a HostState {
    unsafe { &*((*host).host_data as *const HostState) }
}

fn note_main_thread_only(state: &HostState, what: &str) {
    if role() != Role::Main {
        state.thread_violations.fetch_add(1, Ordering::SeqCst);
        eprintln!(
            "host: plugin called {what} from a non-main thread ({:?})",
            role()
        );
    }
}

unsafe extern "C" fn host_get_extension(
    _host: *const clap_host,
    id: *const c_char,
) -> *const c_void {
    let id = unsafe { CStr::from_ptr(id) };
    if id == CLAP_EXT_THREAD_CHECK {
        &HOST_THREAD_CHECK as *const _ as *const c_void
    } else if id == CLAP_EXT_LATENCY {
        &HOST_LATENCY as *const _ as *const c_void
    } else if id == CLAP_EXT_PARAMS {
        &HOST_PARAMS as *const _ as *const c_void
    } else if id == CLAP_EXT_STATE {
        &HOST_STATE as *const _ as *const c_void
    } else {
        null()
    }
}

unsafe extern "C" fn host_request_restart(host: *const clap_host) {
    unsafe { host_state(host) }
        .restart_requests
        .fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn host_request_process(host: *const clap_host) {
    unsafe { host_state(host) }
        .process_requests
        .fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn host_request_callback(host: *const clap_host) {
    unsafe { host_state(host) }
        .callback_requested
        .store(true, Ordering::SeqCst);
}

unsafe extern "C" fn host_is_main_thread(_host: *const clap_host) -> bool {
    role() == Role::Main
}

unsafe extern "C" fn host_is_audio_thread(_host: *const clap_host) -> bool {
    role() == Role::Audio
}

unsafe extern "C" fn host_latency_changed(host: *const clap_host) {
    let s = unsafe { host_state(host) };
    note_main_thread_only(s, "latency.changed");
    s.latency_changed.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn host_params_rescan(host: *const clap_host, _flags: clap_param_rescan_flags) {
    let s = unsafe { host_state(host) };
    note_main_thread_only(s, "params.rescan");
    s.params_rescans.fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn host_params_clear(
    host: *const clap_host,
    _id: clap_id,
    _f: clap_param_clear_flags,
) {
    note_main_thread_only(unsafe { host_state(host) }, "params.clear");
}

unsafe extern "C" fn host_params_request_flush(host: *const clap_host) {
    unsafe { host_state(host) }
        .flush_requests
        .fetch_add(1, Ordering::SeqCst);
}

unsafe extern "C" fn host_state_mark_dirty(host: *const clap_host) {
    note_main_thread_only(unsafe { host_state(host) }, "state.mark_dirty");
}

static HOST_THREAD_CHECK: clap_host_thread_check = clap_host_thread_check {
    is_main_thread: Some(host_is_main_thread),
    is_audio_thread: Some(host_is_audio_thread),
};
static HOST_LATENCY: clap_host_latency = clap_host_latency {
    changed: Some(host_latency_changed),
};
static HOST_PARAMS: clap_host_params = clap_host_params {
    rescan: Some(host_params_rescan),
    clear: Some(host_params_clear),
    request_flush: Some(host_params_request_flush),
};
static HOST_STATE: clap_host_state = clap_host_state {
    mark_dirty: Some(host_state_mark_dirty),
};

// Event lists. `ctx` points at the Vec; a `clap_event_param_value` starts with its header.

unsafe extern "C" fn in_events_size(list: *const clap_input_events) -> u32 {
    unsafe { (*((*list).ctx as *const Vec<clap_event_param_value>)).len() as u32 }
}

unsafe extern "C" fn in_events_get(
    list: *const clap_input_events,
    index: u32,
) -> *const clap_event_header {
    let events = unsafe { &*((*list).ctx as *const Vec<clap_event_param_value>) };
    match events.get(index as usize) {
        Some(e) => &e.header,
        None => null(),
    }
}

unsafe extern "C" fn out_events_try_push(
    list: *const clap_output_events,
    _e: *const clap_event_header,
) -> bool {
    unsafe { (*((*list).ctx as *const AtomicU32)).fetch_add(1, Ordering::Relaxed) };
    true
}

// State streams. The input stream hands out at most 61 bytes per read, to exercise partial reads.

unsafe extern "C" fn ostream_write(
    stream: *const clap_ostream,
    buffer: *const c_void,
    size: u64,
) -> i64 {
    let out = unsafe { &mut *((*stream).ctx as *mut Vec<u8>) };
    out.extend_from_slice(unsafe {
        std::slice::from_raw_parts(buffer as *const u8, size as usize)
    });
    size as i64
}

struct ReadCursor<'a> {
    data: &'a [u8],
    pos: usize,
}

unsafe extern "C" fn istream_read(
    stream: *const clap_istream,
    buffer: *mut c_void,
    size: u64,
) -> i64 {
    let cur = unsafe { &mut *((*stream).ctx as *mut ReadCursor) };
    let n = (cur.data.len() - cur.pos).min(size as usize).min(61);
    unsafe { std::ptr::copy_nonoverlapping(cur.data[cur.pos..].as_ptr(), buffer as *mut u8, n) };
    cur.pos += n;
    n as i64
}

// ---------------------------------------------------------------------------------------------
// A plugin instance
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct Param {
    id: clap_id,
    name: String,
    flags: u32,
    min: f64,
    max: f64,
    default: f64,
}

/// A parameter change: CLAP value (nice-plug: normalized, times the step count for stepped params).
#[derive(Clone, Copy, Debug)]
struct ParamChange {
    id: clap_id,
    value: f64,
    /// Sample offset inside the block.
    time: u32,
}

fn param_event(c: ParamChange) -> clap_event_param_value {
    clap_event_param_value {
        header: clap_event_header {
            size: std::mem::size_of::<clap_event_param_value>() as u32,
            time: c.time,
            space_id: CLAP_CORE_EVENT_SPACE_ID,
            type_: CLAP_EVENT_PARAM_VALUE,
            flags: 0,
        },
        param_id: c.id,
        cookie: null_mut(),
        note_id: -1,
        port_index: -1,
        channel: -1,
        key: -1,
        value: c.value,
    }
}

struct Instance {
    host: Box<HostBox>,
    plugin: *const clap_plugin,
    params_ext: &'static clap_plugin_params,
    latency_ext: &'static clap_plugin_latency,
    state_ext: &'static clap_plugin_state,
    ports_config_ext: &'static clap_plugin_audio_ports_config,
    ports_ext: &'static clap_plugin_audio_ports,
    params: Vec<Param>,
    channels: usize,
    active: bool,
    steady_time: Cell<i64>,
    out_event_count: AtomicU32,
}

// The plugin is driven from a main thread and an audio thread as the CLAP spec allows; `process`,
// `start_processing`, `stop_processing` and `reset` take `&self` for the audio thread.
unsafe impl Sync for Instance {}
unsafe impl Send for Instance {}

macro_rules! call {
    ($obj:expr, $f:ident $(, $arg:expr)*) => {
        unsafe { ($obj.$f.expect(concat!(stringify!($f), " is null")))($($arg),*) }
    };
}

impl Instance {
    /// Create and `init` an instance; the calling thread becomes its main thread.
    fn new() -> Self {
        ROLE.with(|r| r.set(Role::Main));
        let loaded = loaded();
        let mut host = Box::new(HostBox {
            host: clap_host {
                clap_version: CLAP_VERSION,
                host_data: null_mut(),
                name: c"quell-test-host".as_ptr(),
                vendor: c"quell".as_ptr(),
                url: c"https://example.invalid".as_ptr(),
                version: c"0.1".as_ptr(),
                get_extension: Some(host_get_extension),
                request_restart: Some(host_request_restart),
                request_process: Some(host_request_process),
                request_callback: Some(host_request_callback),
            },
            state: HostState::default(),
        });
        host.host.host_data = &host.state as *const HostState as *mut c_void;

        let factory = loaded.factory;
        let count = call!(factory, get_plugin_count, factory);
        let ids: Vec<String> = (0..count)
            .map(|i| {
                let d = call!(factory, get_plugin_descriptor, factory, i);
                unsafe { CStr::from_ptr((*d).id) }
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert!(
            ids.iter().any(|i| i == PLUGIN_ID),
            "factory offers {ids:?}, not {PLUGIN_ID}"
        );
        let cid = CString::new(PLUGIN_ID).unwrap();
        let plugin = call!(factory, create_plugin, factory, &host.host, cid.as_ptr());
        assert!(
            !plugin.is_null(),
            "create_plugin({PLUGIN_ID}) returned null"
        );
        let p = unsafe { &*plugin };
        assert!(call!(p, init, plugin), "plugin init failed");

        let ext = |id: &CStr| {
            let e = call!(p, get_extension, plugin, id.as_ptr());
            assert!(!e.is_null(), "plugin lacks extension {id:?}");
            e
        };
        let params_ext = unsafe { &*(ext(CLAP_EXT_PARAMS) as *const clap_plugin_params) };
        let latency_ext = unsafe { &*(ext(CLAP_EXT_LATENCY) as *const clap_plugin_latency) };
        let state_ext = unsafe { &*(ext(CLAP_EXT_STATE) as *const clap_plugin_state) };
        let ports_config_ext = unsafe {
            &*(ext(CLAP_EXT_AUDIO_PORTS_CONFIG) as *const clap_plugin_audio_ports_config)
        };
        let ports_ext = unsafe { &*(ext(CLAP_EXT_AUDIO_PORTS) as *const clap_plugin_audio_ports) };

        let n = call!(params_ext, count, plugin);
        let params = (0..n)
            .map(|i| {
                let mut info: clap_param_info = unsafe { std::mem::zeroed() };
                assert!(
                    call!(params_ext, get_info, plugin, i, &mut info),
                    "params.get_info({i}) failed"
                );
                Param {
                    id: info.id,
                    name: unsafe { CStr::from_ptr(info.name.as_ptr()) }
                        .to_string_lossy()
                        .into_owned(),
                    flags: info.flags,
                    min: info.min_value,
                    max: info.max_value,
                    default: info.default_value,
                }
            })
            .collect();

        Self {
            host,
            plugin,
            params_ext,
            latency_ext,
            state_ext,
            ports_config_ext,
            ports_ext,
            params,
            channels: 2,
            active: false,
            steady_time: Cell::new(0),
            out_event_count: AtomicU32::new(0),
        }
    }

    fn p(&self) -> &clap_plugin {
        unsafe { &*self.plugin }
    }

    fn host(&self) -> &HostState {
        &self.host.state
    }

    fn param(&self, name: &str) -> &Param {
        self.params
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| {
                let names: Vec<&str> = self.params.iter().map(|p| p.name.as_str()).collect();
                panic!("no parameter named {name:?}; the plugin has {names:?}")
            })
    }

    fn id(&self, name: &str) -> clap_id {
        self.param(name).id
    }

    fn get(&self, name: &str) -> f64 {
        let mut v = f64::NAN;
        assert!(call!(
            self.params_ext,
            get_value,
            self.plugin,
            self.id(name),
            &mut v
        ));
        v
    }

    fn value_text(&self, name: &str, value: f64) -> String {
        let mut buf = [0 as c_char; 256];
        assert!(call!(
            self.params_ext,
            value_to_text,
            self.plugin,
            self.id(name),
            value,
            buf.as_mut_ptr(),
            256
        ));
        unsafe { CStr::from_ptr(buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    }

    fn text_value(&self, name: &str, text: &str) -> f64 {
        let t = CString::new(text).unwrap();
        let mut v = f64::NAN;
        assert!(
            call!(
                self.params_ext,
                text_to_value,
                self.plugin,
                self.id(name),
                t.as_ptr(),
                &mut v
            ),
            "params.text_to_value({name}, {text:?}) failed"
        );
        v
    }

    /// `params.flush`, main thread, plugin not active.
    fn flush_params(&self, changes: &[ParamChange]) {
        assert!(
            !self.active,
            "flush from the main thread only while inactive"
        );
        let mut events: Vec<clap_event_param_value> =
            changes.iter().copied().map(param_event).collect();
        let in_ = clap_input_events {
            ctx: &mut events as *mut _ as *mut c_void,
            size: Some(in_events_size),
            get: Some(in_events_get),
        };
        let out = clap_output_events {
            ctx: &self.out_event_count as *const _ as *mut c_void,
            try_push: Some(out_events_try_push),
        };
        call!(self.params_ext, flush, self.plugin, &in_, &out);
    }

    /// Pick the audio-ports config with this many main in/out channels (inactive only).
    fn select_channels(&mut self, channels: usize) {
        assert!(!self.active);
        let n = call!(self.ports_config_ext, count, self.plugin);
        for i in 0..n {
            let mut c: clap_audio_ports_config = unsafe { std::mem::zeroed() };
            assert!(call!(self.ports_config_ext, get, self.plugin, i, &mut c));
            if c.has_main_input
                && c.has_main_output
                && c.main_input_channel_count as usize == channels
                && c.main_output_channel_count as usize == channels
            {
                assert!(
                    call!(self.ports_config_ext, select, self.plugin, c.id),
                    "select({}) failed",
                    c.id
                );
                self.channels = channels;
                // The port the plugin now reports must agree.
                for is_input in [true, false] {
                    assert_eq!(call!(self.ports_ext, count, self.plugin, is_input), 1);
                    let mut info: clap_audio_port_info = unsafe { std::mem::zeroed() };
                    assert!(call!(
                        self.ports_ext,
                        get,
                        self.plugin,
                        0,
                        is_input,
                        &mut info
                    ));
                    assert_eq!(
                        info.channel_count as usize, channels,
                        "audio port after select"
                    );
                    assert!(info.flags & CLAP_AUDIO_PORT_IS_MAIN != 0);
                }
                return;
            }
        }
        panic!("no audio-ports config with {channels} in/{channels} out");
    }

    fn activate(&mut self, rate: f64, min_frames: u32, max_frames: u32) {
        assert!(!self.active);
        assert!(
            call!(
                self.p(),
                activate,
                self.plugin,
                rate,
                min_frames,
                max_frames
            ),
            "activate({rate}, {min_frames}, {max_frames}) failed"
        );
        self.active = true;
    }

    /// `activate`, then honour a `request_restart` made during it the way a host does: deactivate
    /// and activate again. nice-plug 0.4.2 reports a latency set in `Plugin::activate` only after
    /// the activation has completed, as a `request_restart`, and calls `latency.changed` in the
    /// following `activate`. Returns whether a restart was requested.
    fn activate_as_host(&mut self, rate: f64, min_frames: u32, max_frames: u32) -> bool {
        let restarts = self.host().restart_requests.load(Ordering::SeqCst);
        self.activate(rate, min_frames, max_frames);
        let latency = self.latency();
        if self.host().restart_requests.load(Ordering::SeqCst) == restarts {
            return false;
        }
        self.deactivate();
        self.activate(rate, min_frames, max_frames);
        assert_eq!(
            self.latency(),
            latency,
            "latency changed across a restart at the same rate"
        );
        true
    }

    fn deactivate(&mut self) {
        assert!(self.active);
        call!(self.p(), deactivate, self.plugin);
        self.active = false;
    }

    fn latency(&self) -> u32 {
        call!(self.latency_ext, get, self.plugin)
    }

    // Audio thread.

    fn start_processing(&self) {
        assert!(
            call!(self.p(), start_processing, self.plugin),
            "start_processing failed"
        );
    }

    fn stop_processing(&self) {
        call!(self.p(), stop_processing, self.plugin);
    }

    fn reset(&self) {
        call!(self.p(), reset, self.plugin);
    }

    /// One `process` call: separate input and output buffers (or in place), parameter events.
    fn process(
        &self,
        input: &[&[f32]],
        output: &mut [&mut [f32]],
        changes: &[ParamChange],
        in_place: bool,
    ) {
        let frames = output[0].len();
        assert!(
            input.iter().all(|c| c.len() == frames) && output.iter().all(|c| c.len() == frames)
        );
        if in_place {
            for (o, i) in output.iter_mut().zip(input) {
                o.copy_from_slice(i);
            }
        }
        let mut out_ptrs: Vec<*mut f32> = output.iter_mut().map(|c| c.as_mut_ptr()).collect();
        let mut in_ptrs: Vec<*mut f32> = if in_place {
            out_ptrs.clone()
        } else {
            input.iter().map(|c| c.as_ptr() as *mut f32).collect()
        };
        let in_buf = clap_audio_buffer {
            data32: in_ptrs.as_mut_ptr(),
            data64: null_mut(),
            channel_count: in_ptrs.len() as u32,
            latency: 0,
            constant_mask: 0,
        };
        let mut out_buf = clap_audio_buffer {
            data32: out_ptrs.as_mut_ptr(),
            data64: null_mut(),
            channel_count: out_ptrs.len() as u32,
            latency: 0,
            constant_mask: 0,
        };
        let mut events: Vec<clap_event_param_value> =
            changes.iter().copied().map(param_event).collect();
        events.sort_by_key(|e| e.header.time);
        let in_events = clap_input_events {
            ctx: &mut events as *mut _ as *mut c_void,
            size: Some(in_events_size),
            get: Some(in_events_get),
        };
        let out_events = clap_output_events {
            ctx: &self.out_event_count as *const _ as *mut c_void,
            try_push: Some(out_events_try_push),
        };
        let process = clap_process {
            steady_time: self.steady_time.get(),
            frames_count: frames as u32,
            transport: null(),
            audio_inputs: &in_buf,
            audio_outputs: &mut out_buf,
            audio_inputs_count: 1,
            audio_outputs_count: 1,
            in_events: &in_events,
            out_events: &out_events,
        };
        let status = call!(self.p(), process, self.plugin, &process);
        assert_ne!(
            status, CLAP_PROCESS_ERROR,
            "process() returned CLAP_PROCESS_ERROR"
        );
        self.steady_time.set(self.steady_time.get() + frames as i64);
    }

    /// Main thread: what a host event loop does when the plugin asked for a callback.
    fn service_main_thread(&self) {
        assert_eq!(role(), Role::Main);
        if self.host().callback_requested.swap(false, Ordering::SeqCst) {
            call!(self.p(), on_main_thread, self.plugin);
        }
    }

    /// Run `f` on a fresh audio thread while this (main) thread services callbacks.
    fn on_audio_thread<R: Send>(&self, f: impl FnOnce(&Instance) -> R + Send) -> R {
        assert_eq!(role(), Role::Main, "on_audio_thread from the main thread");
        std::thread::scope(|s| {
            let h = s.spawn(|| {
                ROLE.with(|r| r.set(Role::Audio));
                f(self)
            });
            while !h.is_finished() {
                self.service_main_thread();
                std::thread::sleep(Duration::from_millis(1));
            }
            self.service_main_thread();
            match h.join() {
                Ok(r) => r,
                Err(e) => std::panic::resume_unwind(e),
            }
        })
    }

    fn save_state(&self) -> Vec<u8> {
        let mut data: Vec<u8> = Vec::new();
        let stream = clap_ostream {
            ctx: &mut data as *mut _ as *mut c_void,
            write: Some(ostream_write),
        };
        assert!(
            call!(self.state_ext, save, self.plugin, &stream),
            "state.save failed"
        );
        data
    }

    fn load_state(&self, data: &[u8]) -> bool {
        let mut cur = ReadCursor { data, pos: 0 };
        let stream = clap_istream {
            ctx: &mut cur as *mut _ as *mut c_void,
            read: Some(istream_read),
        };
        call!(self.state_ext, load, self.plugin, &stream)
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The plugin may be mid-call on a dead audio thread; leak it rather than double-panic.
            return;
        }
        if self.active {
            call!(self.p(), deactivate, self.plugin);
        }
        call!(self.p(), destroy, self.plugin);
    }
}

// ---------------------------------------------------------------------------------------------
// Signals and streaming
// ---------------------------------------------------------------------------------------------

struct Lcg(u64);

impl Lcg {
    fn next_u32(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    /// Uniform in [-1, 1).
    fn uniform(&mut self) -> f32 {
        (self.next_u32() as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) as f32
    }
}

/// Voice-like test signal: a gliding harmonic tone (120 -> 240 Hz, 12 harmonics), syllable-rate
/// amplitude modulation, plus white noise; each channel with its own noise.
fn test_signal(rate: f64, frames: usize, channels: usize, seed: u64) -> Vec<Vec<f32>> {
    let mut rng = Lcg(seed);
    let dur = frames as f64 / rate;
    let mut phase = 0.0f64;
    let mut tone = Vec::with_capacity(frames);
    for n in 0..frames {
        let t = n as f64 / rate;
        let f0 = 120.0 + 120.0 * t / dur.max(1e-9);
        phase += std::f64::consts::TAU * f0 / rate;
        let env = 0.5 + 0.5 * (std::f64::consts::TAU * 4.0 * t).sin();
        let mut s = 0.0;
        for k in 1..=12 {
            if f0 * k as f64 >= rate / 2.0 {
                break;
            }
            s += (phase * k as f64).sin() / k as f64;
        }
        tone.push((0.15 * env * s) as f32);
    }
    (0..channels)
        .map(|_| tone.iter().map(|&x| x + 0.03 * rng.uniform()).collect())
        .collect()
}

/// Varied block sizes in 1..=max: fixed awkward ones first, then pseudo-random.
fn block_sizes(total: usize, max: usize, seed: u64) -> Vec<usize> {
    let fixed = [
        1,
        max,
        7,
        480,
        64,
        1023,
        2,
        2048,
        333,
        17,
        max - 1,
        256,
        3,
        1500,
        128,
        4000,
        99,
        512,
        240,
        241,
        239,
    ];
    let mut rng = Lcg(seed);
    let mut sizes = Vec::new();
    let mut done = 0;
    let mut i = 0;
    while done < total {
        let want = if i < fixed.len() {
            fixed[i].min(max)
        } else {
            1 + rng.next_u32() as usize % max
        };
        let n = want.min(total - done);
        sizes.push(n);
        done += n;
        i += 1;
    }
    sizes
}

/// Stream `input` through the plugin (already active, on the audio thread) in the given blocks;
/// `changes(block_index, block_start, block_len)` supplies each block's parameter events.
fn stream(
    inst: &Instance,
    input: &[Vec<f32>],
    sizes: &[usize],
    mut changes: impl FnMut(usize, usize, usize) -> Vec<ParamChange>,
    in_place: bool,
) -> Vec<Vec<f32>> {
    let ch = input.len();
    let total: usize = sizes.iter().sum();
    let mut output = vec![vec![0.0f32; total]; ch];
    let mut start = 0;
    for (b, &n) in sizes.iter().enumerate() {
        let ev = changes(b, start, n);
        let ins: Vec<&[f32]> = input.iter().map(|c| &c[start..start + n]).collect();
        let mut outs: Vec<&mut [f32]> = output
            .iter_mut()
            .map(|c| &mut c[start..start + n])
            .collect();
        inst.process(&ins, &mut outs, &ev, in_place);
        start += n;
    }
    output
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

fn expected_latency(rate: f64) -> u32 {
    2 * (rate / 200.0).round() as u32 - 1
}

fn assert_finite(out: &[Vec<f32>], what: &str) {
    for (c, ch) in out.iter().enumerate() {
        if let Some(i) = ch.iter().position(|v| !v.is_finite()) {
            panic!(
                "{what}: channel {c} sample {i} is {} (non-finite output)",
                ch[i]
            );
        }
    }
}

/// Input of impulses (amplitude 1, both channels) at `positions`; checks the output is the same
/// impulses exactly `latency` samples later and (near) nothing else.
fn check_impulses(out: &[Vec<f32>], positions: &[usize], latency: usize, what: &str) {
    for (c, ch) in out.iter().enumerate() {
        for (k, &p) in positions.iter().enumerate() {
            let at = p + latency;
            // Search from the input position up to where the next impulse would come out.
            let end = positions
                .get(k + 1)
                .map_or(at + 2000, |&q| q + latency)
                .min(ch.len());
            let (imax, vmax) = ch[p..end]
                .iter()
                .enumerate()
                .map(|(i, v)| (i + p, v.abs()))
                .fold((0, 0.0f32), |a, b| if b.1 > a.1 { b } else { a });
            assert_eq!(
                imax, at,
                "{what}: channel {c}: impulse at {p} should come out at {at} (latency {latency}), but \
                 the output peak is at {imax} ({vmax}; value at {at} is {})",
                ch[at]
            );
            assert!(
                (ch[at] - 1.0).abs() < 1e-3,
                "{what}: channel {c}: impulse at {p} came out at {at} with value {} (want ~1)",
                ch[at]
            );
        }
        // Everything else is (near) zero.
        for (i, &v) in ch.iter().enumerate() {
            if !positions.iter().any(|&p| p + latency == i) {
                assert!(
                    v.abs() < 1e-3,
                    "{what}: channel {c}: stray output {v} at sample {i}"
                );
            }
        }
    }
}

fn impulse_input(channels: usize, frames: usize, positions: &[usize]) -> Vec<Vec<f32>> {
    let mut x = vec![vec![0.0f32; frames]; channels];
    for ch in &mut x {
        for &p in positions {
            ch[p] = 1.0;
        }
    }
    x
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

const PARAM_NAMES: [&str; 14] = [
    "Strength",
    "Mix",
    "Output Gain",
    "Model",
    "Stereo Link",
    "Bypass",
    "VAD Gate",
    "Gate Threshold",
    "Gate Hold",
    "Retroactive Grace",
    "Speech Strength",
    "Listen",
    "Hum Removal",
    "Reverb Reduction",
];

#[test]
fn loads_and_processes() {
    let loaded = loaded();
    // The descriptor.
    let factory = loaded.factory;
    let d = call!(factory, get_plugin_descriptor, factory, 0);
    let d = unsafe { &*d };
    let name = unsafe { CStr::from_ptr(d.name) }.to_string_lossy();
    assert_eq!(name, "Quell");
    assert!(clap_version_is_compatible(loaded.entry.clap_version));

    let mut inst = Instance::new();
    for n in PARAM_NAMES {
        inst.param(n);
    }
    assert!(
        inst.param("Bypass").flags & CLAP_PARAM_IS_BYPASS != 0,
        "Bypass is not flagged as the bypass param"
    );
    // Strength's CLAP range maps 0 dB..100 dB; text conversions work.
    let strength = inst.param("Strength").clone();
    assert!(
        inst.value_text("Strength", strength.min).starts_with('0'),
        "{}",
        inst.value_text("Strength", strength.min)
    );
    assert!(
        inst.value_text("Strength", strength.max).starts_with("100"),
        "{}",
        inst.value_text("Strength", strength.max)
    );

    for channels in [2, 1] {
        let rate = 48000.0;
        inst.select_channels(channels);
        inst.activate(rate, 1, 4096);
        assert_eq!(inst.latency(), expected_latency(rate));
        let frames = (rate * 3.0) as usize;
        let input = test_signal(rate, frames, channels, 1);
        let sizes = block_sizes(frames, 4096, 2);
        let (s_id, m_id, g_id, l_id) = (
            inst.id("Strength"),
            inst.id("Mix"),
            inst.id("Output Gain"),
            inst.id("Stereo Link"),
        );
        let s12 = inst.text_value("Strength", "12");
        let out = inst.on_audio_thread(|inst| {
            inst.start_processing();
            let out = stream(
                inst,
                &input,
                &sizes,
                |b, _, n| match b {
                    5 => vec![ParamChange {
                        id: s_id,
                        value: s12,
                        time: 0,
                    }],
                    9 => vec![
                        ParamChange {
                            id: m_id,
                            value: 0.5,
                            time: 0,
                        },
                        ParamChange {
                            id: l_id,
                            value: 1.0,
                            time: (n / 2) as u32,
                        },
                    ],
                    14 => vec![ParamChange {
                        id: g_id,
                        value: 0.75,
                        time: (n - 1) as u32,
                    }],
                    20 => vec![ParamChange {
                        id: s_id,
                        value: strength.default,
                        time: 0,
                    }],
                    _ => vec![],
                },
                false,
            );
            inst.stop_processing();
            out
        });
        inst.deactivate();

        assert_finite(&out, "loads_and_processes");
        let lat = expected_latency(rate) as usize;
        for (c, (o, i)) in out.iter().zip(&input).enumerate() {
            let (ro, ri) = (rms(&o[lat..]), rms(&i[..frames - lat]));
            eprintln!("{channels} ch, channel {c}: input rms {ri:.4}, output rms {ro:.4}");
            assert!(
                ro > 1e-4 * ri.max(1e-3) && ro > 1e-6,
                "channel {c} output is silent (rms {ro}) for input rms {ri}"
            );
            // Each second of output carries signal, not just a burst.
            for s in 0..3 {
                let seg = &o[s * rate as usize..(s + 1) * rate as usize];
                assert!(
                    seg.iter().any(|v| *v != 0.0),
                    "channel {c}: second {s} of output is all zeros"
                );
            }
        }
        // The automation arrived.
        assert!((inst.get("Stereo Link") - 1.0).abs() < 1e-9);
        assert!((inst.get("Mix") - 0.5).abs() < 1e-6);
    }
    assert_eq!(
        inst.host().thread_violations.load(Ordering::SeqCst),
        0,
        "plugin called main-thread host functions off the main thread"
    );
}

#[test]
fn latency_is_exact_with_strength_zero_at_48k() {
    let mut inst = Instance::new();
    let rate = 48000.0;
    inst.flush_params(&[ParamChange {
        id: inst.id("Strength"),
        value: inst.param("Strength").min,
        time: 0,
    }]);
    assert_eq!(
        inst.value_text("Strength", inst.get("Strength"))
            .trim_end_matches(" dB"),
        "0.0"
    );
    inst.activate_as_host(rate, 1, 4096);
    let latency = inst.latency();
    assert_eq!(latency, 479, "reported latency at 48 kHz");
    assert!(
        inst.host().latency_changed.load(Ordering::SeqCst) >= 1,
        "plugin never called host latency.changed (not even after the restart it requested)"
    );

    // Impulses at several phases relative to the 240-sample hop.
    let positions = [1000, 5037, 9239, 13240, 17001, 21119, 25000 + 4095];
    let frames = 32768;
    let input = impulse_input(2, frames, &positions);
    for (seed, in_place) in [(3, false), (4, true)] {
        let sizes = block_sizes(frames, 4096, seed);
        let out = inst.on_audio_thread(|inst| {
            inst.start_processing();
            let out = stream(inst, &input, &sizes, |_, _, _| vec![], in_place);
            inst.stop_processing();
            out
        });
        check_impulses(
            &out,
            &positions,
            latency as usize,
            &format!("48 kHz, in_place={in_place}"),
        );
    }

    // A general signal too: output == input delayed, to float precision.
    let input = test_signal(rate, frames, 2, 5);
    let sizes = block_sizes(frames, 4096, 6);
    let out = inst.on_audio_thread(|inst| {
        inst.start_processing();
        let out = stream(inst, &input, &sizes, |_, _, _| vec![], false);
        inst.stop_processing();
        out
    });
    let l = latency as usize;
    for c in 0..2 {
        assert!(
            out[c][..l].iter().all(|v| v.abs() < 1e-6),
            "channel {c}: output before the latency is not silent"
        );
        let err = out[c][l..]
            .iter()
            .zip(&input[c])
            .map(|(o, i)| (o - i).abs())
            .fold(0.0f32, f32::max);
        assert!(
            err < 1e-4,
            "channel {c}: strength 0 output differs from the delayed input by up to {err}"
        );
    }
    inst.deactivate();
}

#[test]
fn the_gates_retroactive_grace_is_reported_as_latency() {
    let mut inst = Instance::new();
    let rate = 48000.0;
    inst.activate_as_host(rate, 1, 4096);
    assert_eq!(inst.latency(), 479);
    let changes = vec![
        ParamChange {
            id: inst.id("VAD Gate"),
            value: 1.0,
            time: 0,
        },
        ParamChange {
            id: inst.id("Retroactive Grace"),
            value: inst.text_value("Retroactive Grace", "50"),
            time: 0,
        },
    ];
    let restarts = inst.host().restart_requests.load(Ordering::SeqCst);
    let input = test_signal(rate, 4800, 2, 31);
    let out = inst.on_audio_thread(|inst| {
        inst.start_processing();
        let o = stream(
            inst,
            &input,
            &[480; 10],
            |b, _, _| {
                if b == 0 { changes.clone() } else { vec![] }
            },
            false,
        );
        inst.stop_processing();
        o
    });
    assert_finite(&out, "gate on");
    // The grace is a latency change, which CLAP allows only at activation: the plugin asks for a
    // restart and keeps the reported (and real) delay until then.
    assert!(
        inst.host().restart_requests.load(Ordering::SeqCst) > restarts,
        "no restart request: the host was not told the latency changed"
    );
    assert_eq!(inst.latency(), 479, "latency changed while active");
    // The host restarts the plugin as asked: 50 ms = 10 hops of 240 samples on top of 479, told
    // through latency.changed during that activation.
    let changed = inst.host().latency_changed.load(Ordering::SeqCst);
    inst.deactivate();
    inst.activate_as_host(rate, 1, 4096);
    assert_eq!(inst.latency(), 479 + 2400);
    assert!(inst.host().latency_changed.load(Ordering::SeqCst) > changed);
    // And the delay is real: with strength 0 and an always-open gate, an impulse comes out there.
    let open = vec![
        ParamChange {
            id: inst.id("Strength"),
            value: inst.param("Strength").min,
            time: 0,
        },
        ParamChange {
            id: inst.id("Gate Threshold"),
            value: 0.0,
            time: 0,
        },
    ];
    let frames = 16384;
    let input = impulse_input(2, frames, &[12001]);
    let out = inst.on_audio_thread(|inst| {
        inst.start_processing();
        // Let the strength smoothing settle before the impulses.
        let o = stream(
            inst,
            &input,
            &[frames],
            |b, _, _| {
                if b == 0 { open.clone() } else { vec![] }
            },
            false,
        );
        inst.stop_processing();
        o
    });
    check_impulses(&out, &[12001], 479 + 2400, "gate grace 50 ms");
    inst.deactivate();
}

#[test]
fn activate_deactivate_cycles_with_rate_changes() {
    let mut inst = Instance::new();
    inst.flush_params(&[ParamChange {
        id: inst.id("Strength"),
        value: 0.0,
        time: 0,
    }]);
    let mut last = None;
    for (i, (rate, channels)) in [
        (48000.0, 2),
        (44100.0, 2),
        (96000.0, 2),
        (96000.0, 1),
        (44100.0, 1),
        (48000.0, 2),
    ]
    .into_iter()
    .enumerate()
    {
        inst.select_channels(channels);
        let changed_before = inst.host().latency_changed.load(Ordering::SeqCst);
        let restarted = inst.activate_as_host(rate, 1, 4096);
        let latency = inst.latency();
        assert_eq!(
            latency,
            expected_latency(rate),
            "cycle {i}: latency at {rate} Hz"
        );
        let changed_after = inst.host().latency_changed.load(Ordering::SeqCst);
        if last != Some(latency) {
            assert!(
                changed_after > changed_before,
                "cycle {i}: latency went {last:?} -> {latency} without host latency.changed \
                 (restart requested: {restarted})"
            );
        } else {
            assert!(
                !restarted,
                "cycle {i}: restart requested although the latency stayed {latency}"
            );
        }
        last = Some(latency);

        // Exact latency at this rate and layout, and a second start/stop pass in the same
        // activation (reset must clear the pipeline).
        let positions = [700, 3001, 9000];
        let frames = 16384;
        let input = impulse_input(channels, frames, &positions);
        for pass in 0..2 {
            let sizes = block_sizes(frames, 4096, 10 + i as u64 * 2 + pass);
            let out = inst.on_audio_thread(|inst| {
                inst.start_processing();
                let out = stream(inst, &input, &sizes, |_, _, _| vec![], false);
                inst.stop_processing();
                out
            });
            check_impulses(
                &out,
                &positions,
                latency as usize,
                &format!("cycle {i}, {rate} Hz, {channels} ch, pass {pass}"),
            );
        }
        inst.deactivate();
    }
    assert_eq!(inst.host().thread_violations.load(Ordering::SeqCst), 0);
}

/// Equal CLAP values. Both NaN counts as equal here: finiteness is `parameters_are_well_formed`'s
/// business, this is about the round trip.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() < 1e-6
}

#[test]
fn parameters_are_well_formed() {
    let inst = Instance::new();
    let mut problems = Vec::new();
    for p in &inst.params {
        let v = inst.get(&p.name);
        if !(p.min.is_finite() && p.max.is_finite() && p.default.is_finite() && v.is_finite()) {
            problems.push(format!(
                "{:?} (id {}): min {}, max {}, default {}, value {} -- a host sees non-finite numbers",
                p.name, p.id, p.min, p.max, p.default, v
            ));
        } else if p.min >= p.max {
            problems.push(format!(
                "{:?}: empty range min {} >= max {}",
                p.name, p.min, p.max
            ));
        } else if !(p.min <= p.default && p.default <= p.max && p.min <= v && v <= p.max) {
            problems.push(format!(
                "{:?}: default {} or value {} outside [{}, {}]",
                p.name, p.default, v, p.min, p.max
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "malformed parameters:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn state_round_trips_parameters() {
    let mut a = Instance::new();
    let defaults: Vec<(String, f64)> = PARAM_NAMES
        .iter()
        .map(|n| (n.to_string(), a.get(n)))
        .collect();
    let targets = [
        ("Strength", a.text_value("Strength", "37")),
        ("Mix", 0.25),
        ("Output Gain", a.text_value("Output Gain", "-6")),
        ("Stereo Link", 1.0),
        ("VAD Gate", 1.0),
        ("Gate Threshold", 0.3),
        ("Gate Hold", a.text_value("Gate Hold", "500")),
        ("Retroactive Grace", a.text_value("Retroactive Grace", "60")),
        ("Speech Strength", a.text_value("Speech Strength", "12")),
        ("Listen", 1.0),
        ("Hum Removal", 1.0),
        ("Reverb Reduction", a.text_value("Reverb Reduction", "6 dB")),
    ];
    // "Full" is the top of the range (normalised 1), as typed by a user.
    assert_eq!(a.text_value("Reverb Reduction", "full"), 1.0);
    // Set through automation while processing, as a host would replay it.
    a.activate(48000.0, 1, 4096);
    let changes: Vec<ParamChange> = targets
        .iter()
        .map(|(n, v)| ParamChange {
            id: a.id(n),
            value: *v,
            time: 0,
        })
        .collect();
    let input = test_signal(48000.0, 4800, 2, 9);
    a.on_audio_thread(|inst| {
        inst.start_processing();
        stream(inst, &input, &[4800], |_, _, _| changes.clone(), false);
        inst.stop_processing();
    });
    for (n, v) in &targets {
        assert!(
            (a.get(n) - v).abs() < 1e-6,
            "{n}: set {v}, reads {}",
            a.get(n)
        );
        let d = defaults.iter().find(|(dn, _)| dn == n).unwrap().1;
        assert!(
            (v - d).abs() > 1e-3,
            "{n}: target equals the default; the test would prove nothing"
        );
    }
    let saved = a.save_state();
    assert!(saved.len() > 8, "state is only {} bytes", saved.len());

    // A fresh instance restores it (inactive).
    let b = Instance::new();
    assert!(
        b.load_state(&saved),
        "state.load into a fresh instance failed"
    );
    for n in PARAM_NAMES {
        assert!(
            same(b.get(n), a.get(n)),
            "{n}: saved {} ({}), restored {} ({})",
            a.get(n),
            a.value_text(n, a.get(n)),
            b.get(n),
            b.value_text(n, b.get(n))
        );
    }
    assert!(
        b.host().params_rescans.load(Ordering::SeqCst) >= 1,
        "no params.rescan after state.load"
    );
    // Saving again gives an equivalent state.
    let c = Instance::new();
    assert!(c.load_state(&b.save_state()));
    for n in PARAM_NAMES {
        assert!(same(c.get(n), a.get(n)), "{n} after a second round trip");
    }

    // Load the defaults back into the active instance `a`, then process.
    let d = Instance::new();
    let default_state = d.save_state();
    assert!(
        a.load_state(&default_state),
        "state.load into an active instance failed"
    );
    for (n, v) in &defaults {
        assert!(
            same(a.get(n), *v),
            "{n}: after loading the default state reads {}, want {v}",
            a.get(n)
        );
    }
    let out = a.on_audio_thread(|inst| {
        inst.start_processing();
        let o = stream(inst, &input, &[100, 4700], |_, _, _| vec![], false);
        inst.stop_processing();
        o
    });
    assert_finite(&out, "after state load");
    a.deactivate();

    // Garbage is refused, not crashed on, and leaves the parameters alone.
    let before = b.get("Strength");
    assert!(!b.load_state(&[1, 2, 3]), "a 3-byte state was accepted");
    let mut junk = (100u64).to_le_bytes().to_vec();
    junk.extend_from_slice(&[b'x'; 100]);
    assert!(!b.load_state(&junk), "a junk state was accepted");
    assert_eq!(b.get("Strength"), before);
}

#[test]
fn non_finite_input_never_yields_non_finite_output() {
    let mut inst = Instance::new();
    let rate = 48000.0;
    let frames = 48000;
    let mut input = test_signal(rate, frames, 2, 11);
    // Poison: single NaN/Inf samples, runs of them, huge and subnormal values, one channel only.
    let poison: [(usize, usize, f32); 9] = [
        (3000, 1, f32::NAN),
        (6000, 1, f32::INFINITY),
        (9000, 1, f32::NEG_INFINITY),
        (12000, 500, f32::NAN),
        (18000, 2000, f32::INFINITY),
        (24000, 300, f32::MAX),
        (28000, 300, -1e30),
        (32000, 1000, 1e-40),
        (40000, 1, f32::NAN),
    ];
    for (i, &(at, len, v)) in poison.iter().enumerate() {
        for s in &mut input[i % 2][at..at + len] {
            *s = v;
        }
    }
    let configs: [(&str, Vec<(&str, f64)>); 5] = [
        ("defaults", vec![]),
        ("strength 0", vec![("Strength", 0.0)]),
        (
            "mix 0.5, gain +24 dB",
            vec![("Mix", 0.5), ("Output Gain", 1.0)],
        ),
        ("stereo link", vec![("Stereo Link", 1.0)]),
        ("bypass", vec![("Bypass", 1.0)]),
    ];
    let mut failures = Vec::new();
    for (name, settings) in configs {
        let mut changes: Vec<ParamChange> = PARAM_NAMES
            .iter()
            .map(|n| ParamChange {
                id: inst.id(n),
                value: inst.param(n).default,
                time: 0,
            })
            .collect();
        changes.extend(settings.iter().map(|(n, v)| ParamChange {
            id: inst.id(n),
            value: *v,
            time: 0,
        }));
        inst.flush_params(&changes);
        inst.activate(rate, 1, 4096);
        let sizes = block_sizes(frames, 4096, 12);
        let out = inst.on_audio_thread(|inst| {
            inst.start_processing();
            let o = stream(inst, &input, &sizes, |_, _, _| vec![], false);
            inst.stop_processing();
            o
        });
        inst.deactivate();
        for (c, ch) in out.iter().enumerate() {
            let bad = ch.iter().filter(|v| !v.is_finite()).count();
            if bad > 0 {
                let first = ch.iter().position(|v| !v.is_finite()).unwrap();
                failures.push(format!(
                    "{name}: channel {c}: {bad} non-finite samples, first at {first} ({})",
                    ch[first]
                ));
            }
            // The last 0.1 s (clean input) comes out finite and not silent: the engine recovered.
            let tail = &ch[frames - 4800..];
            if tail.iter().all(|v| *v == 0.0) {
                failures.push(format!(
                    "{name}: channel {c}: output silent after the poison (no recovery)"
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "non-finite input handling:\n  {}",
        failures.join("\n  ")
    );
}

// ---------------------------------------------------------------------------------------------
// Allocation checks, in child processes (an allocation in process() aborts the whole process)
// ---------------------------------------------------------------------------------------------

/// The child's work: ~2 s of stereo audio at 48 kHz on the audio thread, with automation on every
/// parameter, bypass toggling, mix changes, model switch requests, a reset and a stop/start.
fn allocation_workload() {
    let mut inst = Instance::new();
    let rate = 48000.0;
    inst.activate(rate, 1, 4096);
    let frames = 2 * 48000;
    let input = test_signal(rate, frames, 2, 21);
    let sizes = block_sizes(frames, 4096, 22);
    let ids = PARAM_NAMES.map(|n| inst.id(n));
    let model = inst.param("Model").clone();
    let out = inst.on_audio_thread(|inst| {
        inst.start_processing();
        let mut automation = |b: usize, _start: usize, n: usize| {
            let t = |f: f64| ((n - 1) as f64 * f) as u32;
            let mut ev = vec![
                ParamChange {
                    id: ids[0],
                    value: (b % 17) as f64 / 16.0,
                    time: 0,
                },
                ParamChange {
                    id: ids[1],
                    value: ((b * 7) % 11) as f64 / 10.0,
                    time: t(0.5),
                },
                ParamChange {
                    id: ids[2],
                    value: ((b * 3) % 9) as f64 / 8.0,
                    time: t(0.9),
                },
            ];
            if b.is_multiple_of(5) {
                ev.push(ParamChange {
                    id: ids[4],
                    value: ((b / 5) % 2) as f64,
                    time: t(0.3),
                });
            }
            if b % 7 == 3 {
                ev.push(ParamChange {
                    id: ids[5],
                    value: ((b / 7) % 2) as f64,
                    time: t(0.1),
                });
            }
            if b % 6 == 2 {
                // The VAD gate on and off (its grace changes the latency: a latency report from
                // the audio thread), with a new grace and threshold.
                ev.push(ParamChange {
                    id: ids[6],
                    value: ((b / 6) % 2) as f64,
                    time: t(0.2),
                });
                ev.push(ParamChange {
                    id: ids[9],
                    value: ((b * 5) % 7) as f64 * 30.0,
                    time: t(0.4),
                });
                ev.push(ParamChange {
                    id: ids[7],
                    value: ((b * 3) % 5) as f64 / 4.0,
                    time: t(0.6),
                });
            }
            if b % 4 == 1 {
                // Speech strength, listen (output/removed), hum removal and reverb reduction.
                ev.push(ParamChange {
                    id: ids[10],
                    value: ((b * 5) % 13) as f64 / 12.0,
                    time: t(0.7),
                });
                ev.push(ParamChange {
                    id: ids[11],
                    value: ((b / 4) % 2) as f64,
                    time: t(0.5),
                });
                ev.push(ParamChange {
                    id: ids[12],
                    value: ((b / 8) % 2) as f64,
                    time: t(0.25),
                });
                ev.push(ParamChange {
                    id: ids[13],
                    value: ((b * 7) % 9) as f64 / 8.0,
                    time: t(0.35),
                });
            }
            if b % 9 == 4 {
                // Model switch request: alternate between the first and the last model. The swap
                // is prepared on nice-plug's background thread and lands in a later block, so give
                // that thread time, as a real-time host's pacing would.
                let v = if (b / 9).is_multiple_of(2) {
                    model.max
                } else {
                    model.min
                };
                ev.push(ParamChange {
                    id: ids[3],
                    value: v,
                    time: 0,
                });
                if model.max > model.min {
                    std::thread::sleep(Duration::from_millis(30));
                }
            }
            ev
        };
        let half = sizes.len() / 2;
        let first = stream(inst, &input, &sizes[..half], &mut automation, false);
        inst.reset();
        inst.stop_processing();
        inst.start_processing();
        let done: usize = sizes[..half].iter().sum();
        let rest: Vec<Vec<f32>> = input.iter().map(|c| c[done..].to_vec()).collect();
        let second = stream(
            inst,
            &rest,
            &sizes[half..],
            |b, s, n| automation(b + half, s, n),
            true,
        );
        inst.stop_processing();
        (first, second)
    });
    inst.deactivate();
    assert_eq!(inst.host().thread_violations.load(Ordering::SeqCst), 0);
    if model.max <= model.min {
        eprintln!(
            "child: only one model is bundled (Model range {}..{}): switch requests are no-ops",
            model.min, model.max
        );
    }
    assert_finite(&out.0, "allocation workload");
    assert_finite(&out.1, "allocation workload");
    eprintln!(
        "child: processed {frames} frames in {} blocks without aborting",
        sizes.len()
    );
}

#[test]
#[ignore = "child process of process_never_allocates"]
fn child_allocation_workload() {
    if std::env::var_os(CHILD_ENV).is_some() {
        allocation_workload();
    }
}

fn run_child(plant: bool) -> std::process::Output {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new(exe);
    cmd.args([
        "child_allocation_workload",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, "1")
    // Feed the editor's spectrum view as if it were open, so that path is checked too.
    .env("QUELL_TEST_FEED", "1")
    .env("QUELL_CLAP", &loaded().path)
    .env("RUST_BACKTRACE", "0");
    if plant {
        cmd.env(PLANT_ENV, "1");
    } else {
        cmd.env_remove(PLANT_ENV);
    }
    cmd.output().expect("cannot run the test binary as a child")
}

fn describe(out: &std::process::Output) -> String {
    use std::os::unix::process::ExitStatusExt;
    let tail = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(25)..].join("\n    ")
    };
    format!(
        "status {:?} (signal {:?})\n  stdout:\n    {}\n  stderr:\n    {}",
        out.status.code(),
        out.status.signal(),
        tail(&out.stdout),
        tail(&out.stderr)
    )
}

#[test]
fn process_never_allocates() {
    use std::os::unix::process::ExitStatusExt;
    const SIGABRT: i32 = 6;
    let path = &loaded().path;

    // 1. The detector is armed: the planted allocation must abort the child.
    let planted = run_child(true);
    match planted.status.signal() {
        Some(SIGABRT) => {}
        _ if planted.status.success() => panic!(
            "the planted allocation in process() did NOT abort: {} was not built with the \
             `assert_process_allocs` feature in a debug build, so this test proves nothing. Rebuild \
             with `cargo build --lib --features assert_process_allocs` (or `cargo xtask bundle quell \
             --features assert_process_allocs`) or point QUELL_CLAP at such a build.\n  {}",
            path.display(),
            describe(&planted)
        ),
        _ => panic!(
            "the planted-allocation child failed, but not by SIGABRT:\n  {}",
            describe(&planted)
        ),
    }
    let planted_err = String::from_utf8_lossy(&planted.stderr);
    assert!(
        planted_err.contains("memory allocation of") || planted_err.contains("llocation"),
        "child aborted, but without the allocation message:\n  {}",
        describe(&planted)
    );

    // 2. The real workload never allocates on the audio thread.
    let clean = run_child(false);
    assert!(
        clean.status.success(),
        "process()/reset()/start_processing() allocated or failed on the audio thread (SIGABRT = \
         allocation detected):\n  {}",
        describe(&clean)
    );
    let out = String::from_utf8_lossy(&clean.stderr);
    assert!(
        out.contains("without aborting"),
        "the child did not run the workload:\n  {}",
        describe(&clean)
    );
}
