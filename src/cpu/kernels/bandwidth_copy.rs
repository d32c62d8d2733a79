//! CPU twin of `shaders/bandwidth_copy.wgsl`: the copy `ddpm bench` measures bandwidth with.

/// `src` copied (the shader copies whole vec4s: `src.len()` must be a multiple of 4).
pub fn bandwidth_copy(src: &[f32]) -> Vec<f32> {
    src.to_vec()
}
