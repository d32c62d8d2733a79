//! The UNet kernels' options as pipeline constants (`override` in shaders/nn/*.wgsl), packed in
//! [`PipelineConstants::nn`](crate::gpu::runtime::params::PipelineConstants::nn). llvmpipe runs both arms
//! of an `if` on a uniform under a lane mask, so each option is a constant and only its arm is
//! compiled (as the step kernels' model options, shaders/common.wgsl).

use crate::gpu::runtime::shaders::Kernel;

/// conv2d: a 3x3 kernel (else 1x1).
pub const KSIZE3: u32 = 1;
/// conv2d: stride 2 (3x3 only).
pub const STRIDE2: u32 = 1 << 1;
/// conv2d: read the input as its nearest 2x enlargement (Upsample2D).
pub const UPSAMPLE: u32 = 1 << 2;
/// conv2d: add the per-sample time projection to every channel.
pub const TEMB: u32 = 1 << 3;
/// conv2d: (residual + .) / out_scale.
pub const RESIDUAL: u32 = 1 << 4;
/// conv2d: channels from `split` on go to the second output.
pub const SPLIT: u32 = 1 << 5;
/// conv2d: read the input as 2 x - 1 (center_input_sample).
pub const CENTER: u32 = 1 << 6;
/// conv2d: rows start 4-aligned in a width that is a multiple of 4 (vec4 input loads).
pub const VEC4_IN: u32 = 1 << 10;
/// conv2d (subgroup kernel, with VEC4_IN at stride 1): a row's edge values from the
/// neighbouring lanes, where a row's tiles are a divisor of 8.
pub const HALO: u32 = 1 << 12;
/// conv2d (with HALO, at most 4 tiles a row): a subgroup's tiles are whole output rows; the
/// input rows they share go between them by shuffles.
pub const ROWS: u32 = 1 << 13;
/// conv2d_tiled: the small tile shape (`tiles::TileShape::SMALL`; else the large one).
pub const TILE_SMALL: u32 = 1 << 16;
/// Every UNet kernel: weights and activations stored as f16 (`Precision::F16`): not a
/// pipeline constant but the type of the `act` alias (`Kernel::source_with`).
pub const F16: u32 = 1 << 17;
/// group_norm: 4-aligned views and planes (vec4 loads and stores).
pub const VEC4: u32 = 1 << 11;
/// group_norm, linear: SiLU on the output.
pub const SILU: u32 = 1 << 7;
/// group_norm: (1 + scale) and shift from the time projections.
pub const SCALE_SHIFT: u32 = 1 << 8;
/// linear: gather the input rows from a table by timestep.
pub const GATHER: u32 = 1 << 9;
/// linear: add a class table's row by label (the timesteps binding holds the labels).
pub const CLASS_ROW: u32 = 1 << 14;
/// guidance: rescale the guided prediction (diffusers' guidance_rescale).
pub const RESCALE: u32 = 1 << 15;

/// The named constants `kernel` declares, valued from `bits`.
pub fn constants(kernel: Kernel, bits: u32) -> Vec<(&'static str, f64)> {
    let on = |f: u32| f64::from(u8::from(bits & f != 0));
    match kernel {
        Kernel::Conv2d | Kernel::Conv2dSubgroup => vec![
            ("KSIZE", if bits & KSIZE3 != 0 { 3.0 } else { 1.0 }),
            ("STRIDE", if bits & STRIDE2 != 0 { 2.0 } else { 1.0 }),
            ("UPSAMPLE", on(UPSAMPLE)),
            ("TEMB", on(TEMB)),
            ("RESIDUAL", on(RESIDUAL)),
            ("SPLIT", on(SPLIT)),
            ("CENTER", on(CENTER)),
            ("VEC4_IN", on(VEC4_IN)),
            ("HALO", on(HALO)),
            ("ROWS", on(ROWS)),
        ],
        Kernel::Conv2dTiled => {
            let shape = match bits & TILE_SMALL != 0 {
                true => super::tiles::TileShape::SMALL,
                false => super::tiles::TileShape::LARGE,
            };
            let mut c = vec![
                ("KSIZE", if bits & KSIZE3 != 0 { 3.0 } else { 1.0 }),
                ("STRIDE", if bits & STRIDE2 != 0 { 2.0 } else { 1.0 }),
                ("UPSAMPLE", on(UPSAMPLE)),
                ("TEMB", on(TEMB)),
                ("RESIDUAL", on(RESIDUAL)),
                ("SPLIT", on(SPLIT)),
                ("CENTER", on(CENTER)),
            ];
            c.extend(shape.constants());
            c
        }
        Kernel::WinogradInput => vec![("UPSAMPLE", on(UPSAMPLE)), ("CENTER", on(CENTER))],
        Kernel::WinogradOutput => vec![
            ("TEMB", on(TEMB)),
            ("RESIDUAL", on(RESIDUAL)),
            ("SPLIT", on(SPLIT)),
        ],
        Kernel::GroupNorm | Kernel::GroupNormSubgroup | Kernel::GroupNormSubgroups => vec![
            ("SILU", on(SILU)),
            ("SCALE_SHIFT", on(SCALE_SHIFT)),
            ("VEC4", on(VEC4)),
        ],
        Kernel::Linear => vec![
            ("GATHER", on(GATHER)),
            ("SILU", on(SILU)),
            ("CLASS_ROW", on(CLASS_ROW)),
        ],
        Kernel::Guidance => vec![("RESCALE", on(RESCALE))],
        _ => Vec::new(),
    }
}

/// A short name of `kernel` with the options in `bits` that change its cost, for profiles.
pub(crate) fn label(kernel: Kernel, bits: u32) -> String {
    let mut s = kernel.name().to_string();
    if matches!(
        kernel,
        Kernel::Conv2d | Kernel::Conv2dSubgroup | Kernel::Conv2dTiled
    ) {
        s += if bits & KSIZE3 != 0 { " 3x3" } else { " 1x1" };
    }
    if kernel == Kernel::Conv2dTiled {
        s += if bits & TILE_SMALL != 0 {
            " small"
        } else {
            " large"
        };
    }
    for (bit, name) in [
        (STRIDE2, " s2"),
        (UPSAMPLE, " up"),
        (TEMB, " +temb"),
        (RESIDUAL, " +res"),
        (SPLIT, " split"),
        (SCALE_SHIFT, " scale-shift"),
        (GATHER, " gather"),
        (CLASS_ROW, " +class"),
        (RESCALE, " rescale"),
        (VEC4_IN, " vec4"),
        (VEC4, " vec4"),
        (F16, " f16"),
    ] {
        if bits & bit != 0 {
            s += name;
        }
    }
    s
}
