//! Level meters with a falling peak, and the smoothed readouts beside them.

use egui::{Color32, Rect, pos2, vec2};

/// Meter range, dBFS.
const METER_FLOOR_DB: f32 = -60.0;
/// How fast a meter falls, dB per second.
const FALL_DB_PER_S: f32 = 30.0;

#[derive(Default)]
pub struct Meter {
    pub db: f32,
}

impl Meter {
    /// Take a new peak (linear) measured over `dt` seconds.
    pub fn update(&mut self, peak: f32, dt: f32) {
        let new = 20.0 * peak.max(1e-6).log10();
        let fallen = self.db - FALL_DB_PER_S * dt;
        self.db = new.max(fallen).max(METER_FLOOR_DB);
    }
}

pub fn draw(ui: &mut egui::Ui, label: &str, m: &Meter, height: f32) {
    ui.vertical(|ui| {
        ui.label(label);
        let (rect, _) = ui.allocate_exact_size(vec2(22.0, height), egui::Sense::hover());
        let painter = ui.painter_at(rect);
        painter.rect_filled(rect, 2.0, Color32::from_gray(25));
        let frac = ((m.db - METER_FLOOR_DB) / -METER_FLOOR_DB).clamp(0.0, 1.0);
        let top = rect.bottom() - frac * rect.height();
        let colour = if m.db > -1.0 {
            Color32::from_rgb(230, 60, 50)
        } else if m.db > -12.0 {
            Color32::from_rgb(230, 200, 60)
        } else {
            Color32::from_rgb(70, 200, 110)
        };
        painter.rect_filled(
            Rect::from_min_max(pos2(rect.left(), top), rect.max),
            2.0,
            colour,
        );
        ui.label(if m.db <= METER_FLOOR_DB {
            "-inf".to_string()
        } else {
            format!("{:.0}", m.db)
        });
    });
}

/// Exponential average with a time constant in seconds.
#[derive(Default)]
pub struct Smoother {
    pub value: f32,
}

impl Smoother {
    pub fn update(&mut self, x: f32, dt: f32, tau: f32) {
        let a = 1.0 - (-dt / tau).exp();
        self.value += (x - self.value) * a;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_jumps_up_and_falls_slowly() {
        let mut m = Meter { db: -60.0 };
        m.update(1.0, 0.03);
        assert!(m.db.abs() < 1e-3);
        m.update(0.0, 0.1);
        assert!((m.db + 3.0).abs() < 1e-3);
        for _ in 0..100 {
            m.update(0.0, 0.1);
        }
        assert_eq!(m.db, METER_FLOOR_DB);
    }
}
