// A 2-D convolution as an implicit GEMM over NCHW views (host: src/gpu/nn/conv2d.rs; CPU twin:
// src/cpu/nn/conv2d.rs). out[b, o, y, x] = bias[o] + sum_{i, ky, kx} w[o, i, ky, kx]
// in[b, i, y s + ky - top, x s + kx - left], zero outside the input; with UPSAMPLE the input is
// read as its nearest 2x enlargement (Upsample2D fused into its conv), with CENTER as 2 in - 1
// (center_input_sample). Epilogue: + temb[b, o] (TEMB, the resnets' time embedding), then
// (res + .) / out_scale (RESIDUAL: shortcut or attention residual, output_scale_factor); with
// SPLIT the channels from `split` on go to out2 (learned variance's model_var).
//
// Register tiling, no workgroup memory: each invocation keeps CONV_TM = 8 output channels by
// CONV_TN = 8 pixels of one output row in 16 vec4 accumulators (channels in the vec4). Per
// (input channel, kernel row) it reads the input row once (10 values at stride 1, 17 at stride
// 2) and serves all three kernel columns from it; the weights of a tap for the 8 channels are two
// vec4 loads ([K][cout_padded], transposed and zero-padded on upload). On llvmpipe every storage
// load whose index is not a constant runs lane by lane, so loads, not FMAs, bound this kernel:
// the tile is as large as keeps the accumulators cheap (see src/gpu/nn/conv2d.rs for the
// measurements that chose it).

const CONV_TM: u32 = 16u;
const CONV_TN: u32 = 8u;
const CONV_WG: u32 = 64u; // keep in sync with CONV_WG in src/gpu/nn/conv2d.rs

override KSIZE: u32 = 3u;      // 1 or 3
override STRIDE: u32 = 1u;     // 1 or 2 (KSIZE 3 only)
override UPSAMPLE: bool = false;
override TEMB: bool = false;
override RESIDUAL: bool = false;
override SPLIT: bool = false;
override CENTER: bool = false;

override VEC4_IN: bool = false; // rows start 4-aligned in a width multiple of 4 (host checks; with UPSAMPLE, the source's)
// With VEC4_IN at stride 1: a row's two edge values from the neighbouring lanes (subgroup
// kernel only, where a row's tiles are consecutive lanes of one subgroup; host checks).
override HALO: bool = false;
// With HALO and at most 4 tiles a row (a subgroup holds whole output rows): the input rows
// they share go between them by shuffles (subgroup kernel; conv2d_nine_taps.wgsl).
override ROWS: bool = false;

@group(0) @binding(0) var<uniform> p: ConvParams;
@group(0) @binding(1) var<storage, read> src: array<act>;
// binding 2, the weights, `tap_weights` and `conv3x3` come from conv2d_weights.wgsl (four vec4
// loads, a kernel row at a time) or conv2d_weights_subgroup.wgsl + conv2d_nine_taps.wgsl (two
// scalars per lane shared across the subgroup, nine taps at once), prepended.
@group(0) @binding(3) var<storage, read> bias: array<act>;
@group(0) @binding(4) var<storage, read> temb: array<act>;
@group(0) @binding(5) var<storage, read> res: array<act>;
@group(0) @binding(6) var<storage, read_write> dst: array<act>;
@group(0) @binding(7) var<storage, read_write> dst2: array<act>;
// The input again, as vec4s (VEC4_IN).
@group(0) @binding(8) var<storage, read> src4: array<act4>;

// Channels 4q .. 4q + 3 of the tile at each of its 8 pixels in aq. Indexed by constants only,
// so they stay in registers (or their spill slots).
var<private> a0: array<vec4<f32>, 8>;
var<private> a1: array<vec4<f32>, 8>;
var<private> a2: array<vec4<f32>, 8>;
var<private> a3: array<vec4<f32>, 8>;
// The input row of the current (channel, kernel row): 10 values at stride 1, 17 at stride 2.
var<private> r: array<f32, 17>;
// Where product xi's output starts (Winograd), set once in main.
var<private> out_xi: u32;

