// Classifier-free guidance (host: src/gpu/nn/guidance.rs; CPU twin: src/cpu/nn/guidance.rs):
// the model's raw output for 2B samples, the conditional pass first (samples 0 .. B), then the
// unconditional one (B .. 2B), combined per sample as diffusers' pipelines combine them. Of a
// sample's first `mean_len` values (the prediction, whatever its type) g = u + w (c - u); with
// RESCALE (Lin et al. 2023, diffusers' rescale_noise_cfg) g <- phi g std(c) / std(g) +
// (1 - phi) g, each std unbiased over those values, taken two-pass (mean first); the sample's
// other `var_len` values (a learned variance) are the conditional pass's. One invocation per
// sample: the combination is a small part of a guided step, which is a UNet forward of 2B.

override RESCALE: bool = false;

@group(0) @binding(0) var<uniform> p: GuidanceParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read_write> mean_out: array<f32>;
@group(0) @binding(3) var<storage, read_write> var_out: array<f32>;

fn guided(c: f32, u: f32) -> f32 {
    return u + p.scale * (c - u);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let s = gid.y * nwg.x * 64u + gid.x;
    if s >= p.batch {
        return;
    }
    let per = p.mean_len + p.var_len;
    let cb = s * per;
    let ub = (p.batch + s) * per;
    var factor = 1.0;
    if RESCALE {
        var mc = 0.0;
        var mg = 0.0;
        for (var j = 0u; j < p.mean_len; j++) {
            mc += src[cb + j];
            mg += guided(src[cb + j], src[ub + j]);
        }
        let n = f32(p.mean_len);
        mc /= n;
        mg /= n;
        var vc = 0.0;
        var vg = 0.0;
        for (var j = 0u; j < p.mean_len; j++) {
            let dc = src[cb + j] - mc;
            let dg = guided(src[cb + j], src[ub + j]) - mg;
            vc += dc * dc;
            vg += dg * dg;
        }
        // std(c) / std(g): the (n - 1) of the unbiased estimates cancels.
        factor = sqrt(vc) / sqrt(vg);
    }
    for (var j = 0u; j < p.mean_len; j++) {
        var g = guided(src[cb + j], src[ub + j]);
        if RESCALE {
            g = p.rescale * (g * factor) + (1.0 - p.rescale) * g;
        }
        mean_out[s * p.mean_len + j] = g;
    }
    for (var k = 0u; k < p.var_len; k++) {
        var_out[s * p.var_len + k] = src[cb + p.mean_len + k];
    }
}
