//! DDIM (Song et al. 2021) and its inverse: shaders/ddim_step*.wgsl, rows = [`DdimCoefs`] by
//! training timestep, computed in f64 here; CPU twin: `cpu::ddim_step`.
//!
//! Forward, at kept step k_i: x_0 and eps from the model's output at abar_{k_i}, then
//! x = sqrt(abar_prev) x_0 + sqrt(1 - abar_prev - sigma^2) eps + sigma z with abar_prev that of
//! k_{i-1}, or at the end of the chain 1 (`set_alpha_to_one`) or abar_0 of the training schedule,
//! as diffusers' `DDIMScheduler` (`final_alpha_cumprod`) and improved-diffusion's `ddim_sample`
//! (always 1) do. eta = 0 draws no noise.
//!
//! Inverse ([`DdimReverse`], eta = 0, improved-diffusion's `ddim_reverse_sample`): x at kept
//! step k_i and the model's output there give x_0 and eps, and x moves to k_{i+1}:
//! sqrt(abar_{k_{i+1}}) x_0 + sqrt(1 - abar_{k_{i+1}}) eps. The encoding loop takes the data as
//! x at k_0 and visits k_0 .. k_{N-2}, ending at x_{k_{N-1}}, where DDIM sampling starts; the
//! model is read where x is, so the only error is the step's discretisation. (diffusers'
//! `DDIMInverseScheduler` reads the model at the step it moves to, from x at the previous one,
//! which drifts where the data distribution is sharp; its `step` is the same formula with the
//! same model output, so `ddpm op ddim-reverse-step` agrees with it for a given output.) With
//! clipping, eps is the model's (as in `DDIMInverseScheduler`), not re-derived from the clipped
//! x_0 as improved-diffusion's `ddim_reverse_sample` always does: the two differ wherever the
//! clip binds (tests/reference/sampler_conformance.py measures it).

use super::{next_of, step_constants, validate, CpuStep, Sampler, Threshold};
use crate::chain::Chain;
use crate::cpu::kernels::ddim_step::{forward_row, DdimRow};
use crate::error::{Error, Result};
use crate::gpu::kernels::ddim_step::DdimCoefs;
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::shaders::Kernel;
use crate::gpu::FusedDenoiser;
use crate::options::{MeanType, ModelOptions};

/// DDIM's options besides the model's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DdimOptions {
    /// eta: 0 is deterministic DDIM, 1 has DDPM's posterior variance on the chain.
    pub eta: f64,
    /// abar before the first training step: 1 (diffusers' default, improved-diffusion) or
    /// abar_0 (`set_alpha_to_one = false`).
    pub set_alpha_to_one: bool,
    /// With clipping or thresholding, re-derive eps from the processed x_0 (improved-diffusion;
    /// diffusers' `use_clipped_model_output=True`); diffusers' default keeps the model's eps.
    pub use_clipped_model_output: bool,
}

impl Default for DdimOptions {
    fn default() -> Self {
        DdimOptions {
            eta: 0.0,
            set_alpha_to_one: true,
            use_clipped_model_output: false,
        }
    }
}

/// The final abar of a chain: 1 or the training schedule's abar_0.
fn final_abar(chain: &Chain, set_alpha_to_one: bool) -> f64 {
    if set_alpha_to_one {
        1.0
    } else {
        chain.train.alphas_cumprod[0]
    }
}

fn check_mean_type(model: &ModelOptions) -> Result<()> {
    if model.mean_type == MeanType::Xprev {
        return Err(Error::Unsupported(
            "DDIM reads eps, xstart or v model outputs, not xprev".into(),
        ));
    }
    Ok(())
}

/// Rows by training timestep for `order`, `row(i)` giving chain row i's, the others idle.
fn rows_by_timestep(chain: &Chain, row: impl Fn(usize) -> DdimRow) -> Vec<DdimRow> {
    let idle = DdimRow::deterministic(0.5, 0.5, 0);
    let mut rows = vec![idle; chain.num_train_timesteps()];
    for (i, &k) in chain.steps.iter().enumerate() {
        rows[k] = row(i);
    }
    rows
}

