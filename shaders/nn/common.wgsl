// Shared by the UNet layer kernels (shaders/nn/*.wgsl): src/gpu/runtime/shaders/mod.rs prepends this file
// to each of them instead of shaders/common.wgsl (`NN_COMMON_WGSL`). The structs are mirrored by
// #[repr(C)] types in src/gpu/nn/params.rs; tests/shader_layout.rs checks that both agree.
//
// Activations are NCHW f32 views into larger buffers: element (b, c, p) of a view lives at
// offset + b * batch_stride + c * plane + p, so that a skip activation can be written straight
// into the channel range of the concatenation that consumes it (no copy, no two-input kernels).

// One convolution (shaders/nn/conv2d.wgsl). Sizes of the input as stored (before the fused
// nearest 2x upsampling) and of the output; the weights are [K][cout_padded], K = cin * k * k.
struct ConvParams {
    batch: u32,
    cin: u32,
    h: u32,             // input height as stored
    w: u32,             // input width as stored
    cout: u32,
    oh: u32,
    ow: u32,
    cout_padded: u32,   // weight row length: cout rounded up to CONV_TM
    pad_top: u32,
    pad_left: u32,
    x_tiles: u32,       // ceil(ow / CONV_TN): output row tiles per row
    tiles: u32,         // batch * oh * x_tiles: invocations with work
    in_offset: u32,
    in_bstride: u32,
    out_offset: u32,
    out_bstride: u32,
    res_offset: u32,    // RESIDUAL: the view added before dividing by out_scale
    res_bstride: u32,
    temb_offset: u32,   // TEMB: per-sample bias temb[b * temb_stride + temb_offset + o]
    temb_stride: u32,
    split: u32,         // SPLIT: channels from here on go to out2 (learned variance)
    out2_offset: u32,
    out2_bstride: u32,
    out_scale: f32,     // RESIDUAL: (res + conv) / out_scale
    // Winograd's 16 products as one dispatch: workgroup row y is (xi, channel tile) with
    // xi = y / o_tiles; the weights, input and output of product xi start xi times these
    // strides further on (all 0, o_tiles = the channel tiles, for an ordinary conv).
    o_tiles: u32,
    w_xstride: u32,     // in vec4s of weights
    in_xstride: u32,
    out_xstride: u32,
}

