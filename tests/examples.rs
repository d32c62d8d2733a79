//! examples/embed.rs is built and run here: an application-owned device and an
//! application-written WGSL denoiser, sampled through the library.

mod common;

#[path = "../examples/embed.rs"]
#[allow(dead_code)]
mod embed;

#[test]
fn embed_example_samples_its_gaussian() {
    if common::gpu().is_none() {
        return;
    }
    let (mean, std) = embed::run().unwrap();
    // 2000 draws: the mean's standard error is 0.1 / sqrt(2000) = 0.0022; DDPM at T = 200 keeps
    // the spread within a few percent of s (fixedlarge).
    assert!((mean - 0.3).abs() < 0.012, "mean {mean}");
    assert!((std / 0.1 - 1.0).abs() < 0.12, "std {std}");
}