/// The fused DDIM step for a Gaussian denoiser writing the sampler's own mean type (its
/// variance output is not read by DDIM).
fn fused_gaussian(model: &ModelOptions, denoiser: &FusedDenoiser) -> Option<Kernel> {
    match denoiser {
        FusedDenoiser::Gaussian { model: m, .. } if m.mean_type == model.mean_type => {
            Some(Kernel::DdimStepGaussianVec4)
        }
        _ => None,
    }
}

fn coefs_bytes(rows: &[DdimRow]) -> Vec<u8> {
    let coefs: Vec<DdimCoefs> = rows.iter().map(DdimCoefs::from_row).collect();
    bytemuck::cast_slice(&coefs).to_vec()
}

/// The forward DDIM rows of `chain` by training timestep (also what `ddpm op ddim-step` uses).
pub fn forward_rows(chain: &Chain, opts: &DdimOptions) -> Vec<DdimRow> {
    let order: Vec<usize> = chain.steps.iter().rev().copied().collect();
    let next = next_of(&order, chain.num_train_timesteps());
    let abar = &chain.tables.alphas_cumprod;
    rows_by_timestep(chain, |i| {
        let prev = match i {
            0 => final_abar(chain, opts.set_alpha_to_one),
            _ => abar[i - 1],
        };
        forward_row(abar[i], prev, opts.eta, next[chain.steps[i]] as usize)
    })
}

/// The inverse rows by the CURRENT step (improved-diffusion's `ddim_reverse_sample`, what
/// `ddpm op ddim-reverse-step` computes): at k_i, from abar_{k_i} to abar_{k_{i+1}}, or to
/// abar = 0 after the last kept step (its `alphas_cumprod_next`).
pub fn reverse_rows_by_current(chain: &Chain) -> Vec<DdimRow> {
    let abar = &chain.tables.alphas_cumprod;
    rows_by_timestep(chain, |i| {
        DdimRow::deterministic(
            abar[i],
            abar.get(i + 1).copied().unwrap_or(0.0),
            chain.steps.get(i + 1).copied().unwrap_or(chain.steps[i]),
        )
    })
}

/// The DDIM sampler.
#[derive(Clone, Debug)]
pub struct Ddim {
    chain: Chain,
    model: ModelOptions,
    threshold: Option<Threshold>,
    opts: DdimOptions,
    rows: Vec<DdimRow>,
}

impl Ddim {
    /// DDIM on `chain` with `opts`, reading the model's output (eps, xstart or v) as `model`
    /// says (its variance type is not used), with optional dynamic thresholding.
    pub fn new(
        chain: Chain,
        model: ModelOptions,
        threshold: Option<Threshold>,
        opts: DdimOptions,
    ) -> Result<Self> {
        check_mean_type(&model)?;
        validate(&chain, &model, threshold)?;
        if !(opts.eta.is_finite() && (0.0..=1.0).contains(&opts.eta)) {
            return Err(Error::Unsupported(format!(
                "eta must be in [0, 1], got {} (above 1, 1 - abar_prev - sigma^2 turns negative)",
                opts.eta
            )));
        }
        let rows = forward_rows(&chain, &opts);
        Ok(Ddim {
            chain,
            model,
            threshold,
            opts,
            rows,
        })
    }

    /// The f64 row at training timestep t.
    pub fn row(&self, t: usize) -> Option<&DdimRow> {
        self.rows.get(t)
    }
}

