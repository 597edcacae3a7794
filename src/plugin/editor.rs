//! A compact egui editor: the live band mask, the controls, and the plugin's latency.

use nice_plug::context::gui::GuiContext;
use nice_plug_egui::widgets::ParamSlider;
use nice_plug_egui::{
    EguiEditor, EguiNiceSettings, NiceEguiApp, RepaintNotifier, create_egui_editor,
};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::params::QuellParams;
use super::telemetry::Telemetry;

pub struct QuellEditor {
    params: Arc<QuellParams>,
    telemetry: Arc<Telemetry>,
    gui: Option<GuiContext>,
}

pub fn create(
    params: Arc<QuellParams>,
    telemetry: Arc<Telemetry>,
) -> Option<EguiEditor<QuellEditor>> {
    let state = params.editor_state.clone();
    create_egui_editor(
        state,
        RepaintNotifier::new(),
        EguiNiceSettings::new()
            .with_tile("Quell")
            .with_repaint_poll_interval(std::time::Duration::from_millis(33)),
        QuellEditor {
            params,
            telemetry,
            gui: None,
        },
    )
}

impl NiceEguiApp for QuellEditor {
    fn build(
        &mut self,
        _egui_ctx: egui::Context,
        gui: GuiContext,
        _frame: &mut nice_plug_egui::Frame,
    ) -> Result<(), nice_plug_egui::baseview::HandlerError> {
        self.gui = Some(gui);
        Ok(())
    }

    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut nice_plug_egui::Frame) {
        let Some(gui) = &self.gui else { return };
        let setter = gui.param_setter();
        let p = &self.params;
        ui.heading("Quell noise suppressor");
        egui::Grid::new("controls").num_columns(2).show(ui, |ui| {
            ui.label("Strength (max attenuation)");
            ui.add(ParamSlider::for_param(&p.strength, &setter).with_width(260.0));
            ui.end_row();
            ui.label("Mix");
            ui.add(ParamSlider::for_param(&p.mix, &setter));
            ui.end_row();
            ui.label("Output gain");
            ui.add(ParamSlider::for_param(&p.output_gain, &setter));
            ui.end_row();
            ui.label("Model");
            ui.add(ParamSlider::for_param(&p.model, &setter));
            ui.end_row();
            ui.label("Stereo link");
            ui.add(ParamSlider::for_param(&p.stereo_link, &setter));
            ui.end_row();
            ui.label("Bypass");
            ui.add(ParamSlider::for_param(&p.bypass, &setter));
            ui.end_row();
        });
        let t = &self.telemetry;
        let rate = t.sample_rate.load(Ordering::Relaxed);
        let lat = t.latency_samples.load(Ordering::Relaxed);
        ui.label(format!(
            "Latency: {lat} samples ({:.2} ms)   speech probability: {:.2}",
            if rate > 0.0 {
                lat as f32 / rate * 1000.0
            } else {
                0.0
            },
            t.vad.load(Ordering::Relaxed)
        ));
        ui.label("Band gains (low to high frequency; dark = removed)");
        let gains = t.gains();
        let (rect, _) = ui.allocate_exact_size(
            egui::vec2(ui.available_width(), 120.0),
            egui::Sense::hover(),
        );
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, egui::Color32::from_gray(20));
        if !gains.is_empty() {
            let w = rect.width() / gains.len() as f32;
            for (i, g) in gains.iter().enumerate() {
                let h = rect.height() * g.clamp(0.0, 1.0);
                let x0 = rect.left() + i as f32 * w;
                let bar = egui::Rect::from_min_max(
                    egui::pos2(x0 + 1.0, rect.bottom() - h),
                    egui::pos2(x0 + w - 1.0, rect.bottom()),
                );
                let c = (g.clamp(0.0, 1.0) * 255.0) as u8;
                painter.rect_filled(bar, 0.0, egui::Color32::from_rgb(40, c, 255 - c / 2));
            }
        }
        ui.ctx().request_repaint();
    }
}