fn mac(w: array<vec4<f32>, 4>, v: array<f32, 8>) {
    let v0 = vec4<f32>(v[0]);
    a0[0] = fma(w[0], v0, a0[0]);
    a1[0] = fma(w[1], v0, a1[0]);
    a2[0] = fma(w[2], v0, a2[0]);
    a3[0] = fma(w[3], v0, a3[0]);
    let v1 = vec4<f32>(v[1]);
    a0[1] = fma(w[0], v1, a0[1]);
    a1[1] = fma(w[1], v1, a1[1]);
    a2[1] = fma(w[2], v1, a2[1]);
    a3[1] = fma(w[3], v1, a3[1]);
    let v2 = vec4<f32>(v[2]);
    a0[2] = fma(w[0], v2, a0[2]);
    a1[2] = fma(w[1], v2, a1[2]);
    a2[2] = fma(w[2], v2, a2[2]);
    a3[2] = fma(w[3], v2, a3[2]);
    let v3 = vec4<f32>(v[3]);
    a0[3] = fma(w[0], v3, a0[3]);
    a1[3] = fma(w[1], v3, a1[3]);
    a2[3] = fma(w[2], v3, a2[3]);
    a3[3] = fma(w[3], v3, a3[3]);
    let v4 = vec4<f32>(v[4]);
    a0[4] = fma(w[0], v4, a0[4]);
    a1[4] = fma(w[1], v4, a1[4]);
    a2[4] = fma(w[2], v4, a2[4]);
    a3[4] = fma(w[3], v4, a3[4]);
    let v5 = vec4<f32>(v[5]);
    a0[5] = fma(w[0], v5, a0[5]);
    a1[5] = fma(w[1], v5, a1[5]);
    a2[5] = fma(w[2], v5, a2[5]);
    a3[5] = fma(w[3], v5, a3[5]);
    let v6 = vec4<f32>(v[6]);
    a0[6] = fma(w[0], v6, a0[6]);
    a1[6] = fma(w[1], v6, a1[6]);
    a2[6] = fma(w[2], v6, a2[6]);
    a3[6] = fma(w[3], v6, a3[6]);
    let v7 = vec4<f32>(v[7]);
    a0[7] = fma(w[0], v7, a0[7]);
    a1[7] = fma(w[1], v7, a1[7]);
    a2[7] = fma(w[2], v7, a2[7]);
    a3[7] = fma(w[3], v7, a3[7]);
}

// One input value of the plane starting at `plane`, at (iy, ix) of the (upsampled) input, or 0 in
// the padding. The index is made valid before the load, so no lane reads outside the view.
fn ld(plane: u32, iy: i32, ix: i32) -> f32 {
    var hh = i32(p.h);
    var ww = i32(p.w);
    if UPSAMPLE {
        hh = 2 * hh;
        ww = 2 * ww;
    }
    let ok = iy >= 0 && iy < hh && ix >= 0 && ix < ww;
    var sy = u32(max(iy, 0));
    var sx = u32(max(ix, 0));
    if UPSAMPLE {
        sy = sy >> 1u;
        sx = sx >> 1u;
    }
    var v = f32(src[select(plane, plane + sy * p.w + sx, ok)]);
    if CENTER {
        v = 2.0 * v - 1.0;
    }
    return select(0.0, v, ok);
}

// The aligned vec4 at `at` (in vec4s) if `ok`, else zeros (padding); `fallback` is any valid
// index of the view, loaded instead so that no lane reads outside it.
fn ld4(at: u32, fallback: u32, ok: bool) -> vec4<f32> {
    var v = vec4<f32>(src4[select(fallback, at, ok)]);
    if CENTER {
        v = 2.0 * v - 1.0;
    }
    return select(vec4<f32>(0.0), v, ok);
}

