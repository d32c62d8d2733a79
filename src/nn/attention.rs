//! `Attention`: diffusers' spatial self-attention block of the UNet (`Attention` built with
//! `_from_deprecated_attn_block=True`, `residual_connection=True`, `bias=True`): optional
//! GroupNorm, q/k/v projections over the H x W tokens, multi-head softmax(q k^T / sqrt(d)) v,
//! the out projection, the residual, then division by `rescale_output_factor`.

use super::group_norm::GroupNorm;
use super::linear::Linear;
use super::weights::VarBuilder;
use crate::error::{Error, Result};

/// One attention layer over `channels` channels.
#[derive(Clone, Debug, PartialEq)]
pub struct Attention {
    /// Channels of the activation (query_dim).
    pub channels: usize,
    /// Heads: channels / attention_head_dim (integer division, as diffusers), at least 1.
    pub heads: usize,
    /// Channels per head (dim_head); heads x head_dim may be less than `channels`.
    pub head_dim: usize,
    /// Applied to the input before the projections; `None` in the mid block with
    /// scale_shift and no `attn_norm_num_groups`.
    pub group_norm: Option<GroupNorm>,
    /// channels -> heads x head_dim (new name `to_q`, old `query`).
    pub to_q: Linear,
    /// channels -> heads x head_dim (`to_k`, old `key`).
    pub to_k: Linear,
    /// channels -> heads x head_dim (`to_v`, old `value`).
    pub to_v: Linear,
    /// heads x head_dim -> channels (`to_out.0`, old `proj_attn`).
    pub to_out: Linear,
    /// (attention + residual) is divided by this.
    pub rescale_output_factor: f64,
}

impl Attention {
    /// Reads the layer below `vb`, accepting both namings of the projections. `head_dim`:
    /// `attention_head_dim`, `None` for one head over all channels; `norm_groups`: `None` for
    /// no group norm.
    pub fn new(
        vb: &VarBuilder,
        channels: usize,
        head_dim: Option<usize>,
        norm_groups: Option<usize>,
        eps: f64,
        rescale_output_factor: f64,
    ) -> Result<Self> {
        let head_dim = head_dim.unwrap_or(channels);
        let heads = channels.checked_div(head_dim).unwrap_or(0);
        if heads == 0 {
            return Err(Error::UnsupportedModel(format!(
                "{}: attention_head_dim {head_dim} exceeds its {channels} channels (no head)",
                vb.prefix()
            )));
        }
        let inner = heads * head_dim;
        let group_norm = norm_groups
            .map(|g| GroupNorm::new(&vb.pp("group_norm"), g, channels, eps))
            .transpose()?;
        // diffusers' `_convert_deprecated_attention_blocks` renames query/key/value/proj_attn
        // to to_q/to_k/to_v/to_out.0; both are read here.
        let to_q = Linear::new(&vb.pp_first(&["to_q", "query"]), channels, inner)?;
        let to_k = Linear::new(&vb.pp_first(&["to_k", "key"]), channels, inner)?;
        let to_v = Linear::new(&vb.pp_first(&["to_v", "value"]), channels, inner)?;
        let to_out = Linear::new(&vb.pp_first(&["to_out.0", "proj_attn"]), inner, channels)?;
        Ok(Attention {
            channels,
            heads,
            head_dim,
            group_norm,
            to_q,
            to_k,
            to_v,
            to_out,
            rescale_output_factor,
        })
    }

    /// heads x head_dim: the width of q, k and v.
    pub fn inner_dim(&self) -> usize {
        self.heads * self.head_dim
    }

    /// FLOPs of one sample over `tokens` = H x W: the four projections and the two matmuls
    /// (q k^T and p v); softmax, norm and residual not counted.
    pub fn flops(&self, tokens: usize) -> u64 {
        let matmuls = [tokens, tokens, self.inner_dim()]
            .iter()
            .fold(4u64, |a, &d| a.saturating_mul(d as u64));
        [
            self.to_q.flops(tokens),
            self.to_k.flops(tokens),
            self.to_v.flops(tokens),
            self.to_out.flops(tokens),
            matmuls,
        ]
        .into_iter()
        .fold(0, u64::saturating_add)
    }

    /// Weights and biases.
    pub fn num_parameters(&self) -> usize {
        self.group_norm.as_ref().map_or(0, |g| g.num_parameters())
            + self.to_q.num_parameters()
            + self.to_k.num_parameters()
            + self.to_v.num_parameters()
            + self.to_out.num_parameters()
    }
}
