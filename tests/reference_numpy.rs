//! `ddpm op` on the CPU reference and on the GPU against an independent float64 numpy port of
//! the original code (tests/reference/cross_check.py), every op and option combination.
//! Needs python3 with numpy: skipped with a message without it, a failure under CI or
//! DDPM_REQUIRE_NUMPY (CI installs numpy).

mod common;
use std::process::Command;

#[test]
fn ddpm_op_matches_independent_numpy_port() {
    let has_numpy = Command::new("python3")
        .args(["-c", "import numpy"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_numpy {
        let required =
            std::env::var_os("CI").is_some() || std::env::var_os("DDPM_REQUIRE_NUMPY").is_some();
        assert!(
            !required,
            "python3 with numpy is required here (pip install numpy)"
        );
        eprintln!("SKIPPED: python3 with numpy not found (pip install numpy to run this check)");
        return;
    }
    let devices = if common::gpu().is_some() {
        "cpu,gpu"
    } else {
        "cpu"
    };
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/reference/cross_check.py"
    );
    let out = Command::new("python3")
        .args([
            script,
            "--ddpm",
            env!("CARGO_BIN_EXE_ddpm"),
            "--devices",
            devices,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    eprintln!("{text}");
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.lines().any(|l| l.ends_with(" passed, 0 failed")));
}