// Fill r[0..8] with the row iy from column ix0 on.
fn fill8(plane: u32, iy: i32, ix0: i32) {
    r[0] = ld(plane, iy, ix0);
    r[1] = ld(plane, iy, ix0 + 1);
    r[2] = ld(plane, iy, ix0 + 2);
    r[3] = ld(plane, iy, ix0 + 3);
    r[4] = ld(plane, iy, ix0 + 4);
    r[5] = ld(plane, iy, ix0 + 5);
    r[6] = ld(plane, iy, ix0 + 6);
    r[7] = ld(plane, iy, ix0 + 7);
}

// Two aligned vec4s from `at` (in vec4s) on, each zeros where its `ok` is false (see `ld4`).
fn ld8(at: u32, fallback: u32, ok0: bool, ok1: bool) -> array<f32, 8> {
    let a = ld4(at, fallback, ok0);
    let b = ld4(at + 1u, fallback, ok1);
    return array<f32, 8>(a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w);
}

// r[0] and r[9] of the vec4 row fills at stride 1, padding 1 (ix0 = x0 - 1): the columns
// before and after the tile's 8 in a row of `width` columns. With HALO they come from the
// neighbouring lanes (`halo_left` in the weights' file): `left` is this lane's last value,
// the next lane's r[0], and `right` its first, the previous lane's r[9]; else they are loaded.
fn row_edges(plane: u32, iy: i32, ix0: i32, ok: bool, width: i32, left: f32, right: f32) {
    let x0 = ix0 + 1;
    if HALO {
        r[0] = halo_left(left, ok && x0 > 0);
        r[9] = halo_right(right, ok && x0 + 8 < width);
    } else {
        r[0] = ld(plane, iy, ix0);
        r[9] = ld(plane, iy, ix0 + 9);
    }
}

// With VEC4_IN at stride 1 and padding 1 (ix0 = x0 - 1, x0 a multiple of 8): r[1..9] as two
// aligned vec4s, each wholly inside or outside the row because the width is a multiple of 4.
fn fill_row4(plane: u32, iy: i32, ix0: i32) {
    let ok = iy >= 0 && iy < i32(p.h);
    let x0 = ix0 + 1;
    let row = (plane + u32(max(iy, 0)) * p.w + u32(x0)) / 4u;
    let v = ld8(row, plane / 4u, ok && x0 < i32(p.w), ok && x0 + 4 < i32(p.w));
    r[1] = v[0];
    r[2] = v[1];
    r[3] = v[2];
    r[4] = v[3];
    r[5] = v[4];
    r[6] = v[5];
    r[7] = v[6];
    r[8] = v[7];
    row_edges(plane, iy, ix0, ok, i32(p.w), v[7], v[0]);
}

// With UPSAMPLE (stride 1, padding 1, ix0 = x0 - 1 with x0 even): the 10 columns of the 2x
// row hold 6 source values, each of the middle four twice; load each once.
fn fill_row_up(plane: u32, iy: i32, ix0: i32) {
    r[0] = ld(plane, iy, ix0);
    r[1] = ld(plane, iy, ix0 + 1);
    r[2] = r[1];
    r[3] = ld(plane, iy, ix0 + 3);
    r[4] = r[3];
    r[5] = ld(plane, iy, ix0 + 5);
    r[6] = r[5];
    r[7] = ld(plane, iy, ix0 + 7);
    r[8] = r[7];
    r[9] = ld(plane, iy, ix0 + 9);
}

// With UPSAMPLE and VEC4_IN (stride 1, padding 1, x0 a multiple of 8, a source width that
// is a multiple of 4): the middle 8 columns of the 2x row are one aligned vec4 of the source,
// each value twice; the edge values by `row_edges`.
fn fill_row_up4(plane: u32, iy: i32, ix0: i32) {
    let ok = iy >= 0 && iy < 2 * i32(p.h);
    let x0 = ix0 + 1;
    let sx0 = u32(x0) / 2u;
    let at = (plane + u32(max(iy, 0) / 2) * p.w + sx0) / 4u;
    let a = ld4(at, plane / 4u, ok && sx0 < p.w);
    r[1] = a.x;
    r[2] = a.x;
    r[3] = a.y;
    r[4] = a.y;
    r[5] = a.z;
    r[6] = a.z;
    r[7] = a.w;
    r[8] = a.w;
    row_edges(plane, iy, ix0, ok, 2 * i32(p.w), a.w, a.x);
}

