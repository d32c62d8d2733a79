// Winograd F(2x2, 3x3), output side (host: src/gpu/nn/winograd.rs): the 16 products m of a
// 2x2 tile become Y = A^T m A, then the conv's epilogue as in conv2d.wgsl: + bias, + the time
// projection (TEMB), (residual + .) / out_scale (RESIDUAL), the channels from `split` on to the
// second output (SPLIT).

override TEMB: bool = false;
override RESIDUAL: bool = false;
override SPLIT: bool = false;

@group(0) @binding(0) var<uniform> p: WinogradParams;
@group(0) @binding(1) var<storage, read> m: array<act>;
@group(0) @binding(2) var<storage, read> bias: array<act>;
@group(0) @binding(3) var<storage, read> temb: array<act>;
@group(0) @binding(4) var<storage, read> res: array<act>;
@group(0) @binding(5) var<storage, read_write> dst: array<act>;
@group(0) @binding(6) var<storage, read_write> dst2: array<act>;

fn emit(b: u32, o: u32, y: u32, x: u32, acc: f32) {
    if y >= p.oh || x >= p.ow {
        return;
    }
    var v = acc + f32(bias[o]);
    if TEMB {
        v += f32(temb[b * p.temb_stride + p.temb_offset + o]);
    }
    let plane = p.oh * p.ow;
    let pix = y * p.ow + x;
    if RESIDUAL {
        v = (f32(res[p.res_offset + b * p.res_bstride + o * plane + pix]) + v) / p.out_scale;
    }
    if SPLIT && o >= p.split {
        dst2[p.out2_offset + b * p.out2_bstride + (o - p.split) * plane + pix] = act(v);
    } else {
        dst[p.out_offset + b * p.out_bstride + o * plane + pix] = act(v);
    }
}

// A^T applied to four values.
fn at(a: vec4<f32>) -> vec2<f32> {
    return vec2<f32>(a.x + a.y + a.z, a.y - a.z - a.w);
}

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let t = gid.y * nwg.x * 64u + gid.x;
    let tiles = p.ty * p.tx;
    if t >= p.batch * p.channels * tiles {
        return;
    }
    let b = t / (p.channels * tiles);
    let o = (t / tiles) % p.channels;
    let tile = t % tiles;
    let at0 = (b * p.cstride + o) * tiles + tile;
    var r: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i++) {
        let q = 4u * i * p.xstride + at0;
        r[i] = vec4<f32>(
            f32(m[q]),
            f32(m[q + p.xstride]),
            f32(m[q + 2u * p.xstride]),
            f32(m[q + 3u * p.xstride]),
        );
    }
    // A^T over rows, then A on the right.
    let s0 = r[0] + r[1] + r[2];
    let s1 = r[1] - r[2] - r[3];
    let y0 = at(s0);
    let y1 = at(s1);
    let y = 2u * (tile / p.tx);
    let x = 2u * (tile % p.tx);
    emit(b, o, y, x, y0.x);
    emit(b, o, y, x + 1u, y0.y);
    emit(b, o, y + 1u, x, y1.x);
    emit(b, o, y + 1u, x + 1u, y1.y);
}
