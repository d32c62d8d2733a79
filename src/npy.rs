//! A small .npy (NumPy format 1.0 to 3.0) reader and float32 writer: enough for the CLI's
//! inputs (float32 / float64 / int32 / int64, either byte order, C order) and outputs.

use crate::error::{Error, Result};
use std::path::Path;

const MAGIC: &[u8] = b"\x93NUMPY";

/// The element data of an .npy array, in its stored dtype, converted to native byte order.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    /// `<f4` / `>f4`.
    F32(Vec<f32>),
    /// `<f8` / `>f8`.
    F64(Vec<f64>),
    /// `<i4` / `>i4`.
    I32(Vec<i32>),
    /// `<i8` / `>i8`.
    I64(Vec<i64>),
}

impl NpyData {
    /// The numpy dtype name, for messages.
    pub fn dtype(&self) -> &'static str {
        match self {
            NpyData::F32(_) => "float32",
            NpyData::F64(_) => "float64",
            NpyData::I32(_) => "int32",
            NpyData::I64(_) => "int64",
        }
    }
}

/// An .npy array: C-order shape and data.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    /// The shape, outermost first; `[]` for a scalar.
    pub shape: Vec<usize>,
    /// The elements.
    pub data: NpyData,
}

fn bad(path: &Path, reason: impl Into<String>) -> Error {
    Error::Npy {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Read an .npy file.
pub fn read(path: impl AsRef<Path>) -> Result<NpyArray> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(&bytes).map_err(|reason| bad(path, reason))
}

/// Parse the bytes of an .npy file.
pub fn parse(bytes: &[u8]) -> std::result::Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err("missing the \\x93NUMPY magic".into());
    }
    let (header_len, header_start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10usize),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!("unsupported format version {v}")),
    };
    let data_start = header_start
        .checked_add(header_len)
        .filter(|&e| e <= bytes.len())
        .ok_or("header runs past the end of the file")?;
    let header =
        std::str::from_utf8(&bytes[header_start..data_start]).map_err(|_| "header is not text")?;
    let descr = dict_value(header, "descr").ok_or("header has no 'descr'")?;
    let fortran = dict_value(header, "fortran_order").ok_or("header has no 'fortran_order'")?;
    let shape_text = dict_value(header, "shape").ok_or("header has no 'shape'")?;
    if fortran.trim() != "False" {
        return Err("Fortran-order arrays are not supported (save with C order)".into());
    }
    let shape = parse_shape(shape_text)?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or("shape overflows")?;
    let descr = descr.trim().trim_matches(|c| c == '\'' || c == '"');
    let (big, code) = match descr.as_bytes().first() {
        Some(b'<') | Some(b'|') | Some(b'=') => (false, &descr[1..]),
        Some(b'>') => (true, &descr[1..]),
        _ => (false, descr),
    };
    let body = &bytes[data_start..];
    let width = match code {
        "f4" | "i4" => 4,
        "f8" | "i8" => 8,
        _ => {
            return Err(format!(
                "dtype '{descr}' is not supported (use float32, float64, int32 or int64)"
            ))
        }
    };
    // In u128: a shape whose byte count overflows usize is simply not what the file holds
    // (found by fuzzing: `count * width` wrapped, in release to a size that could match).
    let needed = count as u128 * width as u128;
    if body.len() as u128 != needed {
        return Err(format!(
            "data holds {} bytes but shape {:?} of '{descr}' needs {needed}",
            body.len(),
            shape,
        ));
    }
    macro_rules! decode {
        ($t:ty, $n:literal) => {
            body.chunks_exact($n)
                .map(|c| {
                    let a: [u8; $n] = c.try_into().unwrap_or([0; $n]);
                    if big {
                        <$t>::from_be_bytes(a)
                    } else {
                        <$t>::from_le_bytes(a)
                    }
                })
                .collect()
        };
    }
    let data = match code {
        "f4" => NpyData::F32(decode!(f32, 4)),
        "f8" => NpyData::F64(decode!(f64, 8)),
        "i4" => NpyData::I32(decode!(i32, 4)),
        _ => NpyData::I64(decode!(i64, 8)),
    };
    Ok(NpyArray { shape, data })
}

/// The text after `'key':` up to the next top-level comma or closing brace.
fn dict_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let pos = header
        .find(&format!("'{key}'"))
        .or_else(|| header.find(&format!("\"{key}\"")))?;
    let rest = &header[pos + key.len() + 2..];
    let rest = rest.trim_start().strip_prefix(':')?.trim_start();
    let mut depth = 0;
    for (i, c) in rest.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' | '}' if depth == 0 => return Some(&rest[..i]),
            _ => {}
        }
        if depth == 0 && c == ')' {
            return Some(&rest[..=i]);
        }
    }
    None
}