// Fill `r` with the row iy from column ix0 on (10 values, or 17 at stride 2).
fn fill_row(plane: u32, iy: i32, ix0: i32) {
    if VEC4_IN && UPSAMPLE {
        fill_row_up4(plane, iy, ix0);
        return;
    }
    if VEC4_IN {
        fill_row4(plane, iy, ix0);
        return;
    }
    if UPSAMPLE && STRIDE == 1u && p.pad_left == 1u {
        fill_row_up(plane, iy, ix0);
        return;
    }
    fill8(plane, iy, ix0);
    r[8] = ld(plane, iy, ix0 + 8);
    r[9] = ld(plane, iy, ix0 + 9);
    if STRIDE == 2u {
        r[10] = ld(plane, iy, ix0 + 10);
        r[11] = ld(plane, iy, ix0 + 11);
        r[12] = ld(plane, iy, ix0 + 12);
        r[13] = ld(plane, iy, ix0 + 13);
        r[14] = ld(plane, iy, ix0 + 14);
        r[15] = ld(plane, iy, ix0 + 15);
        r[16] = ld(plane, iy, ix0 + 16);
    }
}

// The eight inputs of tap column k (0, 1, 2) from a row read by fill_row (at
// stride 2 every other value).
fn taps8(q: array<f32, 17>, k: u32) -> array<f32, 8> {
    if STRIDE == 1u {
        switch k {
            case 0u: { return array<f32, 8>(q[0], q[1], q[2], q[3], q[4], q[5], q[6], q[7]); }
            case 1u: { return array<f32, 8>(q[1], q[2], q[3], q[4], q[5], q[6], q[7], q[8]); }
            default: { return array<f32, 8>(q[2], q[3], q[4], q[5], q[6], q[7], q[8], q[9]); }
        }
    }
    switch k {
        case 0u: { return array<f32, 8>(q[0], q[2], q[4], q[6], q[8], q[10], q[12], q[14]); }
        case 1u: { return array<f32, 8>(q[1], q[3], q[5], q[7], q[9], q[11], q[13], q[15]); }
        default: { return array<f32, 8>(q[2], q[4], q[6], q[8], q[10], q[12], q[14], q[16]); }
    }
}

