//! The kernels whose modules are created without naga's runtime checks (its clamps of every
//! dynamic index and its counter in every loop; `ShaderChecks::Audited`, the default), each with
//! the reason its indices stay in range and its loops end. Every other kernel keeps the checks.
//! `DDPM_SHADER_CHECKS=all` (or `Context::with_shader_checks`) keeps them everywhere;
//! tests/shader_checks.rs holds both builds to the same bits.
//!
//! What every reason below relies on, besides its own lines: the UNet's buffers and views come
//! from `gpu::nn::plan` (each activation buffer holds its tensor's values per sample times the
//! sub-batch, each view is a channel range of its tensor, and its uniform's offsets and strides
//! are those of the sub-batch; weights are uploaded at the sizes `GpuConv2d`, `GpuGroupNorm`,
//! `GpuLinear` check against the layer's declared shape, and a model whose weights do not match
//! is refused before), and every size a kernel indexes with went through `u32_of`, so no index
//! wraps. Loops count up by a positive step (a constant, a pipeline constant the host checked,
//! or a subgroup size of at least 1) to a bound from the uniform or a constant.

use super::Kernel;

impl Kernel {
    /// Why this kernel may run without naga's runtime checks, or `None` where it keeps them.
    pub fn unchecked_because(self) -> Option<&'static str> {
        Some(match self {
            Kernel::Conv2d | Kernel::Conv2dSubgroup => {
                "conv2d: its private arrays (the 16 accumulators, the input row r[17], the \
                 taps) are indexed by constants or by loops of constant bound under their \
                 lengths; a lane past the last tile works on the last tile (min(t, tiles - \
                 1)) and stores nothing; every input load is select(valid, index, inside) with \
                 the valid index the plane's first element, weights are read at rows below \
                 cin k k and columns below cout_padded of the [K][cout_padded] upload, and an \
                 output is written only for o < cout and x < ow (GpuConv2d::stage checks the \
                 output size against the kernel)"
            }
            Kernel::Conv2dTiled => {
                "conv2d_tiled: its workgroup tiles are indexed kk (BM + 4) + m and kk (BN + 4) \
                 + n with kk < BK, m < BM, n < BN, and its register tile i TILE_MAX + j with \
                 i < TM, j < TN: TileShape::check refuses a shape with TM or TN over \
                 TILE_MAX, WG other than (BM / TM)(BN / TN), or tiles past the device's \
                 workgroup memory; loads outside the weights or the view are select()ed to \
                 a valid index, stores need o < cout and n < N"
            }
            Kernel::GroupNorm | Kernel::GroupNormSubgroup | Kernel::GroupNormSubgroups => {
                "group_norm: one workgroup per (group, sample) of a grid the host sizes to \
                 groups x batch; its loops run i < cpg H W (or a quarter of it, vec4, where \
                 NormArgs' views and planes are 4-aligned, host-checked) inside the group's \
                 channels; the sums' workgroup slots are indexed by the invocation (< 64) or \
                 by loops below 64"
            }
            Kernel::Linear => {
                "linear: one output per invocation, i < rows out_features checked first; \
                 gathered rows and class rows are min()ed to the table's last row"
            }
            Kernel::Attention | Kernel::AttentionSubgroup => {
                "attention: accumulators indexed by constants; operand loads at m >= M or \
                 n >= N are select()ed to the operand's first element and stores need m < M \
                 and n < N, with M, N, K and the strides those of the tensors emit_scores \
                 made for them"
            }
            Kernel::AttentionSoftmax
            | Kernel::AttentionSoftmaxRows
            | Kernel::AttentionSoftmaxRowsSubgroups => {
                "attention_softmax: rows < rows and columns < len of the scores tensor, whose \
                 size per sample is heads N N = (rows / batch) len; the reductions' slots as \
                 group_norm's"
            }
            Kernel::AttentionFlash => {
                "attention_flash: qs[q FA_MAXD + c] needs head_dim <= FA_MAXD, which \
                 FlashOp::stage checks (FLASH_MAX_HEAD_DIM) before it makes the stage; the \
                 other workgroup and private arrays are indexed by the query (< 8), the lane \
                 (< 64) and t < FA_MAXC; key and value loads stay below N (min, and tiles cut \
                 at N - kt)"
            }
            Kernel::CastIn | Kernel::CastOut => {
                "cast: i < len and b < batch checked before the one load and store"
            }
            _ => return None,
        })
    }
}
