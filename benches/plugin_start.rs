//! How long a host waits for Quell: dlopen + factory (once), then per instance `create_plugin` +
//! `init`, `activate` (48 kHz stereo, 1024-frame blocks), and the first `process()` of 512 frames.
//! Loads the bundled `.clap` through a minimal clap-sys host.
//!
//!     cargo xtask bundle quell --release && cargo bench --bench plugin_start
//!
//! QUELL_CLAP=/path/to/Quell.clap picks another bundle.

use clap_sys::audio_buffer::clap_audio_buffer;
use clap_sys::entry::clap_plugin_entry;
use clap_sys::events::{clap_event_header, clap_input_events, clap_output_events};
use clap_sys::factory::plugin_factory::{CLAP_PLUGIN_FACTORY_ID, clap_plugin_factory};
use clap_sys::host::clap_host;
use clap_sys::plugin::clap_plugin;
use clap_sys::process::clap_process;
use clap_sys::version::CLAP_VERSION;
use std::ffi::{CString, c_void};
use std::path::PathBuf;
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

unsafe extern "C" fn no_extension(_: *const clap_host, _: *const i8) -> *const c_void {
    null()
}
unsafe extern "C" fn no_request(_: *const clap_host) {}
unsafe extern "C" fn no_events(_: *const clap_input_events) -> u32 {
    0
}
unsafe extern "C" fn no_event(_: *const clap_input_events, _: u32) -> *const clap_event_header {
    null()
}
unsafe extern "C" fn drop_event(_: *const clap_output_events, _: *const clap_event_header) -> bool {
    true
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` asks for a list
    }
    let path = std::env::var_os("QUELL_CLAP")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bundled/Quell.clap")
        });
    let t0 = Instant::now();
    let lib = unsafe { libloading::Library::new(&path) }
        .unwrap_or_else(|e| panic!("cannot load {} (bundle it first): {e}", path.display()));
    let entry: &clap_plugin_entry = unsafe {
        &**lib
            .get::<*const clap_plugin_entry>(b"clap_entry\0")
            .unwrap()
    };
    let cpath = CString::new(path.to_string_lossy().as_bytes()).unwrap();
    assert!(unsafe { entry.init.unwrap()(cpath.as_ptr()) });
    let factory = unsafe {
        &*(entry.get_factory.unwrap()(CLAP_PLUGIN_FACTORY_ID.as_ptr())
            as *const clap_plugin_factory)
    };
    let load = t0.elapsed();

    let host = clap_host {
        clap_version: CLAP_VERSION,
        host_data: null_mut(),
        name: c"quell-bench".as_ptr(),
        vendor: c"quell".as_ptr(),
        url: c"https://example.invalid".as_ptr(),
        version: c"0".as_ptr(),
        get_extension: Some(no_extension),
        request_restart: Some(no_request),
        request_process: Some(no_request),
        request_callback: Some(no_request),
    };
    let id = CString::new("org.quell.denoiser").unwrap();
    let frames = 512u32;
    let mut bufs = vec![vec![0.01f32; frames as usize]; 2];
    let (mut create, mut activate, mut first) = (vec![], vec![], vec![]);
    for _ in 0..20 {
        let t = Instant::now();
        let plugin = unsafe { factory.create_plugin.unwrap()(factory, &host, id.as_ptr()) };
        assert!(!plugin.is_null());
        let p: &clap_plugin = unsafe { &*plugin };
        assert!(unsafe { p.init.unwrap()(plugin) });
        create.push(t.elapsed());

        let t = Instant::now();
        assert!(unsafe { p.activate.unwrap()(plugin, 48000.0, 1, 1024) });
        activate.push(t.elapsed());

        let t = Instant::now();
        assert!(unsafe { p.start_processing.unwrap()(plugin) });
        let mut ptrs: Vec<*mut f32> = bufs.iter_mut().map(|b| b.as_mut_ptr()).collect();
        let mut audio = clap_audio_buffer {
            data32: ptrs.as_mut_ptr(),
            data64: null_mut(),
            channel_count: 2,
            latency: 0,
            constant_mask: 0,
        };
        let in_events = clap_input_events {
            ctx: null_mut(),
            size: Some(no_events),
            get: Some(no_event),
        };
        let out_events = clap_output_events {
            ctx: null_mut(),
            try_push: Some(drop_event),
        };
        let process = clap_process {
            steady_time: 0,
            frames_count: frames,
            transport: null(),
            audio_inputs: &audio,
            audio_outputs: &mut audio,
            audio_inputs_count: 1,
            audio_outputs_count: 1,
            in_events: &in_events,
            out_events: &out_events,
        };
        let status = unsafe { p.process.unwrap()(plugin, &process) };
        first.push(t.elapsed());
        assert!(status >= 0, "process failed");

        unsafe {
            p.stop_processing.unwrap()(plugin);
            p.deactivate.unwrap()(plugin);
            p.destroy.unwrap()(plugin);
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let total: Vec<Duration> = (0..create.len())
        .map(|i| create[i] + activate[i] + first[i])
        .collect();
    println!("plugin: {}", path.display());
    println!("dlopen + entry.init + factory (once): {:.2} ms", ms(load));
    for (name, v) in [
        ("create_plugin + init", create),
        ("activate 48 kHz stereo", activate),
        ("start_processing + first process (512 frames)", first),
        ("instance total", total),
    ] {
        let max = *v.iter().max().unwrap();
        println!(
            "{name}: median {:.2} ms, max {:.2} ms (20 instances)",
            ms(median(v)),
            ms(max)
        );
    }
}