impl Sampler for Ddim {
    fn name(&self) -> &'static str {
        "ddim"
    }

    fn chain(&self) -> &Chain {
        &self.chain
    }

    fn model(&self) -> &ModelOptions {
        &self.model
    }

    fn threshold(&self) -> Option<Threshold> {
        self.threshold
    }

    fn draws_noise(&self, _t: usize) -> bool {
        // diffusers' DDIMScheduler.step draws whenever eta > 0, even where sigma is 0.
        self.opts.eta > 0.0
    }

    fn gpu_rows(&self) -> Vec<u8> {
        coefs_bytes(&self.rows)
    }

    fn gpu_kernels(&self) -> (Kernel, Kernel) {
        (Kernel::DdimStepVec4, Kernel::DdimStep)
    }

    fn gpu_constants(&self) -> PipelineConstants {
        step_constants(
            &self.model,
            self.threshold,
            self.opts.use_clipped_model_output,
        )
    }

    fn gpu_fused(&self, denoiser: &FusedDenoiser) -> Option<Kernel> {
        fused_gaussian(&self.model, denoiser).filter(|_| self.threshold.is_none())
    }

    fn cpu_step(&self, at: super::Visit, step: CpuStep<'_>) -> Result<Vec<f64>> {
        let t = at.t;
        let row = self.row(t).ok_or(Error::TimestepOutOfRange {
            index: 0,
            value: t as i64,
            num_timesteps: self.rows.len(),
        })?;
        let noise = step.noise.filter(|_| row.sigma != 0.0);
        crate::cpu::kernels::ddim_step::ddim_step(
            row,
            &self.model,
            self.opts.use_clipped_model_output,
            CpuStep { noise, ..step },
        )
    }
}

/// Inverse DDIM (eta = 0): encodes data, taken as x at the chain's first kept step, into
/// x_{k_{N-1}} (see the module doc). Choose a chain that starts at t = 0 (linspace, or leading
/// without an offset) for clean data.
#[derive(Clone, Debug)]
pub struct DdimReverse {
    chain: Chain,
    model: ModelOptions,
    rows: Vec<DdimRow>,
    clipped_eps: bool,
}

impl DdimReverse {
    /// The inverse on `chain` (of at least two steps for the loop to move at all), keeping the
    /// model's eps when x_0 is clipped (diffusers' `DDIMInverseScheduler`).
    pub fn new(chain: Chain, model: ModelOptions) -> Result<Self> {
        Self::with_clipped_eps(chain, model, false)
    }

    /// The inverse with eps re-derived from the clipped x_0 when `clipped_eps`
    /// (improved-diffusion's `ddim_reverse_sample` always does; diffusers'
    /// `use_clipped_model_output`).
    pub fn with_clipped_eps(chain: Chain, model: ModelOptions, clipped_eps: bool) -> Result<Self> {
        check_mean_type(&model)?;
        validate(&chain, &model, None)?;
        let rows = reverse_rows_by_current(&chain);
        Ok(DdimReverse {
            chain,
            model,
            rows,
            clipped_eps,
        })
    }
}

impl Sampler for DdimReverse {
    fn name(&self) -> &'static str {
        "ddim-reverse"
    }

    fn chain(&self) -> &Chain {
        &self.chain
    }

    fn model(&self) -> &ModelOptions {
        &self.model
    }

    fn threshold(&self) -> Option<Threshold> {
        None
    }

    fn order(&self) -> Vec<usize> {
        // From k_0 up to k_{N-2}: the last step moves x to k_{N-1}.
        let n = self.chain.steps.len();
        self.chain.steps[..n.saturating_sub(1)].to_vec()
    }

    fn draws_noise(&self, _t: usize) -> bool {
        false
    }

    fn gpu_rows(&self) -> Vec<u8> {
        coefs_bytes(&self.rows)
    }

    fn gpu_kernels(&self) -> (Kernel, Kernel) {
        (Kernel::DdimStepVec4, Kernel::DdimStep)
    }

    fn gpu_constants(&self) -> PipelineConstants {
        step_constants(&self.model, None, self.clipped_eps)
    }

    fn gpu_fused(&self, denoiser: &FusedDenoiser) -> Option<Kernel> {
        fused_gaussian(&self.model, denoiser)
    }

    fn cpu_step(&self, at: super::Visit, step: CpuStep<'_>) -> Result<Vec<f64>> {
        let t = at.t;
        let row = self.rows.get(t).ok_or(Error::TimestepOutOfRange {
            index: 0,
            value: t as i64,
            num_timesteps: self.rows.len(),
        })?;
        crate::cpu::kernels::ddim_step::ddim_step(
            row,
            &self.model,
            self.clipped_eps,
            CpuStep {
                noise: None,
                ..step
            },
        )
    }
}
