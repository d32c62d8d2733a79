//! Host mirrors of the UNet layer kernels' parameter structs (shaders/nn/common.wgsl).
//! tests/shader_layout.rs checks sizes and offsets against naga.

/// One convolution (`ConvParams`): see shaders/nn/conv2d.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct ConvParams {
    /// Samples.
    pub batch: u32,
    /// Input channels.
    pub cin: u32,
    /// Input height as stored (before the fused upsampling).
    pub h: u32,
    /// Input width as stored.
    pub w: u32,
    /// Output channels.
    pub cout: u32,
    /// Output height.
    pub oh: u32,
    /// Output width.
    pub ow: u32,
    /// Weight row length: cout rounded up to the channel tile.
    pub cout_padded: u32,
    /// Zero rows above the input.
    pub pad_top: u32,
    /// Zero columns left of the input.
    pub pad_left: u32,
    /// Pixel tiles per output row.
    pub x_tiles: u32,
    /// batch x oh x x_tiles: the invocations with work.
    pub tiles: u32,
    /// Input view: first element.
    pub in_offset: u32,
    /// Input view: elements between samples.
    pub in_bstride: u32,
    /// Output view: first element.
    pub out_offset: u32,
    /// Output view: elements between samples.
    pub out_bstride: u32,
    /// Residual view: first element.
    pub res_offset: u32,
    /// Residual view: elements between samples.
    pub res_bstride: u32,
    /// Column of the per-sample bias in the time projections.
    pub temb_offset: u32,
    /// Row length of the time projections.
    pub temb_stride: u32,
    /// First channel written to the second output.
    pub split: u32,
    /// Second output view: first element.
    pub out2_offset: u32,
    /// Second output view: elements between samples.
    pub out2_bstride: u32,
    /// The residual sum is divided by this.
    pub out_scale: f32,
    /// Channel tiles per product (workgroup row y = product x o_tiles + tile).
    pub o_tiles: u32,
    /// Weights between products, in vec4s (Winograd; 0 otherwise).
    pub w_xstride: u32,
    /// Input elements between products.
    pub in_xstride: u32,
    /// Output elements between products.
    pub out_xstride: u32,
}

/// The workgroup-tiled conv (`TiledConvParams`): see shaders/nn/conv2d_tiled.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct TiledConvParams {
    /// Samples.
    pub batch: u32,
    /// Input channels.
    pub cin: u32,
    /// Input height as stored (before the fused upsampling).
    pub h: u32,
    /// Input width as stored.
    pub w: u32,
    /// Output channels written.
    pub cout: u32,
    /// Output height.
    pub oh: u32,
    /// Output width.
    pub ow: u32,
    /// Weight row length: cout rounded up to the direct kernel's channel tile.
    pub cout_padded: u32,
    /// Zero rows above the input.
    pub pad_top: u32,
    /// Zero columns left of the input.
    pub pad_left: u32,
    /// K = cin x k x k.
    pub k_total: u32,
    /// N = batch x oh x ow.
    pub n_total: u32,
    /// ceil(N / BN): pixel tiles with work.
    pub n_tiles: u32,
    /// Input view: first element.
    pub in_offset: u32,
    /// Input view: elements between samples.
    pub in_bstride: u32,
    /// Output view: first element.
    pub out_offset: u32,
    /// Output view: elements between samples.
    pub out_bstride: u32,
    /// Residual view: first element.
    pub res_offset: u32,
    /// Residual view: elements between samples.
    pub res_bstride: u32,
    /// Column of the per-sample bias in the time projections.
    pub temb_offset: u32,
    /// Row length of the time projections.
    pub temb_stride: u32,
    /// First channel written to the second output.
    pub split: u32,
    /// Second output view: first element.
    pub out2_offset: u32,
    /// Second output view: elements between samples.
    pub out2_bstride: u32,
    /// The residual sum is divided by this.
    pub out_scale: f32,
    /// Padding to 16 bytes.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// Winograd F(2x2, 3x3)'s transforms (`WinogradParams`): see shaders/nn/winograd_*.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct WinogradParams {
    /// Samples.
    pub batch: u32,
    /// Input channels (input side) or output channels written (output side).
    pub channels: u32,
    /// Input height as stored.
    pub h: u32,
    /// Input width as stored.
    pub w: u32,
    /// Output height.
    pub oh: u32,
    /// Output width.
    pub ow: u32,
    /// Tile rows: ceil(oh / 2).
    pub ty: u32,
    /// Tile columns: ceil(ow / 2).
    pub tx: u32,
    /// Zero rows above the input.
    pub pad_top: u32,
    /// Zero columns left of the input.
    pub pad_left: u32,
    /// Input view: first element.
    pub in_offset: u32,
    /// Input view: elements between samples.
    pub in_bstride: u32,
    /// Elements between the 16 transformed planes.
    pub xstride: u32,
    /// Output view: first element.
    pub out_offset: u32,
    /// Output view: elements between samples.
    pub out_bstride: u32,
    /// Residual view: first element.
    pub res_offset: u32,
    /// Residual view: elements between samples.
    pub res_bstride: u32,
    /// Column of the per-sample bias in the time projections.
    pub temb_offset: u32,
    /// Row length of the time projections.
    pub temb_stride: u32,
    /// First channel written to the second output.
    pub split: u32,
    /// Second output view: first element.
    pub out2_offset: u32,
    /// Second output view: elements between samples.
    pub out2_bstride: u32,
    /// The residual sum is divided by this.
    pub out_scale: f32,
    /// Output side: channels of the products (their per-sample stride in planes).
    pub cstride: u32,
}