// The workgroup-tiled conv (shaders/nn/conv2d_tiled.wgsl): the same conv as ConvParams', seen
// as a GEMM of M = cout, N = batch x oh x ow, K = cin x k x k.
struct TiledConvParams {
    batch: u32,
    cin: u32,
    h: u32,             // input height as stored
    w: u32,             // input width as stored
    cout: u32,          // output channels written
    oh: u32,
    ow: u32,
    cout_padded: u32,   // weight row length
    pad_top: u32,
    pad_left: u32,
    k_total: u32,       // K = cin x k x k
    n_total: u32,       // N = batch x oh x ow
    n_tiles: u32,       // ceil(N / BN): workgroups with work along N
    in_offset: u32,
    in_bstride: u32,
    out_offset: u32,
    out_bstride: u32,
    res_offset: u32,    // RESIDUAL
    res_bstride: u32,
    temb_offset: u32,   // TEMB: temb[b * temb_stride + temb_offset + o]
    temb_stride: u32,
    split: u32,         // SPLIT: channels from here on go to out2
    out2_offset: u32,
    out2_bstride: u32,
    out_scale: f32,     // RESIDUAL: (res + conv) / out_scale
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// Winograd F(2x2, 3x3)'s input and output transforms (shaders/nn/winograd_*.wgsl): 2x2 output
// tiles of a 3x3 stride-1 conv, ty x tx tiles a sample.
struct WinogradParams {
    batch: u32,
    channels: u32,      // input channels (input transform) or output channels written (output)
    h: u32,             // input as stored (before UPSAMPLE)
    w: u32,
    oh: u32,            // conv output
    ow: u32,
    ty: u32,            // ceil(oh / 2)
    tx: u32,            // ceil(ow / 2)
    pad_top: u32,
    pad_left: u32,
    in_offset: u32,     // the conv's input view (input transform)
    in_bstride: u32,
    xstride: u32,       // elements between the 16 transformed planes: batch x C x ty x tx
    out_offset: u32,    // the conv's output view (output transform)
    out_bstride: u32,
    res_offset: u32,
    res_bstride: u32,
    temb_offset: u32,
    temb_stride: u32,
    split: u32,
    out2_offset: u32,
    out2_bstride: u32,
    out_scale: f32,
    cstride: u32,       // output transform: channels of the products (their per-sample stride)
}

// One group norm (shaders/nn/group_norm.wgsl), one workgroup per (sample, group).
struct NormParams {
    batch: u32,
    channels: u32,
    groups: u32,
    plane: u32,         // H x W
    in_offset: u32,
    in_bstride: u32,
    out_offset: u32,
    out_bstride: u32,
    temb_offset: u32,   // SCALE_SHIFT: scale at temb[b * temb_stride + temb_offset + c], shift
    temb_stride: u32,   // channels further on
    eps: f32,
    _pad: u32,
}

// One linear layer over rows (shaders/nn/linear.wgsl): y[r, o] = b[o] + sum_i w[o, i] x[r, i].
struct LinearParams {
    rows: u32,
    in_features: u32,
    out_features: u32,
    num_timesteps: u32, // GATHER: x[r] is row min(t[t_offset + r], T - 1) of the input table
    t_offset: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

// One batched strided product (shaders/nn/attention.wgsl): for each z < batch * heads,
// c[m, n] = scale * sum_k a[m, k] b[k, n], every operand at base + (z / heads) * bstride +
// (z % heads) * hstride + i * stride_i + j * stride_j.
struct MatmulParams {
    m: u32,
    n: u32,
    k: u32,
    heads: u32,
    batch: u32,
    a_offset: u32,
    a_bstride: u32,
    a_hstride: u32,
    a_mstride: u32,
    a_kstride: u32,
    b_offset: u32,
    b_bstride: u32,
    b_hstride: u32,
    b_kstride: u32,
    b_nstride: u32,
    c_offset: u32,
    c_bstride: u32,
    c_hstride: u32,
    c_mstride: u32,
    c_nstride: u32,
    n_tiles: u32,       // ceil(n / MM_TILE)
    scale: f32,
    _pad0: u32,
    _pad1: u32,
}

// A softmax over rows of `len` (shaders/nn/attention_softmax.wgsl), in place.
struct GuidanceParams {
    batch: u32,         // B: the source holds 2B samples, conditional first
    mean_len: u32,      // guided values per sample
    var_len: u32,       // learned-variance values per sample, copied from the conditional pass
    _pad0: u32,
    scale: f32,         // w
    rescale: f32,       // phi (with RESCALE)
    _pad1: u32,
    _pad2: u32,
}

// The forward's conversions between the loop's f32 arrays and the UNet's storage
// (shaders/nn/cast.wgsl): `len` values per sample from one view into another.
struct CastParams {
    batch: u32,
    len: u32,
    in_offset: u32,
    in_bstride: u32,
    out_offset: u32,
    out_bstride: u32,
    _pad0: u32,
    _pad1: u32,
}

struct FlashParams {
    n: u32,             // tokens (H W)
    head_dim: u32,
    inner: u32,         // heads x head_dim: the channel offset of k in qkv (2 inner: v)
    qkv_offset: u32,
    qkv_bstride: u32,
    out_offset: u32,
    out_bstride: u32,
    scale: f32,         // 1 / sqrt(head_dim)
}

struct SoftmaxParams {
    rows: u32,
    len: u32,
    scale: f32,         // applied to the logits first: softmax(scale * s)
    _pad: u32,
}

// x sigmoid(x). Written as a division so that large negative x gives -0 rather than NaN
// (exp(-x) overflows to inf and x / inf is -0).
fn silu(x: f32) -> f32 {
    return x / (1.0 + exp(-x));
}
