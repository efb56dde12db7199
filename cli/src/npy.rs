//! Minimal `.npy` (format 1.0) writer for float32 arrays.

use std::io::Write;
use std::path::Path;

use crate::Failure;

/// Write a C-order little-endian float32 array.
pub fn write_f32(path: &Path, shape: &[usize], data: &[f32]) -> Result<(), Failure> {
    assert_eq!(shape.iter().product::<usize>(), data.len(), "npy shape");
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_str = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape_str}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' is a multiple of 64.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut buf = Vec::with_capacity(10 + header.len() + data.len() * 4);
    buf.extend_from_slice(b"\x93NUMPY\x01\x00");
    buf.extend_from_slice(&(header.len() as u16).to_le_bytes());
    buf.extend_from_slice(header.as_bytes());
    for v in data {
        buf.extend_from_slice(&v.to_le_bytes());
    }
    crate::create_parent(path)?;
    std::fs::File::create(path)
        .and_then(|mut f| f.write_all(&buf))
        .map_err(|e| Failure(format!("cannot write {}: {e}", path.display())))
}
