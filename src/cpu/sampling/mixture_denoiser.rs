//! CPU twin of `shaders/mixture_distances.wgsl`, `mixture_weights.wgsl` and
//! `mixture_output.wgsl` (or `mixture_output_vec4.wgsl`): the exact denoiser for data
//! (1/M) sum_m N(d_m, S^2 I), in f64.

use crate::cpu::sampling::sample_loop::CpuDenoiser;
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions, VarType};
use crate::schedule::Tables;

/// The mixture: M points of `sample_len` elements and the component variance S^2.
#[derive(Clone, Debug)]
pub struct Mixture<'a> {
    /// The tables of the schedule the sampler runs.
    pub tables: &'a Tables,
    /// [M, sample_len], C order.
    pub points: &'a [f32],
    /// Elements per point.
    pub sample_len: usize,
    /// S^2.
    pub data_var: f64,
    /// What to output (mean type) and whether to write model_var (learned types).
    pub model: ModelOptions,
}

impl<'a> Mixture<'a> {
    /// The mixture of `data`'s points with component standard deviation `data_sigma`.
    pub fn from_dataset(
        tables: &'a Tables,
        data: &'a crate::dataset::Dataset,
        data_sigma: f64,
        model: ModelOptions,
    ) -> Self {
        Mixture {
            tables,
            points: &data.points,
            sample_len: data.point_len(),
            data_var: data_sigma * data_sigma,
            model,
        }
    }

    /// E[x_0 | x_t] for one sample at step t: responsibilities by log-sum-exp over squared
    /// distances to sqrt(abar) d_m, then the per-component posterior means, weighted.
    pub fn posterior_mean_x0(&self, t: usize, x: &[f64]) -> Vec<f64> {
        let tb = self.tables;
        let (sa, oma) = (tb.sqrt_alphas_cumprod[t], tb.one_minus_alphas_cumprod[t]);
        let v = tb.alphas_cumprod[t] * self.data_var + oma;
        let logits: Vec<f64> = self
            .points
            .chunks(self.sample_len)
            .map(|d| {
                -x.iter()
                    .zip(d)
                    .map(|(xi, &di)| (xi - sa * di as f64).powi(2))
                    .sum::<f64>()
                    / (2.0 * v)
            })
            .collect();
        let top = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = logits.iter().map(|l| (l - top).exp()).sum();
        let mut e = vec![0.0; self.sample_len];
        for (d, l) in self.points.chunks(self.sample_len).zip(&logits) {
            let r = (l - top).exp() / total;
            for (j, ej) in e.iter_mut().enumerate() {
                // Component posterior mean: d + sqrt(abar) S^2 / v (x - sqrt(abar) d).
                let dj = d[j] as f64;
                *ej += r * (dj + sa * self.data_var / v * (x[j] - sa * dj));
            }
        }
        e
    }
}

impl CpuDenoiser for Mixture<'_> {
    fn denoise(&self, t: &[u32], x: &[f64]) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        if self.sample_len == 0
            || !self.points.len().is_multiple_of(self.sample_len)
            || x.len() != t.len() * self.sample_len
        {
            return Err(Error::ShapeMismatch(
                "mixture points do not match the samples".into(),
            ));
        }
        let tb = self.tables;
        let mut out = Vec::with_capacity(x.len());
        let mut var = Vec::with_capacity(x.len());
        for (b, xs) in x.chunks(self.sample_len).enumerate() {
            let s = t[b] as usize;
            let e = self.posterior_mean_x0(s, xs);
            for (j, &xj) in xs.iter().enumerate() {
                out.push(match self.model.mean_type {
                    MeanType::Eps => {
                        (xj - tb.sqrt_alphas_cumprod[s] * e[j])
                            / tb.sqrt_one_minus_alphas_cumprod[s]
                    }
                    MeanType::Xstart => e[j],
                    MeanType::Xprev => {
                        tb.posterior_mean_coef1[s] * e[j] + tb.posterior_mean_coef2[s] * xj
                    }
                    MeanType::V => {
                        let eps = (xj - tb.sqrt_alphas_cumprod[s] * e[j])
                            / tb.sqrt_one_minus_alphas_cumprod[s];
                        tb.sqrt_alphas_cumprod[s] * eps - tb.sqrt_one_minus_alphas_cumprod[s] * e[j]
                    }
                });
                var.push(match self.model.var_type {
                    VarType::LearnedRange => -1.0,
                    _ => tb.posterior_log_variance_clipped[s],
                });
            }
        }
        Ok((out, self.model.var_type.is_learned().then_some(var)))
    }
}
