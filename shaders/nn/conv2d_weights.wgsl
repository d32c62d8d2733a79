// The weights of conv2d.wgsl, read per invocation: [K][cout_padded / 4] vec4s, the two of a tap
// for the tile's 8 channels loaded by every lane.

@group(0) @binding(2) var<storage, read> wt: array<vec4<f32>>;

fn weights_init() {}

// Channels 0-3 and 4-7 of the tile for weight row `row4` (in vec4s).
fn tap_weights(row4: u32) -> array<vec4<f32>, 2> {
    return array<vec4<f32>, 2>(wt[row4], wt[row4 + 1u]);
}
