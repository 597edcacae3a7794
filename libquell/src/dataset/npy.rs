//! Streaming writer for 1-D/2-D float32 or float16 `.npy` files (row count patched in at the end).
//! Float16 halves the size of the spectra a dump may carry; the values written there (compressed
//! magnitudes) need no more precision.

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

const HEADER_LEN: usize = 128;

pub struct NpyWriter {
    out: BufWriter<File>,
    cols: Option<usize>,
    rows: usize,
    half: bool,
}

impl NpyWriter {
    /// `cols = None` writes a 1-D array.
    pub fn create(path: &Path, cols: Option<usize>) -> Result<Self, String> {
        Self::open(path, cols, false)
    }

    /// Rows are given as f32 and stored as IEEE float16 (round to nearest).
    pub fn create_f16(path: &Path, cols: Option<usize>) -> Result<Self, String> {
        Self::open(path, cols, true)
    }

    fn open(path: &Path, cols: Option<usize>, half: bool) -> Result<Self, String> {
        let f =
            File::create(path).map_err(|e| format!("cannot create '{}': {e}", path.display()))?;
        let mut w = Self {
            out: BufWriter::new(f),
            cols,
            rows: 0,
            half,
        };
        w.write_header()?;
        Ok(w)
    }

    fn write_header(&mut self) -> Result<(), String> {
        let shape = match self.cols {
            Some(c) => format!("({}, {c})", self.rows),
            None => format!("({},)", self.rows),
        };
        let descr = if self.half { "<f2" } else { "<f4" };
        let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        let mut h = Vec::with_capacity(HEADER_LEN);
        h.extend_from_slice(b"\x93NUMPY\x01\x00");
        h.extend_from_slice(&((HEADER_LEN - 10) as u16).to_le_bytes());
        h.extend_from_slice(dict.as_bytes());
        h.resize(HEADER_LEN - 1, b' ');
        h.push(b'\n');
        self.out.write_all(&h).map_err(|e| e.to_string())
    }

    pub fn write_row(&mut self, row: &[f32]) -> Result<(), String> {
        debug_assert_eq!(row.len(), self.cols.unwrap_or(1));
        for x in row {
            let r = if self.half {
                self.out.write_all(&half::f16::from_f32(*x).to_le_bytes())
            } else {
                self.out.write_all(&x.to_le_bytes())
            };
            r.map_err(|e| e.to_string())?;
        }
        self.rows += 1;
        Ok(())
    }

    pub fn finish(mut self) -> Result<usize, String> {
        self.out
            .seek(SeekFrom::Start(0))
            .map_err(|e| e.to_string())?;
        self.write_header()?;
        self.out.flush().map_err(|e| e.to_string())?;
        Ok(self.rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float16_files_have_their_header_and_rounded_values() {
        let dir = std::env::temp_dir().join(format!("quell-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("h.npy");
        let mut w = NpyWriter::create_f16(&p, Some(3)).unwrap();
        w.write_row(&[1.0, -0.5, 0.1]).unwrap();
        w.write_row(&[65504.0, 0.0, 2.0]).unwrap();
        assert_eq!(w.finish().unwrap(), 2);
        let b = std::fs::read(&p).unwrap();
        let header = String::from_utf8_lossy(&b[10..HEADER_LEN]);
        assert!(
            header.contains("'descr': '<f2'") && header.contains("(2, 3)"),
            "{header}"
        );
        let vals: Vec<f32> = b[HEADER_LEN..]
            .chunks_exact(2)
            .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
            .collect();
        assert_eq!(vals.len(), 6);
        assert_eq!(&vals[..2], &[1.0, -0.5]);
        assert!((vals[2] - 0.1).abs() < 1e-4 && vals[3] == 65504.0 && vals[5] == 2.0);
        std::fs::remove_dir_all(&dir).ok();
    }
}
