// GroupNorm over an NCHW view (host: src/gpu/nn/group_norm.rs; CPU twin:
// src/cpu/nn/group_norm.rs), one workgroup per (sample, group): the group's mean, then its
// biased variance by a second pass over the mean-subtracted values (two-pass, as the twin), then
// y = (x - mean) / sqrt(var + eps) weight[c] + bias[c]; with SCALE_SHIFT y (1 + scale[b, c]) +
// shift[b, c] (resnet_time_scale_shift "scale_shift", its scale and shift from the time
// embedding projections); with SILU, silu(y) (every norm a conv follows in the UNet). Partial
// sums are combined by `workgroup_sum` from the prelude: a fixed tree in workgroup memory over
// NORM_WG = 64 invocations (group_norm_sum.wgsl), or, on devices with subgroups of 8, one
// subgroup per workgroup and subgroupAdd (group_norm_sum_subgroup.wgsl: no barriers, which on
// llvmpipe each switch between the workgroup's 8-lane coroutines). Either way the result does
// not depend on timing; the groups are at most a few thousand values.

override SILU: bool = false;
override SCALE_SHIFT: bool = false;
// Views 4-aligned and planes of a multiple of 4 (host checks): vec4 loads and stores, each
// vec4 inside one channel. llvmpipe loads lane by lane, so a vec4 costs about what a scalar
// does.
override VEC4: bool = false;

@group(0) @binding(0) var<uniform> p: NormParams;
@group(0) @binding(1) var<storage, read> src: array<act>;
@group(0) @binding(2) var<storage, read> gamma: array<act>;
@group(0) @binding(3) var<storage, read> beta: array<act>;
@group(0) @binding(4) var<storage, read> temb: array<act>;
@group(0) @binding(5) var<storage, read_write> dst: array<act>;
// The same input and output as vec4s (VEC4).
@group(0) @binding(6) var<storage, read> src4: array<act4>;
@group(0) @binding(7) var<storage, read_write> dst4: array<act4>;

fn affine(b: u32, c: u32, x: f32, mean: f32, inv: f32) -> f32 {
    var y = (x - mean) * inv * f32(gamma[c]) + f32(beta[c]);
    if SCALE_SHIFT {
        let t = b * p.temb_stride + p.temb_offset;
        y = y * (1.0 + f32(temb[t + c])) + f32(temb[t + p.channels + c]);
    }
    if SILU {
        y = silu(y);
    }
    return y;
}

// The same three passes over vec4s (`s4` and `d4` in vec4s).
fn norm4(b: u32, g: u32, cpg: u32, n: u32, s4: u32, d4: u32, lid: u32) {
    let n4 = n / 4u;
    var s = vec4<f32>(0.0);
    for (var i = lid; i < n4; i += NORM_WG) {
        s += vec4<f32>(src4[s4 + i]);
    }
    let mean = workgroup_sum(s.x + s.y + s.z + s.w, lid) / f32(n);
    var s2 = vec4<f32>(0.0);
    for (var i = lid; i < n4; i += NORM_WG) {
        let d = vec4<f32>(src4[s4 + i]) - mean;
        s2 += d * d;
    }
    let inv = 1.0 / sqrt(workgroup_sum(s2.x + s2.y + s2.z + s2.w, lid) / f32(n) + p.eps);
    for (var i = lid; i < n4; i += NORM_WG) {
        let c = g * cpg + (4u * i) / p.plane;
        let x = vec4<f32>(src4[s4 + i]);
        dst4[d4 + i] = act4(vec4<f32>(
            affine(b, c, x.x, mean, inv),
            affine(b, c, x.y, mean, inv),
            affine(b, c, x.z, mean, inv),
            affine(b, c, x.w, mean, inv),
        ));
    }
}

@compute @workgroup_size(NORM_WG)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
    let g = wid.x;
    let b = wid.y;
    let cpg = p.channels / p.groups;
    let n = cpg * p.plane;
    let src_base = p.in_offset + b * p.in_bstride + g * n;
    let dst_base = p.out_offset + b * p.out_bstride + g * n;
    if VEC4 {
        norm4(b, g, cpg, n, src_base / 4u, dst_base / 4u, lid);
        return;
    }
    var s = 0.0;
    for (var i = lid; i < n; i += NORM_WG) {
        s += f32(src[src_base + i]);
    }
    let mean = workgroup_sum(s, lid) / f32(n);
    var s2 = 0.0;
    for (var i = lid; i < n; i += NORM_WG) {
        let d = f32(src[src_base + i]) - mean;
        s2 += d * d;
    }
    let inv = 1.0 / sqrt(workgroup_sum(s2, lid) / f32(n) + p.eps);
    for (var i = lid; i < n; i += NORM_WG) {
        let c = g * cpg + i / p.plane;
        dst[dst_base + i] = act(affine(b, c, f32(src[src_base + i]), mean, inv));
    }
}
