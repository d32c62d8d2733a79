// A 2-D convolution as an implicit GEMM with both operands staged in workgroup memory, the
// variant for hardware GPUs (host: src/gpu/nn/conv2d_tiled.rs; CPU twin: src/cpu/nn/conv2d.rs,
// the same conv as shaders/nn/conv2d.wgsl, which stays the kernel for software adapters).
//
// GEMM view: M = output channels, N = batch x output pixels, K = input channels x taps.
// out[b, o, y, x] = bias[o] + sum_k w[o, k] col[k, (b, y, x)], col the input unfolded (im2col)
// on the fly: k = (ci, ky, kx) reads in[b, ci, y s + ky - top, x s + kx - left], zero outside
// the input; UPSAMPLE reads the input as its nearest 2x enlargement, CENTER as 2 in - 1. The
// epilogue is conv2d.wgsl's: + temb[b, o] (TEMB), (res + .) / out_scale (RESIDUAL), channels
// from `split` on to dst2 (SPLIT).
//
// A workgroup of WG invocations owns a BM (channels) x BN (pixels) output tile. Per step of BK
// along K it stages the weights' BK x BM block and the unfolded input's BK x BN block in
// workgroup memory (rows padded by TILE_PAD floats so that rows do not start on the same bank),
// then every invocation accumulates its TM x TN outputs in f32 registers from TM + TN
// workgroup loads per k. Invocation (tm, tn) holds channels tm TM .. tm TM + TM - 1 (one
// broadcast row of the weights tile: all the lanes of a row share tm) and pixels tn + j TX
// (consecutive lanes, consecutive pixels: conflict-free loads and coalesced stores).
//
// The tile shape is a set of pipeline constants (the host's `TileShape`, which checks them
// against the device's limits before a pipeline is made): WG = (BM / TM) (BN / TN), WG a
// multiple of BM and of BN, BM a multiple of 4 (vec4 weight loads), BK BM and BK BN multiples
// of WG, TM and TN at most 8.

override KSIZE: u32 = 3u;      // 1 or 3
override STRIDE: u32 = 1u;     // 1 or 2 (KSIZE 3 only)
override UPSAMPLE: bool = false;
override TEMB: bool = false;
override RESIDUAL: bool = false;
override SPLIT: bool = false;
override CENTER: bool = false;

override BM: u32 = 128u;       // output channels per workgroup tile
override BN: u32 = 128u;       // output pixels (over the batch) per workgroup tile
override BK: u32 = 16u;        // K per staging step
override TM: u32 = 8u;         // channels per invocation (at most TILE_MAX)
override TN: u32 = 8u;         // pixels per invocation (at most TILE_MAX)
override WG: u32 = 256u;       // invocations: (BM / TM) (BN / TN)

// Floats of padding after each row of a tile (16 bytes). Keep in sync with TILE_PAD in
// src/gpu/nn/conv2d_tiled.rs (the workgroup memory check).
const TILE_PAD: u32 = 4u;
// The register tile's largest side. Keep in sync with TILE_MAX in src/gpu/nn/conv2d_tiled.rs.
const TILE_MAX: u32 = 8u;

override A_LEN: u32 = BK * (BM + TILE_PAD);
override B_LEN: u32 = BK * (BN + TILE_PAD);

// The weights' block: a_tile[kk (BM + TILE_PAD) + m].
var<workgroup> a_tile: array<f32, A_LEN>;
// The unfolded input's block: b_tile[kk (BN + TILE_PAD) + n].
var<workgroup> b_tile: array<f32, B_LEN>;

@group(0) @binding(0) var<uniform> p: TiledConvParams;
@group(0) @binding(1) var<storage, read> src: array<act>;
// [K][cout_padded], as the direct kernel's (uploaded once by GpuConv2d), read four channels
// at a time: cout_padded is a multiple of 16 and BM of 4, so a vec4 never straddles a row.
@group(0) @binding(2) var<storage, read> wt4: array<act4>;
@group(0) @binding(3) var<storage, read> bias: array<act>;
@group(0) @binding(4) var<storage, read> temb: array<act>;
@group(0) @binding(5) var<storage, read> res: array<act>;
@group(0) @binding(6) var<storage, read_write> dst: array<act>;
@group(0) @binding(7) var<storage, read_write> dst2: array<act>;