fn parse_shape(text: &str) -> std::result::Result<Vec<usize>, String> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("shape '{text}' is not a tuple"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.trim_end_matches('L')
                .parse::<usize>()
                .map_err(|_| format!("shape entry '{s}' is not a size"))
        })
        .collect()
}

/// A little-endian .npy file of `descr` ('<f4', '<i8') holding `data` (already in that dtype's
/// little-endian bytes) with `shape`, C order.
fn to_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    // Magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + data.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// A float32 .npy file holding `data` with `shape`.
pub fn to_bytes_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    to_bytes("<f4", shape, &bytes)
}

/// An int64 .npy file holding `data` with `shape`.
pub fn to_bytes_i64(shape: &[usize], data: &[i64]) -> Vec<u8> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    to_bytes("<i8", shape, &bytes)
}

/// Write `data` of `shape` as a float32 .npy file (little-endian, C order).
pub fn write_f32(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, to_bytes_f32(shape, data)).map_err(|e| Error::io(path, e))
}

/// The hidden sibling `path` is first written to, so that a failed write leaves no file.
pub fn partial_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map_or_else(Default::default, |n| n.to_string_lossy().into_owned());
    path.with_file_name(format!(".{name}.partial"))
}

/// Write a float32 .npy file through a temporary sibling: all of it or nothing.
pub fn write_f32_atomic(path: impl AsRef<Path>, shape: &[usize], data: &[f32]) -> Result<()> {
    write_atomic(path.as_ref(), &to_bytes_f32(shape, data))
}

/// Write a float64 .npy file through a temporary sibling: all of it or nothing.
pub fn write_f64_atomic(path: impl AsRef<Path>, shape: &[usize], data: &[f64]) -> Result<()> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    write_atomic(path.as_ref(), &to_bytes("<f8", shape, &bytes))
}

/// Write an int64 .npy file through a temporary sibling: all of it or nothing.
pub fn write_i64_atomic(path: impl AsRef<Path>, shape: &[usize], data: &[i64]) -> Result<()> {
    write_atomic(path.as_ref(), &to_bytes_i64(shape, data))
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = partial_path(path);
    let result = std::fs::write(&tmp, bytes)
        .map_err(|e| Error::io(path, e))
        .and_then(|()| std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e)));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_f32() {
        let bytes = to_bytes_f32(&[2, 3], &[1.0, -2.5, 3.0, 0.0, f32::MIN_POSITIVE, 7.0]);
        assert_eq!(bytes.len() % 4, 0);
        let a = parse(&bytes).unwrap();
        assert_eq!(a.shape, vec![2, 3]);
        assert_eq!(
            a.data,
            NpyData::F32(vec![1.0, -2.5, 3.0, 0.0, f32::MIN_POSITIVE, 7.0])
        );
    }

    #[test]
    fn one_dim_and_scalar_shapes() {
        assert_eq!(
            parse(&to_bytes_f32(&[4], &[0.0; 4])).unwrap().shape,
            vec![4]
        );
        assert_eq!(
            parse(&to_bytes_f32(&[], &[1.0])).unwrap().shape,
            Vec::<usize>::new()
        );
    }

    /// Bytes as numpy 1.26 writes `np.array([[1, -2]], dtype='>i8')` (header checked by hand).
    #[test]
    fn big_endian_int64() {
        let mut b = MAGIC.to_vec();
        let mut h = "{'descr': '>i8', 'fortran_order': False, 'shape': (1, 2), }".to_string();
        while !(10 + h.len() + 1).is_multiple_of(64) {
            h.push(' ');
        }
        h.push('\n');
        b.extend_from_slice(&[1, 0]);
        b.extend_from_slice(&(h.len() as u16).to_le_bytes());
        b.extend_from_slice(h.as_bytes());
        b.extend_from_slice(&1i64.to_be_bytes());
        b.extend_from_slice(&(-2i64).to_be_bytes());
        let a = parse(&b).unwrap();
        assert_eq!(a.shape, vec![1, 2]);
        assert_eq!(a.data, NpyData::I64(vec![1, -2]));
    }

    #[test]
    fn rejects_garbage_truncation_and_fortran() {
        assert!(parse(b"not an npy file at all").is_err());
        let good = to_bytes_f32(&[3], &[1.0, 2.0, 3.0]);
        assert!(parse(&good[..good.len() - 1])
            .unwrap_err()
            .contains("needs"));
        let patched = |from: &[u8], to: &[u8]| {
            let mut b = good.clone();
            let at = b.windows(from.len()).position(|w| w == from).unwrap();
            b[at..at + to.len()].copy_from_slice(to);
            b
        };
        let fortran = patched(b"False", b"True ");
        assert!(parse(&fortran).unwrap_err().contains("Fortran"));
        let u8s = patched(b"<f4", b"|u1");
        assert!(parse(&u8s).unwrap_err().contains("not supported"));
    }
}
