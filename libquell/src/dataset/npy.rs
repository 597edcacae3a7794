//! Streaming writer for 1-D/2-D float32 `.npy` files (row count patched in at the end).

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

const HEADER_LEN: usize = 128;

pub struct NpyWriter {
    out: BufWriter<File>,
    cols: Option<usize>,
    rows: usize,
}

impl NpyWriter {
    /// `cols = None` writes a 1-D array.
    pub fn create(path: &Path, cols: Option<usize>) -> Result<Self, String> {
        let f =
            File::create(path).map_err(|e| format!("cannot create '{}': {e}", path.display()))?;
        let mut w = Self {
            out: BufWriter::new(f),
            cols,
            rows: 0,
        };
        w.write_header()?;
        Ok(w)
    }

    fn write_header(&mut self) -> Result<(), String> {
        let shape = match self.cols {
            Some(c) => format!("({}, {c})", self.rows),
            None => format!("({},)", self.rows),
        };
        let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
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
            self.out
                .write_all(&x.to_le_bytes())
                .map_err(|e| e.to_string())?;
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
