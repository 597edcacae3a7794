//! Thin CLAP/VST3 glue around the engine: parameters in, audio through, telemetry out.

mod editor;
pub mod feed;
pub mod handoff;
pub mod params;
mod telemetry;
mod worker;

use nice_plug::prelude::*;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::engine::{Engine, ModelInstance};
use crate::model::{ModelWeights, bundled};
use feed::{FeedTap, FeedWriter, SpectrumFeed};
use handoff::ModelKey;
use params::QuellParams;
use telemetry::Telemetry;

pub struct Quell {
    params: Arc<QuellParams>,
    telemetry: Arc<Telemetry>,
    loader: Arc<handoff::Loader>,
    receiver: handoff::Receiver,
    /// Builds and drops model instances, reads user files; `requests` is the audio thread's way in.
    worker: worker::Worker,
    requests: worker::Requester,
    engine: Option<Engine>,
    /// The editor's spectrum view: written once per hop while the editor is open.
    feed: Arc<SpectrumFeed>,
    feed_writer: Option<FeedWriter>,
    /// Model requested from the loader thread (the engine may still run the previous one).
    requested_model: ModelKey,
    /// Retroactive grace in force since the last activation (part of the reported latency), and
    /// the value a restart was last requested for.
    active_grace_ms: f32,
    restart_asked_for: Option<f32>,
    /// Test hook: with the `assert_process_allocs` feature and QUELL_TEST_PLANT_ALLOC=1 in the
    /// environment at creation, `process()` allocates on purpose, to prove the detector is armed.
    #[cfg(feature = "assert_process_allocs")]
    plant_alloc: bool,
    /// Test hook: feed the editor's spectrum view even with no editor open (QUELL_TEST_FEED=1), so
    /// the allocation test covers that path too.
    #[cfg(feature = "assert_process_allocs")]
    force_feed: bool,
}

impl Default for Quell {
    fn default() -> Self {
        // Parse the bundled models once, here, never on the audio thread. A bundled model that fails
        // to parse is a build error caught by the tests.
        let weights: Vec<Arc<ModelWeights>> = bundled::BUNDLED
            .iter()
            .map(|m| Arc::new(ModelWeights::from_bytes(m.bytes).expect("bundled model is valid")))
            .collect();
        let (loader, receiver) = handoff::channel(weights);
        let params = Arc::new(QuellParams::default());
        let (worker, requests) = worker::spawn(loader.clone(), params.clone());
        Self {
            params,
            worker,
            requests,
            telemetry: Arc::new(Telemetry::default()),
            loader,
            receiver,
            engine: None,
            feed: Arc::new(SpectrumFeed::default()),
            feed_writer: None,
            requested_model: ModelKey::Bundled(0),
            active_grace_ms: 0.0,
            restart_asked_for: None,
            #[cfg(feature = "assert_process_allocs")]
            plant_alloc: std::env::var_os("QUELL_TEST_PLANT_ALLOC").is_some_and(|v| v == "1"),
            #[cfg(feature = "assert_process_allocs")]
            force_feed: std::env::var_os("QUELL_TEST_FEED").is_some_and(|v| v == "1"),
        }
    }
}

