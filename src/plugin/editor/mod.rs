//! The egui editor: the live mask over time, the input spectrum, meters, and the controls.
//! Reads the audio thread's output only through the lock-free feed and atomics.

mod file_picker;
mod meters;
mod spectrogram;
mod trace;

use nice_plug::prelude::*;
use nice_plug_egui::resizable_window::ResizableWindow;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    EguiEditor, EguiNiceSettings, NiceEguiApp, RepaintNotifier, create_egui_editor,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::feed::SpectrumFeed;
use super::handoff::{Loader, UserModelStatus};
use super::params::{DEFAULT_EDITOR_SIZE, ListenChoice, MIN_EDITOR_SIZE, ModelChoice, QuellParams};
use super::telemetry::{Telemetry, USER_MODEL};
use crate::dsp::grid::FrameGrid;
use nice_plug::context::gui::{GuiContext, ParamSetter};

/// Everything the editor shares with the plugin.
pub struct Shared {
    pub params: Arc<QuellParams>,
    pub telemetry: Arc<Telemetry>,
    pub feed: Arc<SpectrumFeed>,
    pub loader: Arc<Loader>,
    pub files: Arc<super::worker::FileRequests>,
}

pub struct QuellEditor {
    s: Shared,
    gui: Option<GuiContext>,
    history: spectrogram::History,
    next_frame: u64,
    frames_dropped: u64,
    meter_in: meters::Meter,
    meter_out: meters::Meter,
    removed: meters::Smoother,
    speech: f32,
    gate_gain: f32,
    last_paint: Option<Instant>,
    picker: file_picker::FilePicker,
    /// Load requested: user-model generation before it, and the path.
    pending_load: Option<(u32, String)>,
    /// The saved size and zoom are applied on the first frame after opening; window sizes seen
    /// before that are the host's default, not the user's choice.
    size_restored: bool,
    trace: Option<trace::Trace>,
}

pub fn create(shared: Shared) -> Option<EguiEditor<QuellEditor>> {
    let state = shared.params.editor_state.clone();
    let min = nice_plug::editor::dpi::LogicalSize::new(MIN_EDITOR_SIZE.0, MIN_EDITOR_SIZE.1);
    create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::new()
            .with_tile("Quell")
            .with_resize_hint(ResizeHint::resizable().with_min_logical_size(min))
            .with_repaint_poll_interval(std::time::Duration::from_millis(33)),
        QuellEditor {
            s: shared,
            gui: None,
            history: spectrogram::History::default(),
            next_frame: 0,
            frames_dropped: 0,
            meter_in: meters::Meter { db: -60.0 },
            meter_out: meters::Meter { db: -60.0 },
            removed: meters::Smoother::default(),
            speech: 0.0,
            gate_gain: 1.0,
            last_paint: None,
            picker: file_picker::FilePicker::default(),
            pending_load: None,
            size_restored: false,
            trace: trace::Trace::from_env(),
        },
    )
}

fn set<P: Param>(setter: &ParamSetter, p: &P, v: P::Plain) {
    setter.begin_set_parameter(p);
    setter.set_parameter(p, v);
    setter.end_set_parameter(p);
}

fn toggle(ui: &mut egui::Ui, setter: &ParamSetter, p: &BoolParam, label: &str) {
    let mut v = p.value();
    let r = ui.checkbox(&mut v, label);
    if r.changed() {
        set(setter, p, v);
    }
    mark(ui, p.name(), &r);
}

/// Names whose on-screen rectangles go into the test trace, so scripts can click them.
const MARKS: &[&str] = &[
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
    "Hum Removal",
    "Reverb Reduction",
    "Contrast",
    "listen-output",
    "listen-removed",
    "load",
    "zoom",
    "model-0",
    "model-1",
    "model-2",
    "model-3",
    "zoom-200",
    "zoom-100",
    "file-path",
    "file-load",
];

fn mark(ui: &egui::Ui, name: &str, r: &egui::Response) {
    ui.ctx()
        .data_mut(|d| d.insert_temp(egui::Id::unique(("quell-mark", name)), r.rect));
}

