//! "Load model file...": a small in-editor browser for `.safetensors` files (a native dialog would
//! pull a toolkit into the plugin). Type or paste a path, or click through folders.

use std::path::{Path, PathBuf};

pub struct FilePicker {
    pub open: bool,
    pub path: String,
    dir: PathBuf,
    entries: Vec<(String, bool)>,
    listed: Option<PathBuf>,
}

impl Default for FilePicker {
    fn default() -> Self {
        let dir = std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"));
        Self {
            open: false,
            path: String::new(),
            dir,
            entries: Vec::new(),
            listed: None,
        }
    }
}

/// Folders first, then model files, each sorted; hidden entries skipped.
pub fn list_dir(dir: &Path) -> Vec<(String, bool)> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut v: Vec<(String, bool)> = rd
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let is_dir = e.file_type().ok()?.is_dir();
            let keep = !name.starts_with('.') && (is_dir || name.ends_with(".safetensors"));
            keep.then_some((name, is_dir))
        })
        .collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

impl FilePicker {
    /// Start browsing next to `path` (the last loaded file), if given.
    pub fn open_at(&mut self, path: Option<&str>) {
        self.open = true;
        if let Some(p) = path {
            self.path = p.to_string();
            if let Some(parent) = Path::new(p).parent().filter(|d| d.is_dir()) {
                self.dir = parent.to_path_buf();
            }
        }
    }

    /// Draw; returns a path when the user asks to load it.
    pub fn ui(&mut self, ui: &mut egui::Ui) -> Option<PathBuf> {
        if self.listed.as_ref() != Some(&self.dir) {
            self.entries = list_dir(&self.dir);
            self.listed = Some(self.dir.clone());
        }
        let mut chosen = None;
        ui.horizontal(|ui| {
            ui.label("File:");
            let edit = ui.add(
                egui::TextEdit::singleline(&mut self.path)
                    .desired_width(ui.available_width() - 130.0)
                    .hint_text("/path/to/model.safetensors"),
            );
            super::mark(ui, "file-path", &edit);
            let enter = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            let load = ui.button("Load");
            super::mark(ui, "file-load", &load);
            if (load.clicked() || enter) && !self.path.trim().is_empty() {
                chosen = Some(PathBuf::from(self.path.trim()));
            }
            if ui.button("Close").clicked() {
                self.open = false;
            }
        });
        ui.horizontal(|ui| {
            if ui.button("Up").clicked()
                && let Some(p) = self.dir.parent()
            {
                self.dir = p.to_path_buf();
            }
            ui.label(self.dir.display().to_string());
        });
        egui::ScrollArea::vertical()
            .max_height(110.0)
            .show(ui, |ui| {
                if self.entries.is_empty() {
                    ui.weak("(no folders or .safetensors files here)");
                }
                for (name, is_dir) in self.entries.clone() {
                    let label = if is_dir {
                        format!("{name}/")
                    } else {
                        name.clone()
                    };
                    if ui.selectable_label(false, label).clicked() {
                        let p = self.dir.join(&name);
                        if is_dir {
                            self.dir = p;
                        } else {
                            self.path = p.display().to_string();
                        }
                    }
                }
            });
        chosen
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_folders_then_model_files_and_hides_the_rest() {
        let d = std::env::temp_dir().join(format!("quell-picker-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(d.join("zoo")).unwrap();
        std::fs::create_dir_all(d.join(".hidden")).unwrap();
        for f in ["b.safetensors", "a.safetensors", "notes.txt"] {
            std::fs::write(d.join(f), b"x").unwrap();
        }
        let got = list_dir(&d);
        std::fs::remove_dir_all(&d).unwrap();
        assert_eq!(
            got,
            vec![
                ("zoo".to_string(), true),
                ("a.safetensors".to_string(), false),
                ("b.safetensors".to_string(), false),
            ]
        );
    }
}
