// Winograd F(2x2, 3x3), input side (host: src/gpu/nn/winograd.rs; the layer's CPU twin is the
// conv's, src/cpu/nn/conv2d.rs): for every 2x2 output tile of a 3x3 stride-1 conv, the 4x4
// input patch d under it (zeros in the padding; read through the nearest 2x enlargement with
// UPSAMPLE, as 2 d - 1 with CENTER) becomes V = B^T d B, 16 values, written as 16 planes
// [xi][b][c][tile] that the conv kernel multiplies by the weights' U = G g G^T as 16 1x1 convs
// (xi = 4 row + column). A 3x3 conv then costs 16 products per 4 outputs instead of 36.

override UPSAMPLE: bool = false;
override CENTER: bool = false;

@group(0) @binding(0) var<uniform> p: WinogradParams;
@group(0) @binding(1) var<storage, read> src: array<act>;
@group(0) @binding(2) var<storage, read_write> v: array<act>;

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
    var x = f32(src[select(plane, plane + sy * p.w + sx, ok)]);
    if CENTER {
        x = 2.0 * x - 1.0;
    }
    return select(0.0, x, ok);
}

// B^T applied to a column of four values (and, transposed, to a row).
fn bt(a: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(a.x - a.z, a.y + a.z, a.z - a.y, a.y - a.w);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.y * nwg.x * 64u + gid.x;
    let tiles = p.ty * p.tx;
    if t >= p.batch * p.channels * tiles {
        return;
    }
    let b = t / (p.channels * tiles);
    let c = (t / tiles) % p.channels;
    let tile = t % tiles;
    let y0 = i32(2u * (tile / p.tx)) - i32(p.pad_top);
    let x0 = i32(2u * (tile % p.tx)) - i32(p.pad_left);
    let plane = p.in_offset + b * p.in_bstride + c * p.h * p.w;
    var d: array<vec4<f32>, 4>;
    for (var i = 0; i < 4; i++) {
        d[i] = vec4<f32>(ld(plane, y0 + i, x0), ld(plane, y0 + i, x0 + 1), ld(plane, y0 + i, x0 + 2), ld(plane, y0 + i, x0 + 3));
    }
    // B^T d over rows, then B on the right over columns.
    let r0 = d[0] - d[2];
    let r1 = d[1] + d[2];
    let r2 = d[2] - d[1];
    let r3 = d[1] - d[3];
    let out = (b * p.channels + c) * tiles + tile;
    let rows = array<vec4<f32>, 4>(bt(r0), bt(r1), bt(r2), bt(r3));
    for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) {
            v[(4u * i + j) * p.xstride + out] = act(rows[i][j]);
        }
    }
}
