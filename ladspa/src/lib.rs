//! Quell as a LADSPA plugin: `quell_mono` and `quell_stereo`, thin glue over `quell-core`'s engine,
//! with every bundled model selectable by a control port. Built as `libquell_ladspa.so` for
//! PipeWire's filter-chain (see `docs/pipewire.md`), `applyplugin` and other LADSPA hosts.

mod abi;
mod descriptor;
mod instance;
mod ports;

#[cfg(test)]
mod alloc_tests;

use std::ffi::c_ulong;

/// LADSPA's entry point: descriptor `index`, or NULL past the last one.
#[unsafe(no_mangle)]
pub extern "C" fn ladspa_descriptor(index: c_ulong) -> *const abi::Descriptor {
    descriptor::get(index as usize).map_or(std::ptr::null(), |d| d as *const _)
}