// Unfolded input element (k, pixel): `pix_ok` and (b, oy, ox) describe the pixel. The index is
// made valid before the load, so no lane reads outside the view.
fn col(k: u32, pix_ok: bool, b: u32, oy: u32, ox: u32) -> f32 {
    let taps = KSIZE * KSIZE;
    let ci = k / taps;
    let r = k % taps;
    let ky = r / KSIZE;
    let kx = r % KSIZE;
    var hh = i32(p.h);
    var ww = i32(p.w);
    if UPSAMPLE {
        hh = 2 * hh;
        ww = 2 * ww;
    }
    let iy = i32(oy * STRIDE + ky) - i32(p.pad_top);
    let ix = i32(ox * STRIDE + kx) - i32(p.pad_left);
    let ok = pix_ok && k < p.k_total && iy >= 0 && iy < hh && ix >= 0 && ix < ww;
    var sy = u32(max(iy, 0));
    var sx = u32(max(ix, 0));
    if UPSAMPLE {
        sy = sy >> 1u;
        sx = sx >> 1u;
    }
    let at = p.in_offset + b * p.in_bstride + ci * p.h * p.w + sy * p.w + sx;
    var v = f32(src[select(p.in_offset, at, ok)]);
    if CENTER {
        v = 2.0 * v - 1.0;
    }
    return select(0.0, v, ok);
}

// The epilogue of one output (channel o, pixel pix of sample b): conv_epilogue.wgsl's.
fn emit(b: u32, o: u32, pix: u32, acc: f32) {
    conv_epilogue(b, o, pix, 0u, acc);
}

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    // x (then z) counts pixel tiles, y channel tiles. A whole workgroup past the last pixel
    // tile (the grid's overhang in x) leaves before any barrier: the condition is uniform.
    let n_tile = wid.z * nwg.x + wid.x;
    if n_tile >= p.n_tiles {
        return;
    }
    let n0 = n_tile * BN;
    let m0 = wid.y * BM;
    let tx = BN / TN;
    let tm = lid / tx;
    let tn = lid % tx;

    // Staging: WG is a multiple of BN and BM, so each invocation stages one column nn of the
    // input block (and four columns mq .. mq + 3 of the weights block, one vec4 load) at rows
    // kk0, kk0 + step, ...; the pixel it unfolds is fixed, decomposed once.
    let nn = lid % BN;
    let kb0 = lid / BN;
    let kb_step = WG / BN;
    let n = n0 + nn;
    let plane = p.oh * p.ow;
    let pix_ok = n < p.n_total;
    let nb = select(0u, n / plane, pix_ok);
    let npix = n % plane;
    let oy = npix / p.ow;
    let ox = npix % p.ow;
    let mq = (lid % (BM / 4u)) * 4u;
    let ka0 = lid / (BM / 4u);
    let ka_step = WG / (BM / 4u);
    let o_ok = m0 + mq < p.cout_padded;

    var acc: array<f32, TILE_MAX * TILE_MAX>; // zero-initialised; TM x TN used
    var av: array<f32, TILE_MAX>;
    var bv: array<f32, TILE_MAX>;
    for (var k0 = 0u; k0 < p.k_total; k0 += BK) {
        for (var kk = ka0; kk < BK; kk += ka_step) {
            let k = k0 + kk;
            let ok = o_ok && k < p.k_total;
            let at = (k * p.cout_padded + m0 + mq) / 4u;
            let w = select(vec4<f32>(0.0), vec4<f32>(wt4[select(0u, at, ok)]), ok);
            let row = kk * (BM + TILE_PAD) + mq;
            a_tile[row] = w.x;
            a_tile[row + 1u] = w.y;
            a_tile[row + 2u] = w.z;
            a_tile[row + 3u] = w.w;
        }
        for (var kk = kb0; kk < BK; kk += kb_step) {
            b_tile[kk * (BN + TILE_PAD) + nn] = col(k0 + kk, pix_ok, nb, oy, ox);
        }
        workgroupBarrier();
        for (var kk = 0u; kk < BK; kk++) {
            let arow = kk * (BM + TILE_PAD) + tm * TM;
            let brow = kk * (BN + TILE_PAD) + tn;
            for (var i = 0u; i < TM; i++) {
                av[i] = a_tile[arow + i];
            }
            for (var j = 0u; j < TN; j++) {
                bv[j] = b_tile[brow + j * tx];
            }
            for (var i = 0u; i < TM; i++) {
                for (var j = 0u; j < TN; j++) {
                    acc[i * TILE_MAX + j] = fma(av[i], bv[j], acc[i * TILE_MAX + j]);
                }
            }
        }
        // The next step overwrites the tiles: every invocation must be done reading them.
        workgroupBarrier();
    }

    for (var i = 0u; i < TM; i++) {
        let o = m0 + tm * TM + i;
        for (var j = 0u; j < TN; j++) {
            let n = n0 + tn + j * tx;
            if o < p.cout && n < p.n_total {
                emit(n / plane, o, n % plane, acc[i * TILE_MAX + j]);
            }
        }
    }
}
