//! PNG output of [N, C, H, W] (channels first: PyTorch, diffusers, the U-Net) and [N, H, W, C]
//! samples: the same picture either way, for 1 and 3 channels, through the library and `ddpm
//! sample --data` (which refused channels-first data before).

use ddpm_wgpu::npy;
use ddpm_wgpu::picture::{self, image_layout};
use std::process::Command;

/// `n` samples of [h, w, c] with distinct values per pixel and channel, and the same samples
/// transposed to [c, h, w].
fn both_layouts(n: usize, h: usize, w: usize, c: usize) -> (Vec<f32>, Vec<f32>) {
    let value = |k: usize, y: usize, x: usize, ch: usize| {
        (((k * 31 + y * 7 + x * 3 + ch * 11) % 255) as f32 / 127.0) - 1.0
    };
    let mut hwc = Vec::new();
    let mut chw = Vec::new();
    for k in 0..n {
        for y in 0..h {
            for x in 0..w {
                for ch in 0..c {
                    hwc.push(value(k, y, x, ch));
                }
            }
        }
        for ch in 0..c {
            for y in 0..h {
                for x in 0..w {
                    chw.push(value(k, y, x, ch));
                }
            }
        }
    }
    (hwc, chw)
}

#[test]
fn channels_first_and_last_give_the_same_picture() {
    for c in [1, 3] {
        let (h, w, n) = (6, 5, 4);
        let (hwc, chw) = both_layouts(n, h, w, c);
        let len = h * w * c;
        let a: Vec<&[f32]> = hwc.chunks(len).collect();
        let b: Vec<&[f32]> = chw.chunks(len).collect();
        let last = picture::grid(&a, &[h, w, c], 2).unwrap();
        let first = picture::grid(&b, &[c, h, w], 2).unwrap();
        let side = |d: usize| (2 * (d + 1) + 1) as u32;
        assert_eq!(last.dimensions(), (side(w), side(h)));
        assert!(
            last == first,
            "C = {c}: the two layouts drew different pictures"
        );
        // Not trivially equal: with three channels the arrays differ, and the picture is not
        // uniform (one channel: the two layouts are the same array).
        assert_eq!(hwc == chw, c == 1);
        let px: std::collections::BTreeSet<_> = last.pixels().map(|p| p.0).collect();
        assert!(px.len() > 10);
        if c == 1 {
            // Grey: the same as [H, W].
            let grey = picture::grid(&a, &[h, w], 2).unwrap();
            assert!(grey == last);
        }
    }
    assert!(image_layout(&[3, 16, 16]).unwrap().channels_first);
}

#[test]
fn ddpm_sample_writes_pngs_of_channels_first_data() {
    let dir = std::env::temp_dir().join(format!("ddpm-picture-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut sizes = Vec::new();
    for (name, shape) in [("chw", [4, 3, 8, 6]), ("hwc", [4, 8, 6, 3])] {
        let (hwc, chw) = both_layouts(4, 8, 6, 3);
        let data = if name == "chw" { chw } else { hwc };
        let path = dir.join(format!("{name}.npy"));
        npy::write_f32(&path, &shape, &data).unwrap();
        let png = dir.join(format!("{name}.png"));
        let out = Command::new(env!("CARGO_BIN_EXE_ddpm"))
            .args([
                "sample",
                "--device",
                "cpu",
                "--count",
                "4",
                "--timesteps",
                "10",
            ])
            .arg("--data")
            .arg(&path)
            .arg("--out")
            .arg(&png)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{name}: {stderr}");
        sizes.push(image::open(&png).unwrap().to_rgb8().dimensions());
    }
    // Two by two samples of 8 x 6 pixels either way.
    assert_eq!(sizes[0], sizes[1]);
    std::fs::remove_dir_all(&dir).unwrap();
}
