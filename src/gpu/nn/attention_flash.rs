//! Host side of shaders/nn/attention_flash.wgsl (CPU twin: src/cpu/nn/attention.rs): the
//! attention's scores, softmax and mix of v in one pass per (sample, head, 8 queries), keys and
//! values streamed in tiles with an online softmax, no scores buffer. Which path a layer runs,
//! [`AttentionKind`], is chosen by the device: the materialised scores on software adapters
//! (their products are the subgroup-shared tiles of attention.wgsl, measured fastest there),
//! the one-pass kernel on GPUs wherever a head fits it (head_dim <= 256) and the device's
//! workgroup memory holds its tiles. Both are tested against the twin (tests/nn_attention.rs).

use super::graph::{LayerOp, Places};
use super::params::FlashParams;
use super::{u32_of, Stage};
use crate::error::{Error, Result};
use crate::gpu::runtime::launch::Grid;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::Context;

/// Queries per workgroup (`FA_BQ` in attention_flash.wgsl).
pub const FLASH_QUERIES: usize = 8;
/// The largest head_dim the one-pass kernel takes (`FA_MAXD`).
pub const FLASH_MAX_HEAD_DIM: usize = 256;
/// Bytes of workgroup memory it stages: the queries' rows, a tile of probabilities and three
/// numbers per query.
pub const FLASH_WORKGROUP_BYTES: u32 = 4 * (2048 + 512 + 3 * 8);

/// How an attention layer forms softmax(q k^T / sqrt(d)) v.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AttentionKind {
    /// The scores materialised ([B, heads, N, N]), their softmax, then p v: three kernels.
    Scores,
    /// One pass, keys and values in tiles, an online softmax (attention_flash.wgsl); a layer
    /// whose head_dim exceeds 256 runs [`AttentionKind::Scores`].
    Flash,
}

impl AttentionKind {
    /// Both paths.
    pub const ALL: [AttentionKind; 2] = [AttentionKind::Scores, AttentionKind::Flash];

    /// Its name as `DDPM_KERNEL` takes it: `attention_scores`, `attention_flash`.
    pub fn name(self) -> &'static str {
        match self {
            AttentionKind::Scores => "attention_scores",
            AttentionKind::Flash => "attention_flash",
        }
    }

    /// The path named `name`, if it names one.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name.trim())
    }

    /// The path for `ctx`'s device: the scores on software adapters (and unknown types), the
    /// one pass on GPUs whose workgroup memory holds its tiles.
    pub fn auto(ctx: &Context) -> Self {
        let gpu = crate::gpu::runtime::capabilities::is_gpu(ctx.adapter_info().device_type);
        if gpu && Self::Flash.runs_on(ctx) {
            AttentionKind::Flash
        } else {
            AttentionKind::Scores
        }
    }

    /// Whether `ctx`'s device can run this path (the one pass needs its workgroup memory).
    pub fn runs_on(self, ctx: &Context) -> bool {
        match self {
            AttentionKind::Scores => true,
            AttentionKind::Flash => {
                ctx.limits().max_compute_workgroup_storage_size >= FLASH_WORKGROUP_BYTES
            }
        }
    }
}

/// mixed = softmax(scale q k^T) v for every (sample, head), from the stacked qkv tensor
/// ([3 inner, N] per sample) into `mixed` ([inner, N]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct FlashOp {
    pub qkv: usize,
    pub mixed: usize,
    pub tokens: usize,
    pub heads: usize,
    pub head_dim: usize,
    pub scale: f32,
    pub precision: crate::gpu::runtime::Precision,
}

impl LayerOp for FlashOp {
    fn tensors(&self) -> Vec<usize> {
        vec![self.qkv, self.mixed]
    }

    fn stage(&self, ctx: &Context, at: &dyn Places) -> Result<Stage> {
        let (n, d, heads) = (self.tokens, self.head_dim, self.heads);
        if d == 0 || d > FLASH_MAX_HEAD_DIM || n == 0 {
            return Err(Error::Unsupported(format!(
                "the one-pass attention takes 1 to {FLASH_MAX_HEAD_DIM} channels per head, \
                 got {d} (and {n} tokens)"
            )));
        }
        let limit = ctx.limits().max_compute_workgroup_storage_size;
        if limit < FLASH_WORKGROUP_BYTES {
            return Err(Error::Unsupported(format!(
                "the one-pass attention needs {FLASH_WORKGROUP_BYTES} bytes of workgroup \
                 memory; the device allows {limit}"
            )));
        }
        let (qkv, q_shift) = at.place(self.qkv)?;
        let (out, o_shift) = at.place(self.mixed)?;
        let batch = at.samples().1;
        let p = FlashParams {
            n: u32_of("attention tokens", n)?,
            head_dim: u32_of("attention head_dim", d)?,
            inner: u32_of("attention channels", heads * d)?,
            qkv_offset: u32_of("attention qkv", q_shift)?,
            qkv_bstride: u32_of("attention qkv", at.per_sample(self.qkv))?,
            out_offset: u32_of("attention output", o_shift)?,
            out_bstride: u32_of("attention output", at.per_sample(self.mixed))?,
            scale: self.scale,
        };
        let max = ctx.limits().max_compute_workgroups_per_dimension as usize;
        let blocks = n.div_ceil(FLASH_QUERIES);
        if blocks > max || heads > max || batch > max {
            return Err(Error::Unsupported(format!(
                "one-pass attention over {blocks} query blocks, {heads} heads and {batch} \
                 samples: the device allows {max} workgroups per dimension"
            )));
        }
        let grid = Grid(blocks as u32, heads as u32, batch as u32);
        // 2 N^2 d multiply-adds per head: the scores and p v.
        let flops = 4 * (batch * heads * n * n * d) as u64;
        let bits = self.precision.bits();
        let stage = Stage::new(ctx, Kernel::AttentionFlash, bits, &p, &[qkv, out], grid)?;
        Ok(stage.with_flops(flops))
    }
}
