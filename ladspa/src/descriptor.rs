//! The two plugin descriptors, built once on first request and never freed (hosts may keep the
//! pointers for as long as the library is loaded).

use std::ffi::{CStr, c_char, c_int, c_ulong};
use std::ptr;
use std::sync::OnceLock;

use crate::abi::*;
use crate::instance;
use crate::ports::{MONO, PortSpec, STEREO};

/// Not registered with ladspa.org (its registry is gone); chosen to spell "QLM"/"QLS" and stay
/// clear of the low ranges that well-known plugin packs use.
pub const MONO_ID: c_ulong = 0x51_4C_4D;
pub const STEREO_ID: c_ulong = 0x51_4C_53;

/// A descriptor and the arrays its pointers point into.
struct Owned {
    descriptor: Descriptor,
    _kinds: Vec<c_int>,
    _names: Vec<*const c_char>,
    _hints: Vec<PortRangeHint>,
}

// SAFETY: everything behind the pointers is immutable after construction and lives for the whole
// process (the OnceLock below is never dropped before unload).
unsafe impl Send for Owned {}
unsafe impl Sync for Owned {}

fn build(
    id: c_ulong,
    label: &'static CStr,
    name: &'static CStr,
    ports: &'static [PortSpec],
) -> Owned {
    let kinds: Vec<c_int> = ports.iter().map(PortSpec::ladspa_descriptor).collect();
    let names: Vec<*const c_char> = ports.iter().map(|p| p.name.as_ptr()).collect();
    let hints: Vec<PortRangeHint> = ports.iter().map(PortSpec::range_hint).collect();
    Owned {
        descriptor: Descriptor {
            unique_id: id,
            label: label.as_ptr(),
            properties: PROPERTY_HARD_RT_CAPABLE,
            name: name.as_ptr(),
            maker: c"Quell".as_ptr(),
            copyright: c"GPL-3.0-or-later".as_ptr(),
            port_count: ports.len() as c_ulong,
            port_descriptors: kinds.as_ptr(),
            port_names: names.as_ptr(),
            port_range_hints: hints.as_ptr(),
            implementation_data: ptr::null_mut(),
            instantiate: Some(instance::instantiate),
            connect_port: Some(instance::connect_port),
            activate: Some(instance::activate),
            run: Some(instance::run),
            run_adding: None,
            set_run_adding_gain: None,
            deactivate: Some(instance::deactivate),
            cleanup: Some(instance::cleanup),
        },
        _kinds: kinds,
        _names: names,
        _hints: hints,
    }
}

fn all() -> &'static [Owned; 2] {
    static ALL: OnceLock<[Owned; 2]> = OnceLock::new();
    ALL.get_or_init(|| {
        [
            build(
                MONO_ID,
                c"quell_mono",
                c"Quell noise suppressor (mono)",
                &MONO,
            ),
            build(
                STEREO_ID,
                c"quell_stereo",
                c"Quell noise suppressor (stereo)",
                &STEREO,
            ),
        ]
    })
}

pub fn get(index: usize) -> Option<&'static Descriptor> {
    all().get(index).map(|o| &o.descriptor)
}

/// The port table behind a descriptor handed out by [`get`].
pub fn ports_of(d: *const Descriptor) -> Option<&'static [PortSpec]> {
    let all = all();
    if ptr::eq(d, &all[0].descriptor) {
        Some(&MONO)
    } else if ptr::eq(d, &all[1].descriptor) {
        Some(&STEREO)
    } else {
        None
    }
}
