//! `ddpm sample`'s class flags: which class each sample of a class-conditional model is drawn
//! from (`--class`, `--class-labels`), and the null class a sample without one takes.

use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::nn::Guidance;
use ddpm_wgpu::npy::{self, NpyData};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ClassArgs {
    /// A class-conditional model's class for every sample: one label, or a comma list cycled
    /// over the samples by their index in the run (`--class 0,1,2 --count 6` gives 0, 1, 2, 0,
    /// 1, 2). Default: the null class (unconditional samples).
    #[arg(long, value_name = "K[,K...]")]
    pub class: Option<String>,
    /// One label per sample instead (int32 or int64, one per sample: shape \[count\]).
    #[arg(long, value_name = "L.npy")]
    pub class_labels: Option<PathBuf>,
    /// The null class, the label of a sample drawn without a class (default: the last row,
    /// num_class_embeds - 1, DiT's convention).
    #[arg(long, value_name = "K")]
    pub null_class: Option<u32>,
    /// Classifier-free guidance's scale w (diffusers' guidance_scale) on a class-conditional
    /// model: 1 (the default, see benches/guidance.md) samples each class alone, 0 the null
    /// class alone, any other w >= 0 both passes as one forward of 2 x count: u + w (c - u).
    #[arg(long, value_name = "W")]
    pub guidance_scale: Option<f64>,
    /// diffusers' guidance_rescale PHI in [0, 1] (Lin et al. 2023); no effect at w = 0 or 1.
    #[arg(long, value_name = "PHI")]
    pub guidance_rescale: Option<f64>,
}

impl ClassArgs {
    /// Whether any class flag is given: `ddpm sample` without `--model` then samples the
    /// class-conditional embedded model.
    pub(crate) fn any_given(&self) -> bool {
        self.class.is_some()
            || self.class_labels.is_some()
            || self.null_class.is_some()
            || self.guidance_scale.is_some()
            || self.guidance_rescale.is_some()
    }

    /// The guidance `--guidance-scale` and `--guidance-rescale` ask for and the null class, on
    /// a model with `num_classes` class rows; `None` without either flag.
    pub(crate) fn guidance(&self, num_classes: Option<usize>) -> Result<Option<(Guidance, u32)>> {
        if self.guidance_scale.is_none() && self.guidance_rescale.is_none() {
            return Ok(None);
        }
        let Some(k) = num_classes else {
            return Err(Error::Unsupported(
                "--guidance-scale and --guidance-rescale need a class-conditional model \
                 (num_class_embeds); this one has no class embeddings"
                    .into(),
            ));
        };
        let g = Guidance {
            scale: self.guidance_scale.unwrap_or(1.0),
            rescale: self.guidance_rescale,
        };
        g.validate()?;
        Ok(Some((g, self.null_class.unwrap_or((k - 1) as u32))))
    }

    /// The label of each of `count` samples whose first is sample `first` of the run, for a
    /// model with `num_classes` class rows (`None`: no class embedding, where any class flag
    /// is refused); `None` for such a model.
    pub(crate) fn labels(
        &self,
        num_classes: Option<usize>,
        count: usize,
        first: u32,
    ) -> Result<Option<Vec<u32>>> {
        let given = self.class.is_some() || self.class_labels.is_some();
        let Some(k) = num_classes else {
            if given || self.null_class.is_some() {
                return Err(Error::Unsupported(
                    "--class, --class-labels and --null-class need a class-conditional model \
                     (num_class_embeds); this one has no class embeddings"
                        .into(),
                ));
            }
            return Ok(None);
        };
        let in_range = |flag: &str, l: u32| {
            if (l as usize) < k {
                Ok(l)
            } else {
                Err(Error::Unsupported(format!(
                    "{flag} {l} is outside [0, {k}) (the model's num_class_embeds)"
                )))
            }
        };
        let null = match self.null_class {
            Some(l) => in_range("--null-class", l)?,
            None => (k - 1) as u32,
        };
        let labels = match (&self.class, &self.class_labels) {
            (Some(_), Some(_)) => {
                return Err(Error::Unsupported(
                    "give --class or --class-labels, not both".into(),
                ))
            }
            (None, None) => vec![null; count],
            (Some(spec), None) => {
                let list = spec
                    .split(',')
                    .map(|s| {
                        let l = s.trim().parse::<u32>().map_err(|_| {
                            Error::Unsupported(format!(
                                "--class {spec}: '{s}' is not a class label (0, 1, ...)"
                            ))
                        })?;
                        in_range("--class", l)
                    })
                    .collect::<Result<Vec<u32>>>()?;
                (0..count)
                    .map(|i| list[(first as usize + i) % list.len()])
                    .collect()
            }
            (None, Some(path)) => {
                let a = npy::read(path)?;
                let values: Vec<i64> = match a.data {
                    NpyData::I32(v) => v.into_iter().map(i64::from).collect(),
                    NpyData::I64(v) => v,
                    other => {
                        return Err(Error::WrongDtype {
                            name: "class_labels".into(),
                            found: other.dtype().into(),
                            expected: "int32 or int64",
                        })
                    }
                };
                if a.shape != [count] {
                    return Err(Error::ShapeMismatch(format!(
                        "--class-labels has shape {:?}, the samples [{count}]",
                        a.shape
                    )));
                }
                values
                    .into_iter()
                    .map(|v| {
                        let l = u32::try_from(v)
                            .map_err(|_| Error::Unsupported(format!("--class-labels holds {v}")))?;
                        in_range("--class-labels holds", l)
                    })
                    .collect::<Result<Vec<u32>>>()?
            }
        };
        Ok(Some(labels))
    }
}
