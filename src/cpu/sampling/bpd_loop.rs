//! CPU twin of `calc_bpd_loop` (`src/gpu/sampling/bpd_loop.rs`, `shaders/bpd_noising.wgsl`,
//! `shaders/bpd_mse.wgsl`): the variational bound of x_0 term by term, in f64, with the same
//! noise draws as the GPU.

use crate::cpu::kernels::common::{self, LN_2};
use crate::cpu::kernels::noise::{self, stream};
use crate::cpu::sampling::sample_loop::CpuDenoiser;
use crate::error::Result;
use crate::options::ModelOptions;
use crate::schedule::Tables;

/// `calc_bpd_loop`'s outputs, \[B\] or [B, T] (row-major), bits/dim for the bpd terms.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BpdTerms {
    /// sum over t of terms_bpd, plus prior_bpd.
    pub total_bpd: Vec<f64>,
    /// [B, T]: the vb term at each t (decoder NLL at t = 0).
    pub terms_bpd: Vec<f64>,
    /// \[B\]: KL(q(x_{T-1} | x_0) || N(0, I)).
    pub prior_bpd: Vec<f64>,
    /// [B, T]: mean (pred_xstart - x_0)^2.
    pub xstart_mse: Vec<f64>,
    /// [B, T]: mean (eps from pred_xstart - eps)^2.
    pub eps_mse: Vec<f64>,
}

/// For t = T-1 .. 0: x_t = q_sample(x_0, t, fresh noise of stream Q_SAMPLE at t), the model,
/// the vb term and the two mse; then the prior term.
pub fn calc_bpd_loop(
    tb: &Tables,
    model: &ModelOptions,
    denoiser: &dyn CpuDenoiser,
    x_start: &[f32],
    batch: usize,
    seed: u64,
) -> Result<BpdTerms> {
    let big_t = tb.num_timesteps();
    let d = x_start.len() / batch;
    let mut out = BpdTerms {
        terms_bpd: vec![0.0; batch * big_t],
        xstart_mse: vec![0.0; batch * big_t],
        eps_mse: vec![0.0; batch * big_t],
        ..Default::default()
    };
    for t in (0..big_t).rev() {
        let eps = noise::noise(seed, stream::Q_SAMPLE, t as u32, 0, batch, d);
        let x_t: Vec<f64> = x_start
            .iter()
            .zip(&eps)
            .map(|(&x0, e)| {
                tb.sqrt_alphas_cumprod[t] * x0 as f64 + tb.sqrt_one_minus_alphas_cumprod[t] * e
            })
            .collect();
        let (mo, mv) = denoiser.denoise(&vec![t as u32; batch], &x_t)?;
        for b in 0..batch {
            let (mut vb, mut se_x0, mut se_eps) = (0.0, 0.0, 0.0);
            for j in b * d..(b + 1) * d {
                let v = mv.as_ref().map_or(0.0, |v| v[j]);
                let (term, x0) = common::vb_term(tb, model, t, x_start[j], x_t[j], mo[j], v);
                vb += term;
                se_x0 += (x0 - x_start[j] as f64).powi(2);
                let eps_pred = (tb.sqrt_recip_alphas_cumprod[t] * x_t[j] - x0)
                    / tb.sqrt_recipm1_alphas_cumprod[t];
                se_eps += (eps_pred - eps[j]).powi(2);
            }
            out.terms_bpd[b * big_t + t] = vb / d as f64 / LN_2;
            out.xstart_mse[b * big_t + t] = se_x0 / d as f64;
            out.eps_mse[b * big_t + t] = se_eps / d as f64;
        }
    }
    out.prior_bpd = crate::cpu::kernels::prior_bpd::prior_bpd(tb, batch, d, x_start)?;
    out.total_bpd = (0..batch)
        .map(|b| {
            out.terms_bpd[b * big_t..(b + 1) * big_t]
                .iter()
                .sum::<f64>()
                + out.prior_bpd[b]
        })
        .collect();
    Ok(out)
}
