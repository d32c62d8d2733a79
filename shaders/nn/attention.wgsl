// The two products of the UNet's attention (host: src/gpu/nn/attention.rs; CPU twin:
// src/cpu/nn/attention.rs) as one batched strided matmul: for z < batch x heads,
// c[m, n] = scale sum_k a[m, k] b[k, n], each operand addressed by its own strides (see
// `MatmulParams`), so that q k^T reads q and k where the qkv projection wrote them and p v
// writes the heads straight into the channels of the output projection's input. Each
// invocation keeps an 8 x 8 tile in registers. The tile's column of a comes from `a_col`
// (attention_a.wgsl, per lane, or attention_a_subgroup.wgsl, shared, prepended).

const MM_TILE: u32 = 8u;
const MM_WG: u32 = 64u; // keep in sync with MM_WG in src/gpu/nn/attention.rs

@group(0) @binding(0) var<uniform> p: MatmulParams;
@group(0) @binding(1) var<storage, read> a: array<act>;
@group(0) @binding(2) var<storage, read> bm: array<act>;
@group(0) @binding(3) var<storage, read_write> c: array<act>;

// acc[i]: row i of the tile, columns 0-3 (lo) and 4-7 (hi).
var<private> acc_lo: array<vec4<f32>, 8>;
var<private> acc_hi: array<vec4<f32>, 8>;

fn a_at(base: u32, m: u32, k: u32) -> f32 {
    let ok = m < p.m;
    return select(0.0, f32(a[select(base, base + m * p.a_mstride + k * p.a_kstride, ok)]), ok);
}

fn b_at(base: u32, k: u32, n: u32) -> f32 {
    let ok = n < p.n;
    return select(0.0, f32(bm[select(base, base + k * p.b_kstride + n * p.b_nstride, ok)]), ok);
}

fn store(base: u32, m: u32, n0: u32, lo: vec4<f32>, hi: vec4<f32>) {
    if m >= p.m {
        return;
    }
    for (var j = 0u; j < 4u; j++) {
        if n0 + j < p.n {
            c[base + m * p.c_mstride + (n0 + j) * p.c_nstride] = act(p.scale * lo[j]);
        }
        if n0 + 4u + j < p.n {
            c[base + m * p.c_mstride + (n0 + 4u + j) * p.c_nstride] = act(p.scale * hi[j]);
        }
    }
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
    let z = wid.y;
    let tile = gid.x;
    let m_tiles = (p.m + MM_TILE - 1u) / MM_TILE;
    if tile >= m_tiles * p.n_tiles {
        return;
    }
    let m0 = (tile / p.n_tiles) * MM_TILE;
    let n0 = (tile % p.n_tiles) * MM_TILE;
    let zb = z / p.heads;
    let zh = z % p.heads;
    let abase = p.a_offset + zb * p.a_bstride + zh * p.a_hstride;
    let bbase = p.b_offset + zb * p.b_bstride + zh * p.b_hstride;
    let cbase = p.c_offset + zb * p.c_bstride + zh * p.c_hstride;
    lanes_init();
    for (var k = 0u; k < p.k; k++) {
        let b_lo = vec4<f32>(b_at(bbase, k, n0), b_at(bbase, k, n0 + 1u), b_at(bbase, k, n0 + 2u), b_at(bbase, k, n0 + 3u));
        let b_hi = vec4<f32>(b_at(bbase, k, n0 + 4u), b_at(bbase, k, n0 + 5u), b_at(bbase, k, n0 + 6u), b_at(bbase, k, n0 + 7u));
        let ak = a_col(abase, m0, k);
        let a0 = vec4<f32>(ak[0]);
        acc_lo[0] = fma(a0, b_lo, acc_lo[0]);
        acc_hi[0] = fma(a0, b_hi, acc_hi[0]);
        let a1 = vec4<f32>(ak[1]);
        acc_lo[1] = fma(a1, b_lo, acc_lo[1]);
        acc_hi[1] = fma(a1, b_hi, acc_hi[1]);
        let a2 = vec4<f32>(ak[2]);
        acc_lo[2] = fma(a2, b_lo, acc_lo[2]);
        acc_hi[2] = fma(a2, b_hi, acc_hi[2]);
        let a3 = vec4<f32>(ak[3]);
        acc_lo[3] = fma(a3, b_lo, acc_lo[3]);
        acc_hi[3] = fma(a3, b_hi, acc_hi[3]);
        let a4 = vec4<f32>(ak[4]);
        acc_lo[4] = fma(a4, b_lo, acc_lo[4]);
        acc_hi[4] = fma(a4, b_hi, acc_hi[4]);
        let a5 = vec4<f32>(ak[5]);
        acc_lo[5] = fma(a5, b_lo, acc_lo[5]);
        acc_hi[5] = fma(a5, b_hi, acc_hi[5]);
        let a6 = vec4<f32>(ak[6]);
        acc_lo[6] = fma(a6, b_lo, acc_lo[6]);
        acc_hi[6] = fma(a6, b_hi, acc_hi[6]);
        let a7 = vec4<f32>(ak[7]);
        acc_lo[7] = fma(a7, b_lo, acc_lo[7]);
        acc_hi[7] = fma(a7, b_hi, acc_hi[7]);
    }
    store(cbase, m0, n0, acc_lo[0], acc_hi[0]);
    store(cbase, m0 + 1u, n0, acc_lo[1], acc_hi[1]);
    store(cbase, m0 + 2u, n0, acc_lo[2], acc_hi[2]);
    store(cbase, m0 + 3u, n0, acc_lo[3], acc_hi[3]);
    store(cbase, m0 + 4u, n0, acc_lo[4], acc_hi[4]);
    store(cbase, m0 + 5u, n0, acc_lo[5], acc_hi[5]);
    store(cbase, m0 + 6u, n0, acc_lo[6], acc_hi[6]);
    store(cbase, m0 + 7u, n0, acc_lo[7], acc_hi[7]);
}
