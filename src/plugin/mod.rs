//! Thin CLAP/VST3 glue around the engine: parameters in, audio through, telemetry out.

mod editor;
mod handoff;
pub mod params;
mod telemetry;

use nice_plug::prelude::*;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use crate::engine::{Engine, ModelInstance};
use crate::model::{ModelWeights, bundled};
use params::QuellParams;
use telemetry::Telemetry;

pub enum Task {
    /// Build bundled model `index` for the current rate and channel count.
    Prepare {
        index: usize,
        sample_rate: f32,
        channels: usize,
    },
    /// Drop retired model instances.
    Collect,
}

pub struct Quell {
    params: Arc<QuellParams>,
    telemetry: Arc<Telemetry>,
    loader: Arc<handoff::Loader>,
    receiver: handoff::Receiver,
    engine: Option<Engine>,
    /// Model index running in the engine, and the one requested from the background task.
    running_model: usize,
    requested_model: usize,
    /// Test hook: with the `assert_process_allocs` feature and QUELL_TEST_PLANT_ALLOC=1 in the
    /// environment at creation, `process()` allocates on purpose, to prove the detector is armed.
    #[cfg(feature = "assert_process_allocs")]
    plant_alloc: bool,
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
        Self {
            params: Arc::new(QuellParams::default()),
            telemetry: Arc::new(Telemetry::default()),
            loader,
            receiver,
            engine: None,
            running_model: 0,
            requested_model: 0,
            #[cfg(feature = "assert_process_allocs")]
            plant_alloc: std::env::var_os("QUELL_TEST_PLANT_ALLOC").is_some_and(|v| v == "1"),
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
    type BackgroundTask = Task;

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn task_executor(&mut self) -> TaskExecutor<Self> {
        let loader = self.loader.clone();
        Box::new(move |task| match task {
            Task::Prepare {
                index,
                sample_rate,
                channels,
            } => loader.prepare(index, sample_rate, channels),
            Task::Collect => loader.collect_trash(),
        })
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(self.params.clone(), self.telemetry.clone())
    }

    type Editor = nice_plug_egui::EguiEditor<editor::QuellEditor>;

    fn activate(
        &mut self,
        layout: &AudioIOLayout,
        config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        let channels = layout.main_output_channels.map_or(1, |c| c.get() as usize);
        let index = self
            .params
            .model
            .value()
            .index()
            .min(self.loader.weights.len() - 1);
        let instance = match ModelInstance::new(
            self.loader.weights[index].clone(),
            config.sample_rate,
            channels,
        ) {
            Ok(i) => i,
            Err(e) => {
                nice_log!("quell: cannot activate: {e}");
                return false;
            }
        };
        let engine = Engine::new(Box::new(instance), self.params.engine_params());
        context.set_latency_samples(engine.latency() as u32);
        self.telemetry
            .latency_samples
            .store(engine.latency() as u32, Ordering::Relaxed);
        self.telemetry
            .sample_rate
            .store(config.sample_rate, Ordering::Relaxed);
        self.telemetry
            .active_model
            .store(index as u32, Ordering::Relaxed);
        self.engine = Some(engine);
        self.running_model = index;
        self.requested_model = index;
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
        let Some(engine) = &mut self.engine else {
            return ProcessStatus::Normal;
        };
        engine.set_params(self.params.engine_params());

        // Model switching: ask the background task once, swap when the instance arrives.
        let wanted = self
            .params
            .model
            .value()
            .index()
            .min(self.loader.weights.len() - 1);
        if wanted != self.requested_model {
            self.requested_model = wanted;
            context.execute_background(Task::Prepare {
                index: wanted,
                sample_rate: engine.grid().sample_rate,
                channels: engine.channels(),
            });
        }
        if let Some(inst) = self.receiver.take() {
            match engine.swap_model(inst) {
                Ok(old) => {
                    self.receiver.retire(old);
                    self.running_model = self.requested_model;
                    self.telemetry
                        .active_model
                        .store(self.running_model as u32, Ordering::Relaxed);
                }
                // Built for another rate/layout (a reactivation raced it): discard.
                Err(stale) => self.receiver.retire(stale),
            }
            context.execute_background(Task::Collect);
        }

        let io = buffer.as_slice();
        self.telemetry
            .input_peak
            .store(telemetry::peak(io), Ordering::Relaxed);
        engine.process(io);
        self.telemetry
            .output_peak
            .store(telemetry::peak(io), Ordering::Relaxed);
        self.telemetry.publish_gains(engine.band_gains(0));
        self.telemetry.vad.store(engine.vad()[0], Ordering::Relaxed);
        ProcessStatus::Normal
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
