//! CPU twin of the whole UNet (src/nn/unet.rs; the GPU `UNetDenoiser` records the same layer
//! kernels in this order), the reference for tests: `UNet2DModel.forward(x, t).sample` in f64.

use super::{
    blocks, class_embedding, conv2d, group_norm, silu_in_place, time_embedding, Activation,
};
use crate::cpu::sampling::sample_loop::CpuDenoiser;
use crate::error::{Error, Result};
use crate::nn::{ClassLabels, Guidance, UNet2D};

/// The model output for x ([B, C, H, W] f32, C order) at per-sample timesteps `t`, as
/// [B, out_channels, H, W] in f64.
pub fn forward(model: &UNet2D, x: &[f32], shape: [usize; 4], t: &[u32]) -> Result<Vec<f64>> {
    forward_f64(model, x.iter().map(|&v| v as f64).collect(), shape, t)
}

/// [`forward`] on an f64 input (the CPU sampling loop's x).
pub fn forward_f64(model: &UNet2D, x: Vec<f64>, shape: [usize; 4], t: &[u32]) -> Result<Vec<f64>> {
    let times: Vec<f32> = t.iter().map(|&v| v as f32).collect();
    forward_f64_at(model, x, shape, &times)
}

/// [`forward_f64`] at float32 timesteps that need not be integers (diffusers' sigma-space
/// schedulers call the model at interpolated timesteps).
pub fn forward_f64_at(
    model: &UNet2D,
    x: Vec<f64>,
    shape: [usize; 4],
    t: &[f32],
) -> Result<Vec<f64>> {
    forward_labeled(model, x, shape, t, None)
}

/// [`forward_f64_at`] with diffusers' integer `class_labels`, one per sample (a table's or the
/// timestep kind's; [`forward_classes`] takes the identity kind's rows too).
pub fn forward_labeled(
    model: &UNet2D,
    x: Vec<f64>,
    shape: [usize; 4],
    t: &[f32],
    labels: Option<&[u32]>,
) -> Result<Vec<f64>> {
    forward_classes(model, x, shape, t, labels.map(ClassLabels::Ids))
}

/// [`forward_f64_at`] with diffusers' `class_labels`, one label or row per sample: a
/// class-conditional model adds each sample's class embedding to the time embedding
/// (`cpu::nn::class_embedding`). A model with class embeddings needs labels of its kind, one
/// without refuses them (diffusers raises in both cases).
pub fn forward_classes(
    model: &UNet2D,
    x: Vec<f64>,
    shape: [usize; 4],
    t: &[f32],
    labels: Option<ClassLabels<'_>>,
) -> Result<Vec<f64>> {
    let [n, c, h, w] = shape;
    if n == 0 || t.len() != n {
        return Err(Error::ShapeMismatch(format!(
            "{} timesteps for a batch of {n} (need one per sample, at least one)",
            t.len()
        )));
    }
    if c != model.config.in_channels {
        return Err(Error::ShapeMismatch(format!(
            "the model takes {} input channels, got shape {shape:?}",
            model.config.in_channels
        )));
    }
    model.check_sample_size(h, w)?;
    let mut x = Activation::new(x, shape)?;
    if model.config.center_input_sample {
        x.data.iter_mut().for_each(|v| *v = 2.0 * *v - 1.0);
    }
    check_class_labels(model, n, labels)?;
    let mut temb = time_embedding::forward(&model.time_embedding, t)?;
    if let (Some(class), Some(labels)) = (&model.class_embedding, labels) {
        class_embedding::add(class, &mut temb, n, labels)?;
    }
    let mut hidden = conv2d::forward(&model.conv_in, &x)?;
    let mut skips = vec![hidden.clone()];
    for block in &model.down_blocks {
        hidden = blocks::down(block, hidden, &temb, &mut skips)?;
    }
    if let Some(mid) = &model.mid_block {
        hidden = blocks::mid(mid, hidden, &temb)?;
    }
    for block in &model.up_blocks {
        hidden = blocks::up(block, hidden, &temb, &mut skips)?;
    }
    let mut hidden = group_norm::forward(&model.conv_norm_out, &hidden)?;
    silu_in_place(&mut hidden.data);
    Ok(conv2d::forward(&model.conv_out, &hidden)?.data)
}

/// Check `labels` for a batch of n of `model` ([`crate::nn::check_class_labels`]).
pub fn check_class_labels(model: &UNet2D, n: usize, labels: Option<ClassLabels<'_>>) -> Result<()> {
    let kind = model.class_embedding.as_ref().map(|c| c.kind());
    crate::nn::check_class_labels(kind, n, labels)
}

/// The UNet as a [`CpuDenoiser`] on samples of [in_channels, height, width]: out_channels ==
/// in_channels gives (model_output, None); out_channels == 2 x in_channels gives (the first
/// in_channels channels, Some(the rest)), diffusers' split for learned variance types.
#[derive(Clone, Copy, Debug)]
pub struct UNetCpu<'a> {
    model: &'a UNet2D,
    height: usize,
    width: usize,
    /// Classifier-free guidance and the null class ([`UNetCpu::with_guidance`]).
    guidance: Option<(Guidance, u32)>,
}