fn slider<P: Param>(ui: &mut egui::Ui, setter: &ParamSetter, p: &P, width: f32) {
    let r = ui.add(ParamSlider::for_param(p, setter).with_width(width));
    mark(ui, p.name(), &r);
}

fn mmacs(macs_per_frame: usize) -> f32 {
    // 200 hops per second at every rate.
    macs_per_frame as f32 * 200.0 / 1e6
}

impl QuellEditor {
    fn model_label(&self, c: ModelChoice) -> String {
        let names = ModelChoice::variants();
        let i = c.to_index();
        match c {
            ModelChoice::User => match self.s.loader.status() {
                UserModelStatus::Loaded {
                    name,
                    macs_per_frame,
                    ..
                } => format!("User file: {name} · {:.0} MMAC/s", mmacs(macs_per_frame)),
                _ => "User file (none loaded)".to_string(),
            },
            _ => match self.s.loader.weights.get(i) {
                Some(w) => format!(
                    "{} · {:.1} MMAC/s · {}k params",
                    names[i],
                    mmacs(w.macs_per_frame()),
                    w.parameter_count() / 1000
                ),
                None => names[i].to_string(),
            },
        }
    }

    fn running_label(&self) -> String {
        let a = self.s.telemetry.active_model.load(Ordering::Relaxed);
        if a == USER_MODEL {
            "user file".into()
        } else {
            ModelChoice::variants()
                .get(a as usize)
                .copied()
                .unwrap_or("?")
                .to_string()
        }
    }

    /// Pull new frames and peaks; advance meters.
    fn poll(&mut self, dt: f32) {
        let hist = &mut self.history;
        let removed = &mut self.removed;
        let (mut speech, mut gate) = (None, None);
        self.frames_dropped += self.s.feed.read_since(&mut self.next_frame, |f| {
            hist.push(f);
            removed.update(f.removed_db, 0.005, 0.4);
            speech = Some(f.speech);
            gate = Some(f.gate_gain);
        });
        self.speech = speech.unwrap_or(self.speech);
        self.gate_gain = gate.unwrap_or(self.gate_gain);
        let (pin, pout) = self.s.telemetry.take_peaks();
        self.meter_in.update(pin, dt);
        self.meter_out.update(pout, dt);
    }

    fn restore_size(&mut self, ui: &egui::Ui) {
        if self.size_restored {
            return;
        }
        self.size_restored = true;
        let p = &self.s.params;
        let zoom = p.editor_zoom.read().map(|z| *z).unwrap_or(1.0);
        let (w, h) = p
            .editor_size
            .read()
            .map(|s| *s)
            .unwrap_or(DEFAULT_EDITOR_SIZE);
        ui.ctx().set_zoom_factor(zoom.clamp(0.5, 3.0));
        ui.send_viewport_cmd(egui::ViewportCommand::InnerSize(egui::vec2(
            w.max(MIN_EDITOR_SIZE.0),
            h.max(MIN_EDITOR_SIZE.1),
        )));
    }

