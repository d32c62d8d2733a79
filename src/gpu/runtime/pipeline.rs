//! Compute pipelines from the kernel table: a kernel's module, checked by naga or, for a kernel
//! audited for it, without naga's runtime checks ([`ShaderChecks`]), and the pipeline constants
//! it takes.

use crate::error::{Error, Result};
use crate::gpu::runtime::params::PipelineConstants;
use crate::gpu::runtime::shaders::Kernel;

/// Which kernels are compiled without naga's runtime checks: the bounds clamps it puts on
/// every dynamic index and the counter it adds to every loop, which cost a clamp per load of a
/// register or workgroup tile (the conv and attention kernels' inner loops).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShaderChecks {
    /// The audited kernels (the UNet's convs, norms, linears, attention and casts:
    /// `Kernel::unchecked_because` gives each one's reason) without them, every other kernel
    /// with them. The default.
    #[default]
    Audited,
    /// Every kernel with them (`DDPM_SHADER_CHECKS=all`): to compare, or to look for a kernel
    /// that indexes out of range.
    All,
}

impl ShaderChecks {
    /// `DDPM_SHADER_CHECKS`: unset, empty or `audited` for [`ShaderChecks::Audited`], `all`
    /// for [`ShaderChecks::All`]; anything else is an error, not a silent default.
    pub fn from_env() -> Result<Self> {
        match std::env::var("DDPM_SHADER_CHECKS").as_deref() {
            Err(_) | Ok("") | Ok("audited") => Ok(ShaderChecks::Audited),
            Ok("all") => Ok(ShaderChecks::All),
            Ok(other) => Err(Error::Unsupported(format!(
                "DDPM_SHADER_CHECKS: '{other}' is neither audited nor all"
            ))),
        }
    }
}

/// The pipeline of `kernel`, with the pipeline constants it takes set from `constants`.
pub(crate) fn create_pipeline(
    kernel: Kernel,
    device: &wgpu::Device,
    constants: PipelineConstants,
    checks: ShaderChecks,
) -> wgpu::ComputePipeline {
    let desc = wgpu::ShaderModuleDescriptor {
        label: Some(kernel.name()),
        source: wgpu::ShaderSource::Wgsl(kernel.source_with(constants.nn).into()),
    };
    let module = match (checks, kernel.unchecked_because()) {
        // SAFETY: the kernel's indices stay in range and its loops end for every input the
        // host lets through: `Kernel::unchecked_because` says why, kernel by kernel
        // (src/gpu/runtime/shaders/audited.rs), and tests/shader_checks.rs runs both builds.
        (ShaderChecks::Audited, Some(_)) => unsafe {
            device.create_shader_module_trusted(desc, wgpu::ShaderRuntimeChecks::unchecked())
        },
        _ => device.create_shader_module(desc),
    };
    // Declared in common.wgsl, so every module but the nn ones has it; fixed per kernel, so
    // not in the key.
    let per_invocation = f64::from(kernel.vec4s_per_invocation());
    let mut values = match kernel.is_nn() {
        true => crate::gpu::runtime::shaders::flags::constants(kernel, constants.nn),
        false => vec![("VEC4S_PER_INVOCATION", per_invocation)],
    };
    if kernel.takes_grid() {
        values.push(("GRID", f64::from(constants.grid)));
    }
    if kernel.takes_model_constants() {
        values.push(("MEAN_TYPE", f64::from(constants.mean_type)));
        values.push(("VAR_TYPE", f64::from(constants.var_type)));
        values.push(("CLIP_DENOISED", f64::from(constants.clip_denoised)));
    }
    let layout = kernel.is_step().then(|| {
        values.push(("NOISE_SOURCE", f64::from(constants.noise_source)));
        values.push(("THRESHOLD", f64::from(constants.threshold)));
        values.push(("CLIPPED_EPS", f64::from(constants.clipped_eps)));
        values.push(("KEEP_XSTART", f64::from(constants.keep_xstart)));
        crate::gpu::runtime::step_layout::pipeline_layout(device)
    });
    device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(kernel.name()),
        layout: layout.as_ref(),
        module: &module,
        entry_point: Some("main"),
        compilation_options: wgpu::PipelineCompilationOptions {
            constants: &values,
            ..Default::default()
        },
        cache: None,
    })
}
