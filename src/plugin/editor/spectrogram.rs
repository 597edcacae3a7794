//! The scrolling time-frequency pictures: the mask the model applies and the input spectrum, one
//! column per 5 ms hop, log frequency upwards.

use egui::{Color32, ColorImage, Rect, TextureHandle, TextureOptions, pos2, vec2};

use crate::plugin::feed::{F_MAX, F_MIN, Frame, ROWS};

/// Columns of history (one per hop): 3 s.
pub const COLUMNS: usize = 600;
/// Input spectrum colour range, dB.
const INPUT_FLOOR_DB: f32 = -100.0;

pub struct History {
    mask: Vec<[f32; ROWS]>,
    input: Vec<[f32; ROWS]>,
    gate: Vec<f32>,
    /// Next column to write (ring over `COLUMNS`).
    head: usize,
    pub frames_seen: u64,
    mask_tex: Option<TextureHandle>,
    input_tex: Option<TextureHandle>,
}

impl Default for History {
    fn default() -> Self {
        Self {
            mask: vec![[0.0; ROWS]; COLUMNS],
            input: vec![[INPUT_FLOOR_DB; ROWS]; COLUMNS],
            gate: vec![1.0; COLUMNS],
            head: 0,
            frames_seen: 0,
            mask_tex: None,
            input_tex: None,
        }
    }
}

/// Perceptual-ish ramp from black through purple and orange to pale yellow.
fn ramp(t: f32) -> Color32 {
    const STOPS: [(f32, [f32; 3]); 5] = [
        (0.0, [0.0, 0.0, 0.02]),
        (0.25, [0.23, 0.06, 0.44]),
        (0.5, [0.71, 0.21, 0.48]),
        (0.75, [0.98, 0.53, 0.24]),
        (1.0, [0.99, 0.99, 0.75]),
    ];
    let t = t.clamp(0.0, 1.0);
    let i = STOPS.iter().rposition(|s| s.0 <= t).unwrap_or(0).min(3);
    let (t0, a) = STOPS[i];
    let (t1, b) = STOPS[i + 1];
    let u = (t - t0) / (t1 - t0);
    let c = |k: usize| ((a[k] + (b[k] - a[k]) * u) * 255.0) as u8;
    Color32::from_rgb(c(0), c(1), c(2))
}

/// Mask colour: 0 dB (kept) is brightest, `limit_db` below (fully removed) is black.
pub fn mask_colour(db: f32, limit_db: f32) -> Color32 {
    ramp(1.0 + db / limit_db.max(1.0))
}

fn input_colour(db: f32) -> Color32 {
    let t = ((db - INPUT_FLOOR_DB) / -INPUT_FLOOR_DB).clamp(0.0, 1.0);
    let v = (t * 255.0) as u8;
    Color32::from_rgb(v / 3, (v as f32 * 0.8) as u8, v)
}

impl History {
    pub fn push(&mut self, f: &Frame) {
        self.mask[self.head] = f.mask_db;
        self.input[self.head] = f.input_db;
        self.gate[self.head] = f.gate_gain;
        self.head = (self.head + 1) % COLUMNS;
        self.frames_seen += 1;
    }

    fn image(&self, data: &[[f32; ROWS]], colour: impl Fn(f32) -> Color32) -> ColorImage {
        let mut img = ColorImage::filled([COLUMNS, ROWS], Color32::BLACK);
        for x in 0..COLUMNS {
            let col = &data[(self.head + x) % COLUMNS];
            for (r, &v) in col.iter().enumerate() {
                // Row 0 (lowest frequency) at the bottom.
                img.pixels[(ROWS - 1 - r) * COLUMNS + x] = colour(v);
            }
        }
        img
    }

    /// Upload both pictures; call once per repaint.
    pub fn update_textures(&mut self, ctx: &egui::Context, limit_db: f32) {
        let mask = self.image(&self.mask, |v| mask_colour(v, limit_db));
        let input = self.image(&self.input, input_colour);
        for (tex, img, name) in [
            (&mut self.mask_tex, mask, "quell-mask"),
            (&mut self.input_tex, input, "quell-input"),
        ] {
            match tex {
                Some(t) => t.set(img, TextureOptions::LINEAR),
                None => *tex = Some(ctx.load_texture(name, img, TextureOptions::LINEAR)),
            }
        }
    }

    /// A strip under the mask: the VAD gate over the same time axis (green open, dark closed).
    pub fn draw_gate(&self, ui: &mut egui::Ui) {
        let axis = 44.0;
        let (rect, _) =
            ui.allocate_exact_size(vec2(ui.available_width(), 8.0), egui::Sense::hover());
        let painter = ui.painter_at(rect);
        painter.text(
            pos2(rect.left() + axis - 6.0, rect.center().y),
            egui::Align2::RIGHT_CENTER,
            "gate",
            egui::FontId::proportional(10.0),
            ui.visuals().text_color(),
        );
        let plot = Rect::from_min_max(pos2(rect.left() + axis, rect.top()), rect.max);
        let w = plot.width() / COLUMNS as f32;
        for x in 0..COLUMNS {
            let g = self.gate[(self.head + x) % COLUMNS];
            let c = Color32::from_rgb(20, (40.0 + 170.0 * g) as u8, (30.0 + 60.0 * g) as u8);
            let x0 = plot.left() + x as f32 * w;
            painter.rect_filled(
                Rect::from_min_max(pos2(x0, plot.top()), pos2(x0 + w + 0.5, plot.bottom())),
                0.0,
                c,
            );
        }
    }