    fn header(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let p = self.s.params.clone();
        ui.horizontal(|ui| {
            ui.heading("Quell");
            ui.separator();
            ui.label("Model");
            let current = p.model.value();
            let combo = egui::ComboBox::from_id_salt("model")
                .width(330.0)
                .selected_text(self.model_label(current))
                .show_ui(ui, |ui| {
                    for i in 0..ModelChoice::variants().len() {
                        let c = ModelChoice::from_index(i);
                        let r = ui.selectable_label(c == current, self.model_label(c));
                        mark(
                            ui,
                            ["model-0", "model-1", "model-2", "model-3"][i.min(3)],
                            &r,
                        );
                        if r.clicked() {
                            set(setter, &p.model, c);
                        }
                    }
                });
            mark(ui, "Model", &combo.response);
            let load = ui.button("Load model file...");
            mark(ui, "load", &load);
            if load.clicked() {
                let last = p.user_model_path.read().ok().and_then(|x| x.clone());
                self.picker.open_at(last.as_deref());
            }
            ui.separator();
            toggle(ui, setter, &p.bypass, "Bypass");
            ui.separator();
            let zoom = ui.ctx().zoom_factor();
            let combo = egui::ComboBox::from_id_salt("zoom")
                .width(60.0)
                .selected_text(format!("{:.0}%", zoom * 100.0))
                .show_ui(ui, |ui| {
                    for z in [1.0f32, 1.25, 1.5, 2.0] {
                        let r = ui.selectable_label(
                            (z - zoom).abs() < 0.01,
                            format!("{:.0}%", z * 100.0),
                        );
                        if z == 2.0 {
                            mark(ui, "zoom-200", &r);
                        } else if z == 1.0 {
                            mark(ui, "zoom-100", &r);
                        }
                        if r.clicked() {
                            ui.ctx().set_zoom_factor(z);
                            if let Ok(mut s) = p.editor_zoom.write() {
                                *s = z;
                            }
                        }
                    }
                });
            mark(ui, "zoom", &combo.response);
        });

        // The user file's state, and where a load stands.
        let status = self.s.loader.status();
        if let Some((gen_before, path)) = &self.pending_load {
            if self.s.loader.user_generation() > *gen_before {
                set(setter, &p.model, ModelChoice::User);
                self.picker.open = false;
                self.pending_load = None;
            } else if matches!(&status, UserModelStatus::Rejected { path: q, .. } if q == path) {
                self.pending_load = None;
            }
        }
        match &status {
            UserModelStatus::Rejected { path, error } if self.picker.open => {
                ui.colored_label(
                    egui::Color32::from_rgb(240, 110, 90),
                    format!("Model file rejected: {path}: {error}"),
                );
            }
            UserModelStatus::Loaded { path, params, .. }
                if p.model.value() == ModelChoice::User =>
            {
                ui.weak(format!("User model: {path} ({}k params)", params / 1000));
            }
            _ => {}
        }
        if p.model.value() == ModelChoice::User && self.s.loader.user_generation() == 0 {
            ui.weak("No model file loaded: running the standard model until one is.");
        }
        if self.picker.open
            && let Some(path) = self.picker.ui(ui)
        {
            self.pending_load = Some((self.s.loader.user_generation(), path.display().to_string()));
            self.s.files.load(path);
        }
    }

