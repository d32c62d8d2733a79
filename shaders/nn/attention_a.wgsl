// The left operand of shaders/nn/attention.wgsl, read per invocation: each lane loads the
// tile's eight rows of column k itself.

fn lanes_init() {}

fn a_col(base: u32, m0: u32, k: u32) -> array<f32, 8> {
    return array<f32, 8>(
        a_at(base, m0, k), a_at(base, m0 + 1u, k), a_at(base, m0 + 2u, k), a_at(base, m0 + 3u, k),
        a_at(base, m0 + 4u, k), a_at(base, m0 + 5u, k), a_at(base, m0 + 6u, k), a_at(base, m0 + 7u, k),
    );
}
