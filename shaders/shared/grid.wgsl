// How the vec4 kernels map invocations to elements. Part of the shared prefix of every kernel
// (`COMMON_WGSL` in src/gpu/runtime/shaders/mod.rs: shaders/common.wgsl, then shaders/shared/*.wgsl).

// How a vec4 kernel's invocations map to elements: the value of its `GRID` pipeline constant.
// Keep in sync with src/gpu/runtime/params.rs. Neither has a grid-stride loop (see `vec4_grid` in
// src/gpu/runtime/launch.rs for when each is used and why).
const GRID_FLAT: u32 = 0u;       // x then y rows over all vec4s of the batch
const GRID_PER_SAMPLE: u32 = 1u; // x over one sample's vec4s, y then z over samples

// vec4s per invocation in the vec4 kernels, WG_SIZE apart (lanes next to each other stay on
// neighbouring vec4s), set per kernel by the host (`Kernel::vec4s_per_invocation` in
// src/gpu/runtime/shaders/mod.rs). On llvmpipe a load whose index is not a compile-time constant runs lane
// by lane, so the schedule row read per invocation costs about as much as a vec4 of data; two
// vec4s per invocation share it on the per-sample grid.
override VEC4S_PER_INVOCATION: u32 = 1u;

// (sample, vec4 within the sample) of this invocation's j-th vec4 on a per-sample grid: the
// sample is uniform over the workgroup and the same for every j (so are the timestep and
// schedule-row loads that depend on it) and nothing divides. Past the batch (the overhang of
// y * z) the sample index runs past B, and past the sample's end the vec4 index runs past len4:
// callers check both.
fn per_sample_at(j: u32, lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let k = (wid.x * VEC4S_PER_INVOCATION + j) * WG_SIZE + lid.x;
    return vec2<u32>(wid.y + wid.z * nwg.y, k);
}

// The index of this invocation's j-th vec4 (or f16 group) over the whole batch on a flat grid.
fn flat_index(j: u32, lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return ((wid.x + wid.y * nwg.x) * VEC4S_PER_INVOCATION + j) * WG_SIZE + lid.x;
}

// The same on a flat grid, for samples of len4 vec4s: one division per vec4, but every lane busy
// when samples are short. The sample may differ between j. Past the batch the sample index runs
// past B.
fn flat_at(len4: u32, j: u32, lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    let i = flat_index(j, lid, wid, nwg);
    let b = i / len4;
    return vec2<u32>(b, i - b * len4);
}

// The grid is a pipeline constant, not a uniform: with a run-time choice between the two the
// compiler must treat the sample as varying on both paths, and on llvmpipe that cost more than
// the per-sample grid gains (p_sample 0.37 of copy against 0.59). Only the vec4 kernels use it;
// the host sets it per pipeline (`vec4_grid` in src/gpu/runtime/launch.rs).
override GRID: u32 = GRID_PER_SAMPLE;

// (sample, vec4 within the sample) of this invocation's j-th vec4 on the pipeline's GRID, for
// samples of len4 vec4s. With GRID a constant only one branch survives compilation.
fn vec4_position(len4: u32, j: u32, lid: vec3<u32>, wid: vec3<u32>, nwg: vec3<u32>) -> vec2<u32> {
    if GRID == GRID_PER_SAMPLE {
        return per_sample_at(j, lid, wid, nwg);
    }
    return flat_at(len4, j, lid, wid, nwg);
}

// Whether the j-th vec4 of an invocation may be in another sample than its first: only on the
// flat grid. The kernels reload the schedule row only then.
fn sample_may_change(j: u32) -> bool {
    return GRID == GRID_FLAT && j > 0u;
}
