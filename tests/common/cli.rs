//! Running the `ddpm` binary in the CLI tests: temporary folders, .npy inputs, one run with its
//! exit code and stderr lines.

use ddpm_wgpu::npy::{self, NpyData};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn tmp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("ddpm-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Raw .npy bytes of any dtype, for inputs the library itself never writes.
pub fn npy_bytes(descr: &str, shape: &[usize], body: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut h = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while !(10 + h.len() + 1).is_multiple_of(64) {
        h.push(' ');
    }
    h.push('\n');
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&(h.len() as u16).to_le_bytes());
    b.extend_from_slice(h.as_bytes());
    b.extend_from_slice(body);
    b
}

pub fn write_f32(dir: &Path, name: &str, shape: &[usize], data: &[f32]) -> String {
    let p = dir.join(format!("{name}.npy"));
    npy::write_f32(&p, shape, data).unwrap();
    p.display().to_string()
}

pub fn write_i64(dir: &Path, name: &str, data: &[i64]) -> String {
    let p = dir.join(format!("{name}.npy"));
    let body: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&p, npy_bytes("<i8", &[data.len()], &body)).unwrap();
    p.display().to_string()
}

pub struct Run {
    pub code: i32,
    pub stderr_lines: Vec<String>,
    /// What the command printed on stdout (ddpm sample's summary line).
    pub stdout: String,
}

pub fn ddpm(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    Run {
        code: out.status.code().unwrap_or(-1),
        // Mesa's GL driver prints this harmless line itself when XDG_RUNTIME_DIR is unset.
        stderr_lines: stderr
            .lines()
            .filter(|l| !l.contains("XDG_RUNTIME_DIR"))
            .map(str::to_string)
            .collect(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    }
}

/// `ddpm sample` with `args`, writing `s.png` and its progress strip `strip.png` into `dir`:
/// asserts that it succeeded and returns the (width, height) of the grid and of the strip.
pub fn sample_pictures(dir: &Path, args: &[&str]) -> ((u32, u32), (u32, u32)) {
    let png = dir.join("s.png").display().to_string();
    let strip = dir.join("strip.png").display().to_string();
    let mut all = vec!["sample"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--out", &png, "--progress-out", &strip]);
    let r = ddpm(&all);
    assert_eq!(r.code, 0, "{:?}", r.stderr_lines);
    let size = |p: &str| image::image_dimensions(p).unwrap();
    (size(&png), size(&strip))
}

/// A q-sample input set in `dir`: x_start [2, 3], noise [2, 3], t [2].
pub fn q_sample_inputs(dir: &Path) -> Vec<String> {
    vec![
        format!(
            "x_start={}",
            write_f32(dir, "x0", &[2, 3], &[1.0, -1.0, 0.5, 0.0, 0.25, -0.75])
        ),
        format!(
            "noise={}",
            write_f32(dir, "noise", &[2, 3], &[0.1, 0.2, -0.3, 1.0, -2.0, 6.0])
        ),
        format!("t={}", write_i64(dir, "t", &[0, 999])),
    ]
}

pub fn op_args<'a>(
    op: &'a str,
    inputs: &'a [String],
    out: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let mut a = vec!["op", op, "--out-dir", out];
    for i in inputs {
        a.push("--input");
        a.push(i);
    }
    a.extend_from_slice(extra);
    a
}

pub fn read_f32(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let a = npy::read(path).unwrap();
    match a.data {
        NpyData::F32(v) => (a.shape, v),
        other => panic!("{} is {}", path.display(), other.dtype()),
    }
}

/// Write `text` to `dir/name`; its path.
pub fn write_text(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// The worst |got - want| / max |want| of the .npy at `out` against `want`.
pub fn rel_error(out: &Path, want: &[f32]) -> f32 {
    let (_, got) = read_f32(out);
    assert_eq!(got.len(), want.len(), "{}", out.display());
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    got.iter()
        .zip(want)
        .map(|(g, w)| (g - w).abs())
        .fold(0.0f32, f32::max)
        / scale
}

/// `ddpm` with `args` and then `--out out` must fail with one line on stderr (Mesa's
/// XDG_RUNTIME_DIR line aside) that contains `needle`, and write nothing at `out`.
pub fn assert_refused(args: &[&str], needle: &str, out: &Path) {
    let o = out.display().to_string();
    let mut all = args.to_vec();
    all.extend(["--out", &o]);
    assert_fails_in_one_line(&all, needle);
    assert!(!out.exists(), "{args:?} wrote {o}");
}

/// `ddpm` with `args` must fail with one line on stderr (Mesa's XDG_RUNTIME_DIR line aside)
/// that contains `needle`.
pub fn assert_fails_in_one_line(args: &[&str], needle: &str) {
    let r = ddpm(args);
    assert_ne!(r.code, 0, "{args:?} succeeded");
    assert_eq!(r.stderr_lines.len(), 1, "{args:?}: {:?}", r.stderr_lines);
    assert!(
        r.stderr_lines[0].contains(needle),
        "{args:?}: {:?}",
        r.stderr_lines
    );
}
