//! CPU twin of `shaders/gaussian_denoiser.wgsl`: the exact denoiser of N(0, S^2 I) data, one
//! element at a time, in f64. It is the mixture denoiser with one component at the origin, and
//! tests/gaussian_denoiser.rs holds it to [`crate::cpu::sampling::mixture_denoiser::Mixture`] with that point.

use crate::cpu::sampling::sample_loop::CpuDenoiser;
use crate::error::{Error, Result};
use crate::options::{MeanType, ModelOptions, VarType};
use crate::schedule::Tables;

/// Data N(0, S^2 I) in samples of `sample_len` elements.
#[derive(Clone, Debug)]
pub struct Gaussian<'a> {
    /// The tables of the schedule the sampler runs.
    pub tables: &'a Tables,
    /// Elements per sample.
    pub sample_len: usize,
    /// S^2.
    pub data_var: f64,
    /// What to output (mean type) and whether to write model_var (learned types).
    pub model: ModelOptions,
}

impl CpuDenoiser for Gaussian<'_> {
    fn denoise(&self, t: &[u32], x: &[f64]) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        if self.sample_len == 0 || x.len() != t.len() * self.sample_len {
            return Err(Error::ShapeMismatch(format!(
                "{} values are not {} samples of {}",
                x.len(),
                t.len(),
                self.sample_len
            )));
        }
        let tb = self.tables;
        let mut out = Vec::with_capacity(x.len());
        let mut var = Vec::with_capacity(x.len());
        for (i, &xt) in x.iter().enumerate() {
            let s = t[i / self.sample_len] as usize;
            let v = tb.alphas_cumprod[s] * self.data_var + tb.one_minus_alphas_cumprod[s];
            let x0 = tb.sqrt_alphas_cumprod[s] * self.data_var / v * xt;
            out.push(match self.model.mean_type {
                MeanType::Eps => tb.sqrt_one_minus_alphas_cumprod[s] / v * xt,
                MeanType::Xstart => x0,
                MeanType::Xprev => {
                    tb.posterior_mean_coef1[s] * x0 + tb.posterior_mean_coef2[s] * xt
                }
                MeanType::V => {
                    let eps = tb.sqrt_one_minus_alphas_cumprod[s] / v * xt;
                    tb.sqrt_alphas_cumprod[s] * eps - tb.sqrt_one_minus_alphas_cumprod[s] * x0
                }
            });
            var.push(match self.model.var_type {
                VarType::LearnedRange => -1.0,
                _ => tb.posterior_log_variance_clipped[s],
            });
        }
        Ok((out, self.model.var_type.is_learned().then_some(var)))
    }
}
