//! What a sampling run draws its noise from and how it runs: the options both loops, the
//! device's and the f64 twin's, take.

/// Where the step noise and x_T come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum NoiseSource {
    /// Drawn in the shader: Philox keyed by (seed, stream, step, sample, element), the same on
    /// any chunking or device (`cpu::kernels::noise` reproduces it).
    #[default]
    Philox,
    /// `torch.manual_seed(seed)` then one `torch.randn` of the whole batch for x_T and one per
    /// step that adds noise, as diffusers' pipelines draw them (CPU generator, bit for bit),
    /// drawn on the host and uploaded before each step.
    Torch,
}

/// Options of one sampling run, on the device
/// ([`gpu::sample_loop`](crate::gpu::sample_loop::sample_loop)) or in the f64 twin
/// ([`cpu::sampling::sample_loop`](crate::cpu::sampling::sample_loop::sample_loop)).
#[derive(Clone, Debug)]
pub struct LoopOptions {
    /// Keys every noise draw (Philox) or seeds the torch generator.
    pub seed: u64,
    /// Where the noise comes from.
    pub noise: NoiseSource,
    /// Start from this x (the whole batch, C order) instead of drawing x_T: a given x_T, or the
    /// data an inverse sampler encodes.
    pub x_t: Option<Vec<f32>>,
    /// Steps recorded per submission (progress is reported between submissions); 1 with a host
    /// noise stream, whose uploads go between submissions.
    pub steps_per_submit: usize,
    /// Progressive mode (the original's `p_sample_loop_progressive`): keep x and pred_xstart
    /// after every step with a multiple of k steps left (after the last step too), copied on
    /// the device, read back at the end.
    pub keep_every: Option<usize>,
    /// At most this many samples per chunk (`None`: as many as one storage binding holds).
    /// Chunks run one after another with the same noise, so results do not depend on it.
    pub max_chunk_samples: Option<usize>,
    /// The index of the batch's first sample in the whole run (0). Philox noise is keyed by a
    /// sample's index, so samples K .. K + B - 1 of a run are those rows of one run of K + B
    /// samples: a large evaluation splits over machines this way. Only with Philox noise and
    /// no given x_T (the torch stream and x_T belong to the whole batch).
    pub first_sample: u32,
    /// One class label per sample of the batch, for a class-conditional model: handed to the
    /// denoiser ([`Denoiser::set_class_labels`](crate::gpu::Denoiser::set_class_labels), each
    /// chunk its own samples' labels; in the twin
    /// [`CpuDenoiser::denoise_labeled`](crate::cpu::sampling::sample_loop::CpuDenoiser::denoise_labeled)).
    /// `None` for an unconditional model.
    pub class_labels: Option<Vec<u32>>,
}

impl LoopOptions {
    /// Refuse a `first_sample` the options cannot honour for a batch of `batch` samples, and
    /// class labels that are not one per sample.
    pub fn check_first_sample(&self, batch: usize) -> crate::error::Result<()> {
        use crate::error::Error;
        if let Some(labels) = self.class_labels.as_ref().filter(|l| l.len() != batch) {
            return Err(Error::ShapeMismatch(format!(
                "{} class labels for a batch of {batch}",
                labels.len()
            )));
        }
        if self.first_sample == 0 {
            return Ok(());
        }
        if self.noise == NoiseSource::Torch || self.x_t.is_some() {
            return Err(Error::Unsupported(
                "a first sample index (--first-index) needs Philox noise and no given x_T: \
                 the torch stream and x_T are drawn for the whole batch"
                    .into(),
            ));
        }
        if u64::from(self.first_sample) + batch as u64 > u64::from(u32::MAX) + 1 {
            return Err(Error::Unsupported(format!(
                "samples {} .. {} + {batch}: Philox keys a sample's index in 32 bits",
                self.first_sample, self.first_sample
            )));
        }
        Ok(())
    }
}

impl Default for LoopOptions {
    fn default() -> Self {
        LoopOptions {
            seed: 0,
            noise: NoiseSource::Philox,
            x_t: None,
            steps_per_submit: 100,
            keep_every: None,
            max_chunk_samples: None,
            first_sample: 0,
            class_labels: None,
        }
    }
}
