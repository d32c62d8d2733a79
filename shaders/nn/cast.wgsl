// The UNet forward's two conversions where it stores f16 (host: src/gpu/nn/cast.rs; CPU twin:
// src/cpu/nn/cast.rs): x_t from the loop's f32 into the UNet's storage before conv_in (cast_in),
// and conv_out's output back into the loop's f32 model_output and model_var (cast_out). The
// prelude names the two element types (cast_src, cast_dst: f32 or `act`); a value goes through
// f32, so f32 -> f16 rounds to nearest even and f16 -> f32 is exact. One value per invocation;
// workgroup row y is the sample, x (then z) the values of its view.

@group(0) @binding(0) var<uniform> p: CastParams;
@group(0) @binding(1) var<storage, read> src: array<cast_src>;
@group(0) @binding(2) var<storage, read_write> dst: array<cast_dst>;

@compute @workgroup_size(64)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = (wid.z * nwg.x + wid.x) * 64u + lid;
    let b = wid.y;
    if i >= p.len || b >= p.batch {
        return;
    }
    let v = f32(src[p.in_offset + b * p.in_bstride + i]);
    dst[p.out_offset + b * p.out_bstride + i] = cast_dst(v);
}