    fn controls(&mut self, ui: &mut egui::Ui, setter: &ParamSetter) {
        let p = self.s.params.clone();
        ui.add_space(4.0);
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new("Strength").size(20.0).strong());
            ui.label(
                egui::RichText::new(format!(
                    "{:.0} dB max attenuation in pauses, {:.0} dB in speech",
                    p.strength.value(),
                    p.speech_strength.value().min(p.strength.value())
                ))
                .size(16.0),
            );
        });
        ui.scope(|ui| {
            ui.spacing_mut().interact_size.y = 30.0;
            let w = ui.available_width();
            slider(ui, setter, &p.strength, w);
        });
        ui.add_space(4.0);
        egui::Grid::new("controls")
            .num_columns(4)
            .spacing([12.0, 6.0])
            .show(ui, |ui| {
                ui.label("Speech strength");
                slider(ui, setter, &p.speech_strength, 200.0);
                ui.label("Listen");
                ui.horizontal(|ui| {
                    let now = p.listen.value();
                    for (choice, label, name) in [
                        (ListenChoice::Output, "Output", "listen-output"),
                        (ListenChoice::Removed, "Removed", "listen-removed"),
                    ] {
                        let r = ui
                            .selectable_label(now == choice, label)
                            .on_hover_text("Removed plays what Quell takes away");
                        mark(ui, name, &r);
                        if r.clicked() && now != choice {
                            set(setter, &p.listen, choice);
                        }
                    }
                    toggle(ui, setter, &p.hum_removal, "Hum removal");
                });
                ui.end_row();
                // Only models with the reverb head can keep the room; others show it greyed out.
                let room = self.s.telemetry.reverb_head.load(Ordering::Relaxed);
                ui.label("Reverb reduction");
                ui.add_enabled_ui(room, |ui| slider(ui, setter, &p.reverb_reduction, 200.0));
                if room {
                    ui.weak("0 dB keeps the room, 24 dB is full");
                } else {
                    ui.weak("unavailable: no reverb head");
                }
                ui.label("");
                ui.end_row();
                ui.label("Contrast");
                slider(ui, setter, &p.contrast, 200.0);
                ui.weak("0 = the model's own gains");
                ui.label("");
                ui.end_row();
                ui.label("Mix");
                slider(ui, setter, &p.mix, 200.0);
                ui.label("Output gain");
                slider(ui, setter, &p.output_gain, 200.0);
                ui.end_row();
                toggle(ui, setter, &p.gate, "VAD gate");
                ui.horizontal(|ui| {
                    ui.label("Threshold");
                    slider(ui, setter, &p.gate_threshold, 120.0);
                });
                ui.label("Hold");
                slider(ui, setter, &p.gate_hold, 200.0);
                ui.end_row();
                toggle(ui, setter, &p.stereo_link, "Stereo link");
                ui.label("");
                ui.label("Retroactive grace");
                slider(ui, setter, &p.gate_lookback, 200.0);
                ui.end_row();
            });
        ui.add_space(4.0);
    }

    fn readouts(&mut self, ui: &mut egui::Ui) {
        let t = &self.s.telemetry;
        // The meters give way when the file browser takes room from the middle of the window.
        let h = (ui.available_height() - 190.0).clamp(50.0, 150.0);
        ui.horizontal(|ui| {
            meters::draw(ui, "In", &self.meter_in, h);
            meters::draw(ui, "Out", &self.meter_out, h);
        });
        ui.separator();
        let rate = t.sample_rate.load(Ordering::Relaxed);
        let lat = t.latency_samples.load(Ordering::Relaxed);
        let ms = if rate > 0.0 {
            lat as f32 / rate * 1000.0
        } else {
            0.0
        };
        ui.label(format!("Noise removed: {:.1} dB", self.removed.value));
        ui.label(format!("Speech: {:.0}%", self.speech * 100.0));
        if self.s.params.gate.value() {
            ui.label(if self.gate_gain > 0.5 {
                "Gate: open"
            } else {
                "Gate: closed"
            });
        }
        ui.label(format!("Latency: {ms:.1} ms ({lat} smp)"));
        ui.label(format!(
            "CPU: {:.2}% of a core",
            t.cpu_load.load(Ordering::Relaxed) * 100.0
        ));
        ui.label(format!("Running: {}", self.running_label()));
    }

    fn pictures(&mut self, ui: &mut egui::Ui) {
        let limit = self.s.params.strength.value().max(1.0);
        let rate = self.s.telemetry.sample_rate.load(Ordering::Relaxed);
        let top = FrameGrid::for_rate(rate)
            .map(|g| g.sample_rate / 2.0)
            .unwrap_or(24_000.0);
        self.history.update_textures(ui.ctx(), limit);
        ui.horizontal(|ui| {
            ui.strong("Mask (gain applied)");
            spectrogram::legend(ui, limit);
        });
        let gate = self.s.params.gate.value();
        let h = (ui.available_height() - if gate { 50.0 } else { 40.0 }).max(120.0);
        spectrogram::draw(ui, self.history.mask_texture(), h * 0.6, top);
        if gate {
            self.history.draw_gate(ui);
        }
        ui.strong("Input spectrum");
        spectrogram::draw(ui, self.history.input_texture(), h * 0.4, top);
    }

    fn write_trace(&mut self, ui: &egui::Ui) {
        let Some(trace) = &mut self.trace else { return };
        let p = &self.s.params;
        let t = &self.s.telemetry;
        let rect = ui.ctx().content_rect();
        let status = match self.s.loader.status() {
            UserModelStatus::None => "none".to_string(),
            UserModelStatus::Loaded { name, .. } => format!("loaded:{name}"),
            UserModelStatus::Rejected { error, .. } => format!("rejected:{error}"),
        };
        let (mi, mo) = (self.meter_in.db, self.meter_out.db);
        let zoom = ui.ctx().zoom_factor();
        // Rectangles in window pixels (points times zoom), drawn this frame or earlier.
        let widgets: serde_json::Map<String, serde_json::Value> = MARKS
            .iter()
            .filter_map(|&name| {
                let r: egui::Rect = ui
                    .ctx()
                    .data(|d| d.get_temp(egui::Id::unique(("quell-mark", name))))?;
                let px = |v: f32| (v * zoom).round();
                Some((
                    name.to_string(),
                    serde_json::json!([px(r.left()), px(r.top()), px(r.right()), px(r.bottom())]),
                ))
            })
            .collect();
        trace.tick(|| {
            serde_json::json!({
                "strength": p.strength.value(),
                "speech_strength": p.speech_strength.value(),
                "reverb_reduction": p.reverb_reduction.value(),
                "contrast": p.contrast.value(),
                "reverb_head": t.reverb_head.load(Ordering::Relaxed),
                "listen": format!("{:?}", p.listen.value()),
                "hum": p.hum_removal.value(),
                "mix": p.mix.value(),
                "gain_db": p.output_gain.value(),
                "model": format!("{:?}", p.model.value()),
                "running": t.active_model.load(Ordering::Relaxed),
                "link": p.stereo_link.value(),
                "bypass": p.bypass.value(),
                "gate": p.gate.value(),
                "gate_threshold": p.gate_threshold.value(),
                "gate_hold_ms": p.gate_hold.value(),
                "gate_lookback_ms": p.gate_lookback.value(),
                "gate_gain": self.gate_gain,
                "speech": self.speech,
                "latency": t.latency_samples.load(Ordering::Relaxed),
                "in_db": mi,
                "out_db": mo,
                "removed_db": self.removed.value,
                "cpu": t.cpu_load.load(Ordering::Relaxed),
                "frames_seen": self.history.frames_seen,
                "frames_dropped": self.frames_dropped,
                "window_points": [rect.width(), rect.height()],
                "zoom": ui.ctx().zoom_factor(),
                "saved_size": *p.editor_size.read().unwrap(),
                "user_model": status,
                "widgets": widgets,
            })
        });
    }
}

