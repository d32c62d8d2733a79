// The entry point of the vec4 reverse-step kernels (p_sample_vec4.wgsl, ddpm_step_vec4.wgsl,
// ddpm_step_gaussian_vec4.wgsl), appended to each after its own file by the host
// (`Kernel::source` in src/gpu/runtime/shaders/mod.rs): VEC4S_PER_INVOCATION vec4s per invocation at
// `vec4_position` on the pipeline's GRID, the schedule row loaded once per sample, and the
// kernel's own `step_vec4(p, step, c, b, k, i)` for vec4 k of sample b at flat vec4 index i.
// Each kernel declares `params: ElementParams`, `coefs` and `timesteps`; WGSL module-scope
// declarations may come in any order. One place for this loop, where it used to be repeated
// in all three files.

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let p = with_model_constants(params);
    let len4 = params.sample_len / 4u;
    // The first vec4's row, loaded before the bounds checks: uniform over the workgroup that
    // way on the per-sample grid (a sample past the batch reads in bounds, as wgpu clamps
    // indices, and writes nothing).
    var step = step_index(timesteps[vec4_position(len4, 0u, lid, wid, nwg).x], p.num_timesteps);
    var c = coefs[step];
    for (var j = 0u; j < VEC4S_PER_INVOCATION; j++) {
        let at = vec4_position(len4, j, lid, wid, nwg);
        let i = at.x * len4 + at.y;
        // Past the end of the sample, or a sample past the batch (the overhang of y * z).
        if at.y < len4 && i < p.n_elements / 4u {
            if sample_may_change(j) {
                step = step_index(timesteps[at.x], p.num_timesteps);
                c = coefs[step];
            }
            step_vec4(p, step, c, at.x, at.y, i);
        }
    }
}