// A 1x1 conv's 8 inputs of input channel plane `plane` from pixel x0 on (the host passes
// h = 1, w = H x W: the pixels flattened).
fn row1x1(plane: u32, x0: u32) -> array<f32, 8> {
    if VEC4_IN {
        return ld8((plane + x0) / 4u, plane / 4u, x0 < p.w, x0 + 4u < p.w);
    }
    fill8(plane, 0, i32(x0));
    return array<f32, 8>(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
}

// Kernel row `ky` of input channel plane `plane`: the three taps from one row of input.
fn conv_row(plane: u32, iy: i32, ix0: i32, wrow: u32, cp4: u32) {
    fill_row(plane, iy, ix0);
    let w0 = tap_weights(wrow);
    let w1 = tap_weights(wrow + cp4);
    let w2 = tap_weights(wrow + 2u * cp4);
    mac(w0, taps8(r, 0u));
    mac(w1, taps8(r, 1u));
    mac(w2, taps8(r, 2u));
}

// The epilogue of one output (channel o, pixel x of row y of sample b), in product xi's output.
fn emit(b: u32, o: u32, pix: u32, x: u32, acc: f32) {
    if o >= p.cout || x >= p.ow {
        return;
    }
    conv_epilogue(b, o, pix, out_xi, acc);
}

fn emit_pixel(b: u32, o0: u32, pix: u32, x: u32, acc: array<vec4<f32>, 4>) {
    for (var q = 0u; q < 4u; q++) {
        for (var c = 0u; c < 4u; c++) {
            emit(b, o0 + 4u * q + c, pix, x, acc[q][c]);
        }
    }
}

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // x (then z) counts pixel tiles of CONV_WG invocations, y the 8-channel tile. Invocations
    // past the last tile run the loop on the last one and store nothing: with subgroup weights
    // every lane must take part in the broadcasts.
    let t_raw = (wid.z * nwg.x + wid.x) * CONV_WG + lid;
    let has_work = t_raw < p.tiles;
    // Whole idle subgroups (a batch-1 run of a small level leaves most of a workgroup idle)
    // leave at once; within a subgroup with work, idle lanes run along without storing.
    if skip_idle(has_work) {
        return;
    }
    let t = min(t_raw, p.tiles - 1u);
    weights_init();
    let per_sample = p.oh * p.x_tiles;
    let b = t / per_sample;
    let y = (t % per_sample) / p.x_tiles;
    let x0 = (t % p.x_tiles) * CONV_TN;
    let xi = wid.y / p.o_tiles;
    let o0 = (wid.y % p.o_tiles) * CONV_TM;
    let cp4 = p.cout_padded / 4u;
    let o4 = o0 / 4u + xi * p.w_xstride;
    // The accumulators start at zero: WGSL zero-initialises private variables per invocation.
    let base = p.in_offset + xi * p.in_xstride + b * p.in_bstride;
    out_xi = xi * p.out_xstride;
    let in_plane = p.h * p.w;
    let ix0 = i32(x0 * STRIDE) - i32(p.pad_left);
    var ci = 0u;
    if KSIZE == 1u {
        // Four input channels at a time (from the weights' file), then the rest one by one.
        for (; ci + 4u <= p.cin; ci += 4u) {
            conv1x1_4(base + ci * in_plane, in_plane, x0, ci * cp4 + o4, cp4);
        }
    }
    for (; ci < p.cin; ci++) {
        let plane = base + ci * in_plane;
        if KSIZE == 1u {
            mac(tap_weights(ci * cp4 + o4), row1x1(plane, x0));
        } else {
            let wbase = ci * 9u * cp4 + o4;
            let iy0 = i32(y * STRIDE) - i32(p.pad_top);
            // From the weights' file: a kernel row at a time, or all nine taps at once.
            conv3x3(plane, iy0, ix0, wbase, cp4);
        }
    }
    if !has_work {
        return;
    }
    let row = y * p.ow;
    emit_pixel(b, o0, row + x0 + 0u, x0 + 0u, array<vec4<f32>, 4>(a0[0], a1[0], a2[0], a3[0]));
    emit_pixel(b, o0, row + x0 + 1u, x0 + 1u, array<vec4<f32>, 4>(a0[1], a1[1], a2[1], a3[1]));
    emit_pixel(b, o0, row + x0 + 2u, x0 + 2u, array<vec4<f32>, 4>(a0[2], a1[2], a2[2], a3[2]));
    emit_pixel(b, o0, row + x0 + 3u, x0 + 3u, array<vec4<f32>, 4>(a0[3], a1[3], a2[3], a3[3]));
    emit_pixel(b, o0, row + x0 + 4u, x0 + 4u, array<vec4<f32>, 4>(a0[4], a1[4], a2[4], a3[4]));
    emit_pixel(b, o0, row + x0 + 5u, x0 + 5u, array<vec4<f32>, 4>(a0[5], a1[5], a2[5], a3[5]));
    emit_pixel(b, o0, row + x0 + 6u, x0 + 6u, array<vec4<f32>, 4>(a0[6], a1[6], a2[6], a3[6]));
    emit_pixel(b, o0, row + x0 + 7u, x0 + 7u, array<vec4<f32>, 4>(a0[7], a1[7], a2[7], a3[7]));
}