    pub fn mask_texture(&self) -> Option<&TextureHandle> {
        self.mask_tex.as_ref()
    }

    pub fn input_texture(&self) -> Option<&TextureHandle> {
        self.input_tex.as_ref()
    }
}

/// Draw a picture with a log-frequency axis on its left; `top_hz` is the highest row's frequency.
pub fn draw(ui: &mut egui::Ui, tex: Option<&TextureHandle>, height: f32, top_hz: f32) -> Rect {
    let axis = 44.0;
    let (rect, _) =
        ui.allocate_exact_size(vec2(ui.available_width(), height), egui::Sense::hover());
    let plot = Rect::from_min_max(pos2(rect.left() + axis, rect.top()), rect.max);
    let painter = ui.painter_at(rect);
    painter.rect_filled(plot, 0.0, Color32::BLACK);
    if let Some(t) = tex {
        painter.image(
            t.id(),
            plot,
            Rect::from_min_max(pos2(0.0, 0.0), pos2(1.0, 1.0)),
            Color32::WHITE,
        );
    }
    let top = top_hz.min(F_MAX);
    let text = ui.visuals().text_color();
    for (hz, label) in [
        (100.0, "100"),
        (300.0, "300"),
        (1000.0, "1k"),
        (3000.0, "3k"),
        (10_000.0, "10k"),
    ] {
        if hz > top {
            continue;
        }
        let frac = (hz / F_MIN).ln() / (top / F_MIN).ln();
        let y = plot.bottom() - frac * plot.height();
        painter.line_segment(
            [pos2(plot.left() - 4.0, y), pos2(plot.left(), y)],
            (1.0, text),
        );
        painter.text(
            pos2(plot.left() - 6.0, y),
            egui::Align2::RIGHT_CENTER,
            label,
            egui::FontId::proportional(11.0),
            text,
        );
    }
    painter.text(
        pos2(rect.left() + 2.0, rect.top() + 2.0),
        egui::Align2::LEFT_TOP,
        "Hz",
        egui::FontId::proportional(11.0),
        text,
    );
    plot
}

/// Horizontal colour legend for the mask: 0 dB at the right, `-limit_db` at the left.
pub fn legend(ui: &mut egui::Ui, limit_db: f32) {
    ui.horizontal(|ui| {
        ui.label(format!("-{limit_db:.0} dB"));
        let (rect, _) = ui.allocate_exact_size(vec2(220.0, 12.0), egui::Sense::hover());
        let painter = ui.painter_at(rect);
        let n = 64;
        for i in 0..n {
            let t = i as f32 / (n - 1) as f32;
            let x0 = rect.left() + rect.width() * i as f32 / n as f32;
            let x1 = rect.left() + rect.width() * (i + 1) as f32 / n as f32;
            painter.rect_filled(
                Rect::from_min_max(pos2(x0, rect.top()), pos2(x1 + 0.5, rect.bottom())),
                0.0,
                mask_colour(-(1.0 - t) * limit_db, limit_db),
            );
        }
        ui.label("0 dB (kept)");
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_colours_run_from_black_at_the_limit_to_brightest_at_zero() {
        let lum = |c: Color32| c.r() as u32 + c.g() as u32 + c.b() as u32;
        let limit = 40.0;
        let steps: Vec<u32> = (0..=8)
            .map(|i| lum(mask_colour(-limit + i as f32 * 5.0, limit)))
            .collect();
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "{steps:?}");
        assert!(lum(mask_colour(-limit, limit)) < 20);
        assert_eq!(mask_colour(-80.0, limit), mask_colour(-limit, limit));
    }

    #[test]
    fn history_keeps_the_newest_column_at_the_right() {
        let mut h = History::default();
        for k in 0..(COLUMNS + 10) {
            let mut f = Frame::default();
            f.mask_db[0] = -((k % 200) as f32);
            h.push(&f);
        }
        let img = h.image(&h.mask, |v| Color32::from_gray(-v as u8));
        // Lowest frequency is the bottom row; oldest kept column (k = 10) left, newest right.
        let bottom = (ROWS - 1) * COLUMNS;
        assert_eq!(img.pixels[bottom], Color32::from_gray(10));
        assert_eq!(
            img.pixels[bottom + COLUMNS - 1],
            Color32::from_gray(((COLUMNS + 9) % 200) as u8)
        );
        assert_eq!(h.frames_seen, (COLUMNS + 10) as u64);
    }
}
