//! `bench::unet::run` on a small fixture: every row measured, the table and the JSON complete.
//! (The figures themselves are benchmarks, not tests: benches/unet.md.)

mod common;

use ddpm_wgpu::bench::unet::{run, UNetBenchOptions};

#[test]
fn unet_bench_reports_every_row() {
    let Some(ctx) = common::gpu() else { return };
    let (unet, _) = common::unet::model("attn_two_levels_heads");
    let opts = UNetBenchOptions {
        batches: vec![1, 3],
        trials: 1,
        ddim_steps: 3,
        ddpm_steps: Some(2),
        profile: true,
        ..UNetBenchOptions::default()
    };
    let r = run(&ctx, &unet, &opts).unwrap();
    assert_eq!(r.sample, (3, 8, 8));
    assert_eq!(r.flops_per_sample, unet.flops(8, 8));
    assert_eq!(r.forwards.len(), 2);
    for f in &r.forwards {
        assert!(f.seconds > 0.0 && f.gflop_per_s > 0.0 && f.activation_bytes > 0);
        assert_eq!(f.sub_batch, f.batch);
    }
    let kinds: Vec<(&str, usize)> = r.loops.iter().map(|l| (l.sampler, l.steps)).collect();
    assert_eq!(kinds, [("ddim", 3), ("ddpm", 2), ("ddim", 3), ("ddpm", 2)]);
    // The profile covers every dispatch of one forward.
    let convs: usize = r
        .profile
        .iter()
        .filter(|p| p.kind.starts_with("conv2d"))
        .map(|p| p.count)
        .sum();
    assert!(convs > 10, "{:?}", r.profile);
    let table = r.table();
    assert!(table.contains("ms/forward") && table.contains("ddim") && table.contains("share"));
    let json: serde_json::Value = serde_json::from_str(&r.json().unwrap()).unwrap();
    assert_eq!(json["forwards"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["loops"].as_array().map(Vec::len), Some(4));
}