impl Plugin for Quell {
    const NAME: &'static str = "Quell";
    const VENDOR: &'static str = "Quell";
    const URL: &'static str = "https://example.invalid/quell";
    const EMAIL: &'static str = "quell@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(editor::Shared {
            params: self.params.clone(),
            telemetry: self.telemetry.clone(),
            feed: self.feed.clone(),
            loader: self.loader.clone(),
            files: self.worker.files.clone(),
        })
    }

    type Editor = nice_plug_egui::EguiEditor<editor::QuellEditor>;

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = layout.main_output_channels.map_or(1, |c| c.get() as usize);
        self.reload_saved_user_model();
        let mut key = self.params.model.value().key(self.loader.user_generation());
        // "User file" with no usable file: run the default until one is loaded.
        let weights = self.loader.weights_for(key).unwrap_or_else(|| {
            key = ModelKey::Bundled(0);
            self.loader.weights[0].clone()
        });
        let instance = match ModelInstance::new(weights, config.sample_rate, channels) {
            Ok(i) => i,
            Err(e) => {
                nice_log!("quell: cannot activate: {e}");
                return false;
            }
        };
        let params = self.params.engine_params();
        self.active_grace_ms = params.gate_lookback_ms;
        self.restart_asked_for = None;
        let engine = Engine::new(Box::new(instance), params);
        let latency = engine.latency() as u32;
        context.set_latency_samples(latency);
        self.telemetry
            .latency_samples
            .store(latency, Ordering::Relaxed);
        self.telemetry
            .sample_rate
            .store(config.sample_rate, Ordering::Relaxed);
        self.telemetry
            .set_active(key, engine.model().has_reverb_head());
        self.feed_writer = Some(FeedWriter::new(engine.grid()));
        self.engine = Some(engine);
        self.requested_model = key;
        true
    }

    fn reset(&mut self) {
        if let Some(e) = &mut self.engine {
            e.reset();
        }
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        #[cfg(feature = "assert_process_allocs")]
        if self.plant_alloc {
            std::hint::black_box(vec![0u8; 64]);
        }
        let started = Instant::now();
        let (Some(engine), Some(writer)) = (&mut self.engine, &mut self.feed_writer) else {
            return ProcessStatus::Normal;
        };
        let mut params = self.params.engine_params();
        // The gate's retroactive grace is a delay the host compensates, so it may only change at an
        // activation (CLAP and VST3 both say so): ask for a restart and keep the delay reported at
        // the last activation until it comes. A standalone has no host to tell: apply it at once.
        let wanted = params.gate_lookback_ms;
        if context.plugin_api() == PluginApi::Standalone {
            self.active_grace_ms = wanted;
        } else if wanted != self.active_grace_ms && self.restart_asked_for != Some(wanted) {
            self.restart_asked_for = Some(wanted);
            context.request_restart();
        }
        params.gate_lookback_ms = self.active_grace_ms;
        engine.set_params(params);
        self.telemetry
            .latency_samples
            .store(engine.latency() as u32, Ordering::Relaxed);

        // Model switching: ask the loader thread once, swap when the instance arrives. If its
        // request ring is full (the loader far behind), ask again next block.
        let wanted = self.params.model.value().key(self.loader.user_generation());
        if wanted != self.requested_model
            && self.requests.request(worker::Request {
                key: wanted,
                sample_rate: engine.grid().sample_rate,
                channels: engine.channels(),
            })
        {
            self.requested_model = wanted;
        }
        if let Some(prepared) = self.receiver.take() {
            let key = prepared.key;
            if key != self.requested_model {
                // Superseded by a newer request while it was being built.
                self.receiver.retire(prepared.instance);
            } else {
                match engine.swap_model(prepared.instance) {
                    Ok(old) => {
                        self.receiver.retire(old);
                        self.telemetry
                            .set_active(key, engine.model().has_reverb_head());
                    }
                    // Built for another rate/layout (a reactivation raced it): discard.
                    Err(stale) => self.receiver.retire(stale),
                }
            }
        }

        let io = buffer.as_slice();
        let input_peak = telemetry::peak(io);
        writer.enabled = self.params.editor_state.is_open();
        #[cfg(feature = "assert_process_allocs")]
        if self.force_feed {
            writer.enabled = true;
        }
        engine.process_observed(
            io,
            &mut FeedTap {
                writer,
                feed: &self.feed,
            },
        );
        self.telemetry.add_peaks(input_peak, telemetry::peak(io));
        let frames = io.first().map_or(0, |b| b.len());
        self.telemetry.add_load(
            started.elapsed().as_secs_f32(),
            frames as f32 / engine.grid().sample_rate,
        );
        ProcessStatus::Normal
    }
}

impl Quell {
    /// Off the audio thread: a project saved with a user model file names its path; read it again
    /// unless it is already the loaded one. A missing or bad file leaves the error for the editor.
    fn reload_saved_user_model(&self) {
        let saved = self
            .params
            .user_model_path
            .read()
            .ok()
            .and_then(|p| p.clone());
        let Some(path) = saved else { return };
        let current = match self.loader.status() {
            handoff::UserModelStatus::Loaded { path, .. } => Some(path),
            _ => None,
        };
        if current.as_deref() != Some(path.as_str()) {
            let _ = self.loader.load_user_file(std::path::Path::new(&path));
        }
    }
}

impl ClapPlugin for Quell {
    const CLAP_ID: &'static str = "org.quell.denoiser";
    const CLAP_DESCRIPTION: Option<&'static str> = Some("Real-time GRU voice noise suppressor");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Restoration,
        ClapFeature::Stereo,
        ClapFeature::Mono,
    ];
}

impl Vst3Plugin for Quell {
    const VST3_CLASS_ID: [u8; 16] = *b"QuellDenoiserGRU";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] =
        &[Vst3SubCategory::Fx, Vst3SubCategory::Restoration];
}

nice_export_clap!(Quell);
nice_export_vst3!(Quell);