impl<'a> UNetCpu<'a> {
    /// Checks that the model's channels make a denoiser and that (height, width) runs.
    pub fn new(model: &'a UNet2D, height: usize, width: usize) -> Result<Self> {
        let (cin, cout) = (model.config.in_channels, model.config.out_channels);
        if cout != cin && cout != 2 * cin {
            return Err(Error::UnsupportedModel(format!(
                "{cout} output channels for {cin} input channels: a denoiser needs {cin} or {}",
                2 * cin
            )));
        }
        model.check_sample_size(height, width)?;
        Ok(UNetCpu {
            model,
            height,
            width,
            guidance: None,
        })
    }

    /// This denoiser with classifier-free guidance, as `gpu::UNetDenoiser::set_guidance`:
    /// labelled calls run the labelled and the `null_class` passes and combine them
    /// (`cpu::nn::guidance`), the learned variance from the labelled pass. The null class is
    /// checked as [`crate::nn::ClassKind::check_null_class`] checks it (any label of a timestep
    /// model; an identity model refused).
    pub fn with_guidance(self, guidance: Option<Guidance>, null_class: u32) -> Result<Self> {
        if let Some(g) = guidance {
            g.validate()?;
            match self.model.class_embedding.as_ref().map(|c| c.kind()) {
                Some(crate::nn::ClassKind::Table { num_classes: n })
                    if null_class as usize >= n =>
                {
                    return Err(Error::Unsupported(format!(
                        "guidance needs a class-conditional model with the null class \
                         {null_class} among its {n} rows"
                    )))
                }
                Some(kind) => kind.check_null_class(null_class)?,
                None => {
                    return Err(Error::Unsupported(format!(
                        "guidance needs a class-conditional model with the null class \
                         {null_class} among its 0 rows"
                    )))
                }
            }
        }
        Ok(UNetCpu {
            guidance: guidance.map(|g| (g, null_class)),
            ..self
        })
    }

    /// Elements per sample: in_channels x height x width.
    pub fn sample_len(&self) -> usize {
        self.model.config.in_channels * self.height * self.width
    }
}

impl CpuDenoiser for UNetCpu<'_> {
    fn denoise(&self, t: &[u32], x: &[f64]) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        self.denoise_times(&t.iter().map(|&v| f64::from(v)).collect::<Vec<f64>>(), x)
    }

    fn denoise_times(&self, t: &[f64], x: &[f64]) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        self.denoise_labeled_opt(t, x, None)
    }

    fn denoise_labeled(
        &self,
        t: &[f64],
        x: &[f64],
        labels: &[u32],
    ) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        self.denoise_labeled_opt(t, x, Some(labels))
    }
}

impl UNetCpu<'_> {
    /// The outputs at timesteps `t` with `labels` where given, split as [`CpuDenoiser`] says.
    fn denoise_labeled_opt(
        &self,
        t: &[f64],
        x: &[f64],
        labels: Option<&[u32]>,
    ) -> Result<(Vec<f64>, Option<Vec<f64>>)> {
        let len = self.sample_len();
        if t.is_empty() || x.len() != t.len() * len {
            return Err(Error::ShapeMismatch(format!(
                "{} values are not {} samples of {len}",
                x.len(),
                t.len()
            )));
        }
        let shape = [
            t.len(),
            self.model.config.in_channels,
            self.height,
            self.width,
        ];
        // diffusers' timesteps are float32.
        let times: Vec<f32> = t.iter().map(|&v| v as f32).collect();
        let (out_len, b) = (
            self.model.config.out_channels * self.height * self.width,
            t.len(),
        );
        let out = match (self.guidance, labels) {
            (Some((g, null)), _) if g.scale == 0.0 => {
                forward_labeled(self.model, x.to_vec(), shape, &times, Some(&vec![null; b]))?
            }
            (Some((g, null)), Some(labels)) if g.combines() => {
                let x2 = [x, x].concat();
                let t2 = [times.as_slice(), times.as_slice()].concat();
                let l2 = [labels, &vec![null; b]].concat();
                let shape2 = [2 * b, shape[1], shape[2], shape[3]];
                let both = forward_labeled(self.model, x2, shape2, &t2, Some(&l2))?;
                let dims = (len, out_len - len);
                let (mean, var) = super::guidance::forward(&both, b, dims, g.scale, g.rescale)?;
                // Back to [B, out_channels, ...]: the guided mean, then the labelled variance.
                let mut out = Vec::with_capacity(b * out_len);
                for s in 0..b {
                    out.extend_from_slice(&mean[s * len..(s + 1) * len]);
                    out.extend_from_slice(&var[s * (out_len - len)..(s + 1) * (out_len - len)]);
                }
                out
            }
            _ => forward_labeled(self.model, x.to_vec(), shape, &times, labels)?,
        };
        if self.model.config.out_channels == self.model.config.in_channels {
            return Ok((out, None));
        }
        let mut mean = Vec::with_capacity(x.len());
        let mut var = Vec::with_capacity(x.len());
        for sample in out.chunks_exact(2 * len) {
            let (a, b) = sample.split_at(len);
            mean.extend_from_slice(a);
            var.extend_from_slice(b);
        }
        Ok((mean, Some(var)))
    }
}
