//! Stderr hygiene: a user sees only the toolkit's own lines. Mesa's Vulkan device-select layer
//! prints `XDG_RUNTIME_DIR is invalid or not set` when that variable is unset (it looks for a
//! Wayland display); `ddpm` turns the layer off at start-up unless the user steers it.

mod common;
use std::process::Command;

/// `ddpm info` with XDG_RUNTIME_DIR unset and `backend` (None: the variable unset too).
fn info(backend: Option<&str>) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ddpm"));
    cmd.arg("info").env_remove("XDG_RUNTIME_DIR");
    for steer in ["NODEVICE_SELECT", "MESA_VK_DEVICE_SELECT", "DRI_PRIME"] {
        cmd.env_remove(steer);
    }
    match backend {
        Some(b) => cmd.env("WGPU_BACKEND", b),
        None => cmd.env_remove("WGPU_BACKEND"),
    };
    let out = cmd.output().unwrap();
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.success(), text(&out.stdout), text(&out.stderr))
}

fn lavapipe_installed() -> bool {
    std::fs::read_dir("/usr/share/vulkan/icd.d")
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().contains("lvp"))
        })
        .unwrap_or(false)
}

#[test]
fn info_prints_nothing_on_stderr_on_any_backend() {
    if common::gpu().is_none() {
        return;
    }
    let mut backends = vec![None, Some("gl")];
    if lavapipe_installed() {
        backends.push(Some("vulkan"));
    } else {
        assert!(std::env::var_os("CI").is_none(), "CI installs lavapipe");
        eprintln!("SKIPPED the Vulkan case: lavapipe is not installed");
    }
    for backend in backends {
        let (ok, stdout, stderr) = info(backend);
        assert!(
            ok,
            "ddpm info failed with WGPU_BACKEND={backend:?}: {stderr}"
        );
        assert!(stdout.starts_with("adapter:"), "{stdout}");
        assert_eq!(stderr, "", "WGPU_BACKEND={backend:?} printed on stderr");
        if let Some(b) = backend {
            let line = stdout.lines().find(|l| l.starts_with("backend:")).unwrap();
            assert!(line.to_lowercase().contains(b), "{line}");
        }
    }
}

/// The layer is what prints: with it left on (the user steers it), the line is back. Shows
/// that the test above can fail, and that `ddpm` respects a user's own setting.
#[test]
fn the_line_comes_from_the_vulkan_layer_ddpm_turns_off() {
    if common::gpu().is_none() || !lavapipe_installed() {
        return;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
        .arg("info")
        .env_remove("XDG_RUNTIME_DIR")
        .env("WGPU_BACKEND", "vulkan")
        .env("MESA_VK_DEVICE_SELECT", "list-none-such")
        .env_remove("NODEVICE_SELECT")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("XDG_RUNTIME_DIR"), "{stderr}");
}
