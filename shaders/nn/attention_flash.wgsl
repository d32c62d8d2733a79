// The attention's scores, softmax and mix of v in one pass, with no scores buffer (host:
// src/gpu/nn/attention_flash.rs; CPU twin: src/cpu/nn/attention.rs): for each sample, head and
// query i, mixed[h d + c, i] = sum_j v[h d + c, j] softmax_j(scale q_i . k_j), with the keys
// and values streamed in tiles of FA_BK and the softmax kept online (a running max m and sum l
// per query; when a tile raises the max, what was accumulated is scaled by exp(m_old - m_new)).
// For GPUs, where the materialised scores (attention.wgsl, attention_softmax*.wgsl) cost a
// round trip through memory of B heads N^2 floats.
//
// A workgroup of 64 takes FA_BQ = 8 queries of one (sample, head): their q rows are staged in
// workgroup memory once; per key tile, lane j scores key j against the 8 queries (reads of k
// consecutive across lanes), 8 lanes then update one query's running max and sum each, and
// lane c accumulates channels c, c + 64, ... (at most FA_MAXC of them: head_dim <= 256) of the 8
// queries' outputs from the tile's probabilities in workgroup memory. qkv holds q, k and v as
// [3 inner, N] per sample (channel-major, as the 1x1 conv writes them).

const FA_BQ: u32 = 8u;     // queries per workgroup (FLASH_QUERIES in attention_flash.rs)
const FA_BK: u32 = 64u;    // keys per tile = invocations per workgroup
const FA_MAXD: u32 = 256u; // the largest head_dim (FLASH_MAX_HEAD_DIM)
const FA_MAXC: u32 = 4u;   // FA_MAXD / 64: channels per lane
const FA_LOW: f32 = -3.4028235e38;

@group(0) @binding(0) var<uniform> p: FlashParams;
@group(0) @binding(1) var<storage, read> qkv: array<act>;
@group(0) @binding(2) var<storage, read_write> out: array<act>;

var<workgroup> qs: array<f32, 2048>;   // FA_BQ x FA_MAXD
var<workgroup> ps: array<f32, 512>;    // FA_BQ x FA_BK: scores, then probabilities
var<workgroup> row_max: array<f32, 8>;
var<workgroup> row_sum: array<f32, 8>;
var<workgroup> row_alpha: array<f32, 8>;

@compute @workgroup_size(64)
fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wid: vec3<u32>) {
    let n = p.n;
    let d = p.head_dim;
    let q0 = wid.x * FA_BQ;
    let head = wid.y;
    let base = p.qkv_offset + wid.z * p.qkv_bstride + head * d * n;
    let k_base = base + p.inner * n;
    let v_base = base + 2u * p.inner * n;
    for (var idx = lid; idx < FA_BQ * d; idx += FA_BK) {
        let qq = idx / d;
        let c = idx % d;
        let i = q0 + qq;
        qs[qq * FA_MAXD + c] = select(0.0, f32(qkv[base + c * n + min(i, n - 1u)]), i < n);
    }
    if lid < FA_BQ {
        row_max[lid] = FA_LOW;
        row_sum[lid] = 0.0;
    }
    var acc: array<f32, 32>; // FA_MAXC x FA_BQ
    for (var a = 0u; a < FA_MAXC * FA_BQ; a++) {
        acc[a] = 0.0;
    }
    workgroupBarrier();
    for (var kt = 0u; kt < n; kt += FA_BK) {
        // Scores of key kt + lid against the 8 queries.
        let j = kt + lid;
        var s: array<f32, 8>;
        for (var qq = 0u; qq < FA_BQ; qq++) {
            s[qq] = 0.0;
        }
        if j < n {
            for (var c = 0u; c < d; c++) {
                let kc = f32(qkv[k_base + c * n + j]);
                for (var qq = 0u; qq < FA_BQ; qq++) {
                    s[qq] += qs[qq * FA_MAXD + c] * kc;
                }
            }
        }
        for (var qq = 0u; qq < FA_BQ; qq++) {
            ps[qq * FA_BK + lid] = select(FA_LOW, p.scale * s[qq], j < n);
        }
        workgroupBarrier();
        // One lane per query: the tile's max, the new running max, probabilities, the sum.
        if lid < FA_BQ {
            let row = lid * FA_BK;
            var mt = FA_LOW;
            for (var jj = 0u; jj < FA_BK; jj++) {
                mt = max(mt, ps[row + jj]);
            }
            let m_old = row_max[lid];
            let m_new = max(m_old, mt);
            var lt = 0.0;
            for (var jj = 0u; jj < FA_BK; jj++) {
                // A masked key (past N) is FA_LOW: its exp is 0.
                let e = select(0.0, exp(ps[row + jj] - m_new), kt + jj < n);
                ps[row + jj] = e;
                lt += e;
            }
            let alpha = exp(m_old - m_new);
            row_alpha[lid] = alpha;
            row_sum[lid] = row_sum[lid] * alpha + lt;
            row_max[lid] = m_new;
        }
        workgroupBarrier();
        // Lane c: channels c, c + 64, ... of the 8 outputs, rescaled, plus this tile's p v.
        let len = min(FA_BK, n - kt);
        for (var t = 0u; t < FA_MAXC; t++) {
            let c = lid + t * FA_BK;
            if c < d {
                let v_row = v_base + c * n + kt;
                for (var qq = 0u; qq < FA_BQ; qq++) {
                    var pv = 0.0;
                    for (var jj = 0u; jj < len; jj++) {
                        pv += ps[qq * FA_BK + jj] * f32(qkv[v_row + jj]);
                    }
                    acc[t * FA_BQ + qq] = acc[t * FA_BQ + qq] * row_alpha[qq] + pv;
                }
            }
        }
        // Everyone has read this tile's probabilities before the next tile's scores.
        workgroupBarrier();
    }
    let o_base = p.out_offset + wid.z * p.out_bstride + head * d * n;
    for (var t = 0u; t < FA_MAXC; t++) {
        let c = lid + t * FA_BK;
        for (var qq = 0u; qq < FA_BQ; qq++) {
            let i = q0 + qq;
            if c < d && i < n {
                out[o_base + c * n + i] = act(acc[t * FA_BQ + qq] / row_sum[qq]);
            }
        }
    }
}
