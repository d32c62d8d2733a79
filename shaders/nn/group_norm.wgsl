// GroupNorm over an NCHW view (host: src/gpu/nn/group_norm.rs; CPU twin:
// src/cpu/nn/group_norm.rs), one workgroup per (sample, group): the group's mean, then its
// biased variance by a second pass over the mean-subtracted values (two-pass, as the twin), then
// y = (x - mean) / sqrt(var + eps) weight[c] + bias[c]; with SCALE_SHIFT y (1 + scale[b, c]) +
// shift[b, c] (resnet_time_scale_shift "scale_shift", its scale and shift from the time
// embedding projections); with SILU, silu(y) (every norm a conv follows in the UNet). Partial
// sums are combined by a fixed tree in workgroup memory, so the result does not depend on timing.
// 64 invocations: on llvmpipe each barrier switches between the workgroup's 8-lane coroutines,
// so a narrow workgroup keeps the 14 barriers cheap; the groups are at most a few thousand
// values.

const NORM_WG: u32 = 64u; // keep in sync with NORM_WG in src/gpu/nn/group_norm.rs

override SILU: bool = false;
override SCALE_SHIFT: bool = false;

@group(0) @binding(0) var<uniform> p: NormParams;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> gamma: array<f32>;
@group(0) @binding(3) var<storage, read> beta: array<f32>;
@group(0) @binding(4) var<storage, read> temb: array<f32>;
@group(0) @binding(5) var<storage, read_write> dst: array<f32>;

var<workgroup> part: array<f32, 64>;

fn workgroup_sum(v: f32, lid: u32) -> f32 {
    part[lid] = v;
    workgroupBarrier();
    for (var s = NORM_WG / 2u; s > 0u; s = s / 2u) {
        if lid < s {
            part[lid] += part[lid + s];
        }
        workgroupBarrier();
    }
    let total = part[0];
    // Everyone has read the total before the next sum overwrites part.
    workgroupBarrier();
    return total;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = wid.x;
    let b = wid.y;
    let cpg = p.channels / p.groups;
    let n = cpg * p.plane;
    let src_base = p.in_offset + b * p.in_bstride + g * n;
    let dst_base = p.out_offset + b * p.out_bstride + g * n;
    var s = 0.0;
    for (var i = lid; i < n; i += NORM_WG) {
        s += src[src_base + i];
    }
    let mean = workgroup_sum(s, lid) / f32(n);
    var s2 = 0.0;
    for (var i = lid; i < n; i += NORM_WG) {
        let d = src[src_base + i] - mean;
        s2 += d * d;
    }
    let inv = 1.0 / sqrt(workgroup_sum(s2, lid) / f32(n) + p.eps);
    for (var i = lid; i < n; i += NORM_WG) {
        let c = g * cpg + i / p.plane;
        var y = (src[src_base + i] - mean) * inv * gamma[c] + beta[c];
        if SCALE_SHIFT {
            let t = b * p.temb_stride + p.temb_offset;
            y = y * (1.0 + temb[t + c]) + temb[t + p.channels + c];
        }
        if SILU {
            y = silu(y);
        }
        dst[dst_base + i] = y;
    }
}