/// One group norm (`NormParams`): see shaders/nn/group_norm.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct NormParams {
    /// Samples.
    pub batch: u32,
    /// Channels.
    pub channels: u32,
    /// Groups.
    pub groups: u32,
    /// H x W.
    pub plane: u32,
    /// Input view: first element.
    pub in_offset: u32,
    /// Input view: elements between samples.
    pub in_bstride: u32,
    /// Output view: first element.
    pub out_offset: u32,
    /// Output view: elements between samples.
    pub out_bstride: u32,
    /// Column of the scale in the time projections (scale_shift).
    pub temb_offset: u32,
    /// Row length of the time projections.
    pub temb_stride: u32,
    /// Added to the variance.
    pub eps: f32,
    /// Padding.
    pub _pad: u32,
}

/// One linear layer over rows (`LinearParams`): see shaders/nn/linear.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct LinearParams {
    /// Rows.
    pub rows: u32,
    /// Input features.
    pub in_features: u32,
    /// Output features.
    pub out_features: u32,
    /// Rows of the gathered table (T).
    pub num_timesteps: u32,
    /// First timestep read (the sub-batch's first sample).
    pub t_offset: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// One batched strided product (`MatmulParams`): see shaders/nn/attention.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct MatmulParams {
    /// Rows of c.
    pub m: u32,
    /// Columns of c.
    pub n: u32,
    /// Length of the sums.
    pub k: u32,
    /// Heads per sample.
    pub heads: u32,
    /// Samples.
    pub batch: u32,
    /// a: first element.
    pub a_offset: u32,
    /// a: elements between samples.
    pub a_bstride: u32,
    /// a: elements between heads.
    pub a_hstride: u32,
    /// a: elements between rows.
    pub a_mstride: u32,
    /// a: elements between k.
    pub a_kstride: u32,
    /// b: first element.
    pub b_offset: u32,
    /// b: elements between samples.
    pub b_bstride: u32,
    /// b: elements between heads.
    pub b_hstride: u32,
    /// b: elements between k.
    pub b_kstride: u32,
    /// b: elements between columns.
    pub b_nstride: u32,
    /// c: first element.
    pub c_offset: u32,
    /// c: elements between samples.
    pub c_bstride: u32,
    /// c: elements between heads.
    pub c_hstride: u32,
    /// c: elements between rows.
    pub c_mstride: u32,
    /// c: elements between columns.
    pub c_nstride: u32,
    /// Column tiles of c.
    pub n_tiles: u32,
    /// c = scale x the sums.
    pub scale: f32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}

/// The one-pass attention (`FlashParams`): see shaders/nn/attention_flash.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct FlashParams {
    /// Tokens (H W).
    pub n: u32,
    /// Channels per head.
    pub head_dim: u32,
    /// Heads x head_dim: where k starts in qkv (v at twice it), in channels.
    pub inner: u32,
    /// First element of the sub-batch's qkv.
    pub qkv_offset: u32,
    /// Elements per sample of qkv.
    pub qkv_bstride: u32,
    /// First element of the sub-batch's output.
    pub out_offset: u32,
    /// Elements per sample of the output.
    pub out_bstride: u32,
    /// 1 / sqrt(head_dim).
    pub scale: f32,
}

/// A softmax over rows (`SoftmaxParams`): see shaders/nn/attention_softmax.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct SoftmaxParams {
    /// Rows.
    pub rows: u32,
    /// Row length.
    pub len: u32,
    /// The logits are multiplied by this first.
    pub scale: f32,
    /// Padding.
    pub _pad: u32,
}

/// Classifier-free guidance's combination (`GuidanceParams`): see shaders/nn/guidance.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct GuidanceParams {
    /// B (the source holds 2B samples, the conditional pass first).
    pub batch: u32,
    /// Guided values per sample.
    pub mean_len: u32,
    /// Learned-variance values per sample (the conditional pass's).
    pub var_len: u32,
    /// Padding.
    pub _pad0: u32,
    /// The guidance scale w.
    pub scale: f32,
    /// The guidance rescale phi.
    pub rescale: f32,
    /// Padding.
    pub _pad1: u32,
    /// Padding.
    pub _pad2: u32,
}

/// The forward's conversions at its two ends (`CastParams`): see shaders/nn/cast.wgsl.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct CastParams {
    /// Samples.
    pub batch: u32,
    /// Values per sample converted.
    pub len: u32,
    /// Input view: first element.
    pub in_offset: u32,
    /// Input view: elements between samples.
    pub in_bstride: u32,
    /// Output view: first element.
    pub out_offset: u32,
    /// Output view: elements between samples.
    pub out_bstride: u32,
    /// Padding.
    pub _pad0: u32,
    /// Padding.
    pub _pad1: u32,
}
