//! One plugin instance and the C callbacks that drive it.
//!
//! Everything that allocates happens in `instantiate` (the engine and one prepared instance of every
//! bundled model) and `cleanup`. `activate`, `connect_port` and `run` never allocate, lock or log.
//!
//! Latency: the gate's retroactive grace adds delay, and LADSPA hosts read the `latency` port at
//! best once per activation. So the grace (and the gate's on/off state, which decides whether there
//! is any) is latched at the first `run` after `activate` — not at `activate` itself, because hosts
//! may connect or fill control ports after it. Changing them later takes effect at the next
//! deactivate/activate; every other control applies on the next `run`.

use std::ffi::c_ulong;
use std::ptr;
use std::sync::{Arc, OnceLock};

use quell_core::model::ModelWeights;
use quell_core::model::bundled::BUNDLED;
use quell_core::{Engine, ModelInstance};

use crate::abi::{Data, Descriptor, Handle};
use crate::descriptor;
use crate::ports::{self, Control, PortSpec, RawControls, Slot};

/// Parsed bundled models, shared by every instance in the process.
fn weights() -> Option<&'static [Arc<ModelWeights>]> {
    static WEIGHTS: OnceLock<Option<Vec<Arc<ModelWeights>>>> = OnceLock::new();
    WEIGHTS
        .get_or_init(|| {
            BUNDLED
                .iter()
                .map(|m| ModelWeights::from_bytes(m.bytes).ok().map(Arc::new))
                .collect()
        })
        .as_deref()
}

pub struct Instance {
    ports: &'static [PortSpec],
    channels: usize,
    engine: Engine,
    /// Prepared models not in the engine; the running one's slot is empty. A model swapped out in
    /// `run` is parked here, so nothing is ever dropped on the audio thread.
    models: Vec<Option<Box<ModelInstance>>>,
    active_model: usize,
    inputs: [*const Data; 2],
    outputs: [*mut Data; 2],
    controls: [*mut Data; Control::COUNT],
    /// Set by `activate`: the next `run` latches the grace and starts from clean state.
    fresh: bool,
    grace_ms: f32,
}

impl Instance {
    fn new(ports: &'static [PortSpec], sample_rate: f32) -> Option<Self> {
        let channels = ports
            .iter()
            .filter(|p| matches!(p.slot, Slot::Input(_)))
            .count();
        let weights = weights()?;
        let mut models = Vec::with_capacity(weights.len());
        for w in weights {
            models.push(Some(Box::new(
                ModelInstance::new(w.clone(), sample_rate, channels).ok()?,
            )));
        }
        let first = models[0].take()?;
        let engine = Engine::new(first, ports::engine_params(&[f32::NAN; Control::COUNT]));
        Some(Self {
            ports,
            channels,
            engine,
            models,
            active_model: 0,
            inputs: [ptr::null(); 2],
            outputs: [ptr::null_mut(); 2],
            controls: [ptr::null_mut(); Control::COUNT],
            fresh: true,
            grace_ms: 0.0,
        })
    }

    fn connect(&mut self, port: usize, data: *mut Data) {
        match self.ports.get(port).map(|p| p.slot) {
            Some(Slot::Input(c)) => self.inputs[c] = data,
            Some(Slot::Output(c)) => self.outputs[c] = data,
            Some(Slot::Control(c)) => {
                self.controls[c as usize] = data;
                if c == Control::Latency {
                    self.report_latency();
                }
            }
            None => {}
        }
    }

    fn raw_controls(&self) -> RawControls {
        let mut raw = [f32::NAN; Control::COUNT];
        for (r, &p) in raw.iter_mut().zip(&self.controls) {
            if !p.is_null() {
                // SAFETY: the host connected this port to a live LADSPA_Data.
                *r = unsafe { p.read_volatile() };
            }
        }
        raw
    }

    fn report_latency(&self) {
        let p = self.controls[Control::Latency as usize];
        if !p.is_null() {
            // SAFETY: as above; an output control port is ours to write.
            unsafe { p.write_volatile(self.engine.latency() as f32) };
        }
    }

    fn apply_controls(&mut self) {
        let raw = self.raw_controls();
        let mut params = ports::engine_params(&raw);
        if self.fresh {
            self.grace_ms = ports::grace_ms(&raw);
            params.gate_lookback_ms = self.grace_ms;
            self.engine.set_params(params);
            // Reset after the params are in: the gate starts closed when it is on.
            self.engine.reset();
            self.fresh = false;
        }
        params.gate_lookback_ms = self.grace_ms;
        self.engine.set_params(params);
        self.switch_model(ports::model_index(&raw));
    }