impl NiceEguiApp for QuellEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(gui);
        self.size_restored = false;
        // Start the pictures at "now" rather than replaying what was queued while closed.
        self.next_frame = self.s.feed.written();
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = self.gui.clone() else { return };
        let setter = gui.param_setter();
        let now = Instant::now();
        let dt = self
            .last_paint
            .map_or(0.0, |t| now.duration_since(t).as_secs_f32());
        self.last_paint = Some(now);
        self.restore_size(ui);
        self.poll(dt);

        let min = egui::vec2(MIN_EDITOR_SIZE.0, MIN_EDITOR_SIZE.1);
        ResizableWindow::new("quell-resize")
            .min_size(min)
            .show(ui, |ui| {
                egui::Panel::top("header").show(ui, |ui| self.header(ui, &setter));
                egui::Panel::bottom("controls").show(ui, |ui| self.controls(ui, &setter));
                egui::Panel::right("meters")
                    .resizable(false)
                    .exact_size(170.0)
                    .show(ui, |ui| self.readouts(ui));
                egui::CentralPanel::default().show(ui, |ui| self.pictures(ui));
            });
        self.write_trace(ui);
        ui.ctx().request_repaint();
    }

    fn resized(&mut self, size: nice_plug_egui::baseview::WindowSize) {
        if !self.size_restored {
            return;
        }
        // egui-baseview reports the size in egui points (zoom already divided out).
        if let Ok(mut s) = self.s.params.editor_size.write() {
            *s = (
                (size.logical.width as f32).max(MIN_EDITOR_SIZE.0),
                (size.logical.height as f32).max(MIN_EDITOR_SIZE.1),
            );
        }
    }
}
