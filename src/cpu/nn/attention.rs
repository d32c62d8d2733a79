//! CPU twin of shaders/nn/attention.wgsl, the reference for tests: the UNet's spatial
//! self-attention in f64. Tokens are the H x W pixels of each sample; per head,
//! softmax(q k^T / sqrt(head_dim)) v (max-subtracted softmax), then to_out, the residual and
//! the division by rescale_output_factor.

use super::{expect_channels, group_norm, linear, Activation};
use crate::error::Result;
use crate::nn::Attention;

/// The attention block's output, of x's shape.
pub fn forward(attn: &Attention, x: &Activation) -> Result<Activation> {
    expect_channels("attention", x, attn.channels)?;
    let [n, c, _, _] = x.shape;
    let tokens = x.plane();
    let normed = match &attn.group_norm {
        Some(gn) => group_norm::forward(gn, x)?,
        None => x.clone(),
    };
    let (inner, d) = (attn.inner_dim(), attn.head_dim);
    let proj = |l: &crate::nn::Linear| l.in_features == c && l.out_features == inner;
    let sizes = d > 0
        && proj(&attn.to_q)
        && proj(&attn.to_k)
        && proj(&attn.to_v)
        && attn.to_out.in_features == inner
        && attn.to_out.out_features == c;
    super::check_layer("attention", sizes)?;
    let scale = 1.0 / (d as f64).sqrt();
    let mut out = x.clone();
    let mut seq = vec![0.0; tokens * c];
    let mut mixed = vec![0.0; tokens * inner];
    let mut p = vec![0.0; tokens];
    for b in 0..n {
        // [C, N] -> [N, C]: one row per token.
        let sample = &normed.data[b * c * tokens..][..c * tokens];
        for (ci, channel) in sample.chunks_exact(tokens).enumerate() {
            for (t, &v) in channel.iter().enumerate() {
                seq[t * c + ci] = v;
            }
        }
        let q = linear::forward(&attn.to_q, &seq)?;
        let k = linear::forward(&attn.to_k, &seq)?;
        let v = linear::forward(&attn.to_v, &seq)?;
        for head in 0..attn.heads {
            let off = head * d;
            for i in 0..tokens {
                let qi = &q[i * inner + off..][..d];
                for (j, pj) in p.iter_mut().enumerate() {
                    let kj = &k[j * inner + off..][..d];
                    *pj = scale * qi.iter().zip(kj).map(|(a, b)| a * b).sum::<f64>();
                }
                let max = p.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let mut total = 0.0;
                for pj in p.iter_mut() {
                    *pj = (*pj - max).exp();
                    total += *pj;
                }
                let oi = &mut mixed[i * inner + off..][..d];
                oi.fill(0.0);
                for (j, &pj) in p.iter().enumerate() {
                    let vj = &v[j * inner + off..][..d];
                    for (o, &vv) in oi.iter_mut().zip(vj) {
                        *o += pj / total * vv;
                    }
                }
            }
        }
        let projected = linear::forward(&attn.to_out, &mixed)?;
        let dst = &mut out.data[b * c * tokens..][..c * tokens];
        for (ci, channel) in dst.chunks_exact_mut(tokens).enumerate() {
            for (t, o) in channel.iter_mut().enumerate() {
                *o = (projected[t * c + ci] + *o) / attn.rescale_output_factor;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nn::Linear;

    fn identity(n: usize) -> Linear {
        let mut weight = vec![0.0; n * n];
        for i in 0..n {
            weight[i * n + i] = 1.0;
        }
        Linear {
            in_features: n,
            out_features: n,
            weight,
            bias: vec![0.0; n],
        }
    }

    #[test]
    fn softmax_over_two_keys() {
        // One channel, one head, two tokens with values x = [0, ln 3]. With identity
        // projections the logits of token i are x_i x_j, so token 0 weighs both keys equally
        // (output mean of v = ln3 / 2) and token 1 has logits [0, ln3^2]:
        // p = [1, 3^ln3] / (1 + 3^ln3). Residual added, then / 2.
        let attn = Attention {
            channels: 1,
            heads: 1,
            head_dim: 1,
            group_norm: None,
            to_q: identity(1),
            to_k: identity(1),
            to_v: identity(1),
            to_out: identity(1),
            rescale_output_factor: 2.0,
        };
        let l3 = 3f64.ln();
        let x = Activation::new(vec![0.0, l3], [1, 1, 1, 2]).ok();
        let y = x
            .and_then(|x| forward(&attn, &x).ok())
            .map(|y| y.data)
            .unwrap_or_default();
        let e = (l3 * l3).exp();
        let want = [(l3 / 2.0) / 2.0, (e * l3 / (1.0 + e) + l3) / 2.0];
        assert_eq!(y.len(), 2);
        for (a, b) in y.iter().zip(want) {
            assert!((a - b).abs() < 1e-15, "{y:?} vs {want:?}");
        }
    }
}