    fn switch_model(&mut self, wanted: usize) {
        if wanted == self.active_model {
            return;
        }
        let Some(mut next) = self.models.get_mut(wanted).and_then(Option::take) else {
            return;
        };
        // It may have run before: do not resume from its old recurrent state.
        next.reset();
        match self.engine.swap_model(next) {
            Ok(old) => {
                self.models[self.active_model] = Some(old);
                self.active_model = wanted;
            }
            // Unreachable: all were built for this rate and channel count. Keep it anyway.
            Err(back) => self.models[wanted] = Some(back),
        }
    }

    /// Tones the hum remover is notching now (for the allocation test).
    #[cfg(test)]
    pub(crate) fn hum_tones(&self) -> usize {
        self.engine.hum_tones().count()
    }

    fn run(&mut self, n: usize) {
        self.apply_controls();
        let ch = self.channels;
        let (ins, outs) = (&self.inputs[..ch], &self.outputs[..ch]);
        if outs.iter().any(|p| p.is_null()) {
            return;
        }
        if ins.iter().any(|p| p.is_null()) {
            for &o in outs {
                // SAFETY: a connected output port holds at least `n` samples.
                unsafe { ptr::write_bytes(o, 0, n) };
            }
            return;
        }
        // Process in the output buffers. Hosts may pass the same buffer as input and output
        // (in place): then there is nothing to copy, and no input slice is ever formed, so input
        // and output never alias as Rust references. Not handled: a stereo host crossing buffers
        // (input R = output L); copying L first would overwrite R's input. No
        // host is known to do that.
        for (&i, &o) in ins.iter().zip(outs) {
            if !ptr::eq(i, o) {
                // SAFETY: both hold `n` samples; `copy` tolerates overlap.
                unsafe { ptr::copy(i, o, n) };
            }
        }
        // SAFETY: the output buffers hold `n` samples each and, checked here, are distinct.
        unsafe {
            if ch == 2 && !ptr::eq(outs[0], outs[1]) {
                let mut bufs = [
                    std::slice::from_raw_parts_mut(outs[0], n),
                    std::slice::from_raw_parts_mut(outs[1], n),
                ];
                self.engine.process(&mut bufs);
            } else {
                // Mono, or a host that gave both stereo outputs one buffer: one channel.
                let mut bufs = [std::slice::from_raw_parts_mut(outs[0], n)];
                self.engine.process(&mut bufs);
            }
        }
        self.report_latency();
    }
}

/// # Safety
/// `descriptor` must be one this library handed out.
pub unsafe extern "C" fn instantiate(descriptor: *const Descriptor, rate: c_ulong) -> Handle {
    let Some(ports) = descriptor::ports_of(descriptor) else {
        return ptr::null_mut();
    };
    // A rate the engine cannot run at fails here, where hosts expect failures.
    match Instance::new(ports, rate as f32) {
        Some(i) => Box::into_raw(Box::new(i)).cast(),
        None => ptr::null_mut(),
    }
}

/// # Safety
/// `h` must come from [`instantiate`] and not be cleaned up.
unsafe fn instance<'a>(h: Handle) -> Option<&'a mut Instance> {
    // SAFETY: per the caller's contract; hosts never call one instance from two threads at once.
    unsafe { h.cast::<Instance>().as_mut() }
}

/// # Safety
/// LADSPA's contract for `connect_port`.
pub unsafe extern "C" fn connect_port(h: Handle, port: c_ulong, data: *mut Data) {
    if let Some(i) = unsafe { instance(h) } {
        i.connect(port as usize, data);
    }
}

/// # Safety
/// LADSPA's contract for `activate`.
pub unsafe extern "C" fn activate(h: Handle) {
    if let Some(i) = unsafe { instance(h) } {
        i.fresh = true;
    }
}

/// # Safety
/// LADSPA's contract for `run`: every port connected, audio buffers of `n` samples.
pub unsafe extern "C" fn run(h: Handle, n: c_ulong) {
    if let Some(i) = unsafe { instance(h) } {
        i.run(n as usize);
    }
}

/// # Safety
/// LADSPA's contract for `deactivate`.
pub unsafe extern "C" fn deactivate(_h: Handle) {}

/// # Safety
/// `h` must come from [`instantiate`]; it is freed here.
pub unsafe extern "C" fn cleanup(h: Handle) {
    if !h.is_null() {
        // SAFETY: made by Box::into_raw in `instantiate`, freed once.
        drop(unsafe { Box::from_raw(h.cast::<Instance>()) });
    }
}
