// What one load costs by where it reads from (benches/load_cost.rs): every invocation adds
// up `k` loads at indices that differ from lane to lane, inside a 64 KiB window so that the
// data stays in cache. SRC picks the source; 9 is the same loop without a load. Where the
// adapter has subgroups the host puts subgroup operations in place of the markers.

struct P { n: u32, k: u32, pad0: u32, pad1: u32 }
@group(0) @binding(0) var<uniform> p: P;
@group(0) @binding(1) var<storage, read> s1: array<f32>;
@group(0) @binding(2) var<storage, read> s4: array<vec4<f32>>;
@group(0) @binding(3) var<uniform> u4: array<vec4<f32>, 4096>;
@group(0) @binding(4) var t1: texture_2d<f32>;
@group(0) @binding(5) var t4: texture_2d<f32>;
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
override SRC: u32 = 0u;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gid.x;
    var acc = vec4<f32>();
    for (var k = 0u; k < p.k; k++) {
        let i = (k * 97u + n * 4u) & 4095u;
        switch SRC {
            case 0u: { acc.x += s1[i]; }
            case 1u: { acc += s4[i]; }
            case 2u: { acc.x += u4[i].x; }
            case 3u: { acc += u4[i]; }
            case 4u: { acc.x += textureLoad(t1, vec2<u32>(i & 63u, i >> 6u), 0).x; }
            case 5u: { acc += textureLoad(t4, vec2<u32>(i & 63u, i >> 6u), 0); }
            case 6u: { acc.x += /*BROADCAST*/f32(i); }
            case 7u: { acc.x += /*SHUFFLE_UP*/f32(i); }
            case 8u: { acc.x += /*SHUFFLE*/f32(i); }
            default: { acc.x += f32(i); }
        }
    }
    if n < p.n {
        out[n] = acc.x + acc.y + acc.z + acc.w;
    }
}
