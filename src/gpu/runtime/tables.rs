//! The schedule tables on the device: one [`StepCoefs`] row per timestep, rounded once from the
//! f64 [`Tables`] and uploaded once.

use crate::error::Result;
use crate::gpu::Context;
use crate::schedule::Tables;

const LABEL: &str = "schedule tables";
const USAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE.union(wgpu::BufferUsages::COPY_DST);

/// One timestep's coefficients (`StepCoefs` in shaders/common.wgsl): 16 f32, 64 bytes, so one
/// row is one aligned fetch.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, bytemuck::Pod, bytemuck::Zeroable)]
pub struct StepCoefs {
    /// beta_t.
    pub beta: f32,
    /// log beta_t.
    pub log_beta: f32,
    /// sqrt(abar_t).
    pub sqrt_abar: f32,
    /// 1 - abar_t, from f64.
    pub one_minus_abar: f32,
    /// sqrt(1 - abar_t), from f64.
    pub sqrt_one_minus_abar: f32,
    /// log(1 - abar_t), from f64.
    pub log_one_minus_abar: f32,
    /// sqrt(1 / abar_t).
    pub sqrt_recip_abar: f32,
    /// sqrt(1 / abar_t - 1).
    pub sqrt_recipm1_abar: f32,
    /// beta tilde_t.
    pub posterior_variance: f32,
    /// log beta tilde_t, clipped at t = 0.
    pub posterior_log_variance_clipped: f32,
    /// Posterior mean coefficient of x_0.
    pub posterior_mean_coef1: f32,
    /// Posterior mean coefficient of x_t.
    pub posterior_mean_coef2: f32,
    /// 1 / coef1, from f64 (x_0 from x_{t-1}).
    pub recip_coef1: f32,
    /// coef2 / coef1, from f64.
    pub coef2_over_coef1: f32,
    /// fixedlarge's log-variance.
    pub fixedlarge_log_variance: f32,
    /// The timestep the sampling loop visits after this one: t - 1 on the full chain (0 at
    /// t = 0), the previous kept step on a respaced one, t itself at the chain's last step.
    pub next_t: u32,
}

impl StepCoefs {
    /// Row `t` of `tables`, each value computed in f64 and rounded to f32 once; `next_t` is
    /// t - 1 (0 at t = 0), the full chain's.
    pub fn from_tables(tb: &Tables, t: usize) -> Self {
        let c1 = tb.posterior_mean_coef1[t];
        let c2 = tb.posterior_mean_coef2[t];
        StepCoefs {
            beta: tb.betas[t] as f32,
            log_beta: tb.log_betas[t] as f32,
            sqrt_abar: tb.sqrt_alphas_cumprod[t] as f32,
            one_minus_abar: tb.one_minus_alphas_cumprod[t] as f32,
            sqrt_one_minus_abar: tb.sqrt_one_minus_alphas_cumprod[t] as f32,
            log_one_minus_abar: tb.log_one_minus_alphas_cumprod[t] as f32,
            sqrt_recip_abar: tb.sqrt_recip_alphas_cumprod[t] as f32,
            sqrt_recipm1_abar: tb.sqrt_recipm1_alphas_cumprod[t] as f32,
            posterior_variance: tb.posterior_variance[t] as f32,
            posterior_log_variance_clipped: tb.posterior_log_variance_clipped[t] as f32,
            posterior_mean_coef1: c1 as f32,
            posterior_mean_coef2: c2 as f32,
            recip_coef1: (1.0 / c1) as f32,
            coef2_over_coef1: (c2 / c1) as f32,
            fixedlarge_log_variance: tb.fixedlarge_log_variance[t] as f32,
            next_t: t.saturating_sub(1) as u32,
        }
    }
}

/// The schedule tables uploaded to a device, with the f64 tables they came from (the sampling
/// loops build their chains from those).
#[derive(Debug)]
pub struct GpuTables {
    buffer: wgpu::Buffer,
    num_timesteps: usize,
    tables: Tables,
}

impl GpuTables {
    /// Upload `tables` (T rows of 64 bytes).
    pub fn new(ctx: &Context, tables: &Tables) -> Result<Self> {
        // Before the rows are built: T past the device's limits fails here, not in wgpu.
        Self::check_fits(ctx, tables.num_timesteps())?;
        let rows: Vec<StepCoefs> = (0..tables.num_timesteps())
            .map(|t| StepCoefs::from_tables(tables, t))
            .collect();
        Self::from_rows(ctx, &rows, tables)
    }

    /// Upload `rows` (a sampling chain's, by training timestep), keeping `tables`, the f64
    /// tables they stand for.
    pub(crate) fn from_rows(ctx: &Context, rows: &[StepCoefs], tables: &Tables) -> Result<Self> {
        let buffer = ctx.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(LABEL),
            contents: bytemuck::cast_slice(rows),
            usage: USAGE,
        })?;
        Ok(GpuTables {
            buffer,
            num_timesteps: rows.len(),
            tables: tables.clone(),
        })
    }

    /// The f64 tables these rows were rounded from.
    pub fn tables(&self) -> &Tables {
        &self.tables
    }

    /// Whether tables of `num_timesteps` rows fit on `ctx`'s device (one storage binding), so
    /// that a caller can refuse T before computing the f64 tables on the host
    /// ([`crate::Error::BufferTooLarge`] otherwise).
    pub fn check_fits(ctx: &Context, num_timesteps: usize) -> Result<()> {
        let row = std::mem::size_of::<StepCoefs>();
        let bytes = num_timesteps as u128 * row as u128;
        ctx.check_buffer(LABEL, bytes, USAGE)
    }

    /// T.
    pub fn num_timesteps(&self) -> usize {
        self.num_timesteps
    }

    /// The `array<StepCoefs>` storage buffer.
    pub fn buffer(&self) -> &wgpu::Buffer {
        &self.buffer
    }
}
