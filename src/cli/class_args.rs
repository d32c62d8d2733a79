//! `ddpm sample`'s class flags: which class each sample of a class-conditional model is drawn
//! from (`--class`, `--class-labels`), and the null class a sample without one takes.

use ddpm_wgpu::error::{Error, Result};
use ddpm_wgpu::nn::{ClassKind, Guidance};
use ddpm_wgpu::npy::{self, NpyData};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct ClassArgs {
    /// A class-conditional model's class for every sample: one label, or a comma list cycled
    /// over the samples by their index in the run (`--class 0,1,2 --count 6` gives 0, 1, 2, 0,
    /// 1, 2). Default: the null class (unconditional samples). A class_embed_type timestep
    /// model takes any non-negative label; an identity model is refused (use ddpm op unet).
    #[arg(long, value_name = "K[,K...]")]
    pub class: Option<String>,
    /// One label per sample instead (int32 or int64, one per sample: shape \[count\]).
    #[arg(long, value_name = "L.npy")]
    pub class_labels: Option<PathBuf>,
    /// The null class, the label of a sample drawn without a class (default: the last row,
    /// num_class_embeds - 1, DiT's convention; a timestep model without num_class_embeds has
    /// no default and needs this flag to sample without --class or with guidance).
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
    /// a model whose class embedding is of `kind`; `None` without either flag.
    pub(crate) fn guidance(&self, kind: Option<ClassKind>) -> Result<Option<(Guidance, u32)>> {
        if self.guidance_scale.is_none() && self.guidance_rescale.is_none() {
            return Ok(None);
        }
        let Some(kind) = kind else {
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
        Ok(Some((g, self.null(kind, "--guidance-scale")?)))
    }

    /// The null class: `--null-class` (a table's row, any label of a timestep model) or the
    /// model's default ([`ClassKind::default_null_class`]); `needed_by` names the flag that
    /// needs one where the model has none.
    fn null(&self, kind: ClassKind, needed_by: &str) -> Result<u32> {
        refuse_identity(kind)?;
        if let Some(l) = self.null_class {
            return in_range(kind, "--null-class", l);
        }
        kind.default_null_class().ok_or_else(|| {
            Error::Unsupported(format!(
                "{needed_by}: a class_embed_type timestep model without num_class_embeds has \
                 no default null class; give --null-class K (any label the model was trained \
                 to read as no class)"
            ))
        })
    }

    /// The label of each of `count` samples whose first is sample `first` of the run, for a
    /// model whose class embedding is of `kind` (`None`: no class embedding, where any class
    /// flag is refused); `None` for such a model.
    pub(crate) fn labels(
        &self,
        kind: Option<ClassKind>,
        count: usize,
        first: u32,
    ) -> Result<Option<Vec<u32>>> {
        let given = self.class.is_some() || self.class_labels.is_some();
        let Some(kind) = kind else {
            if given || self.null_class.is_some() {
                return Err(Error::Unsupported(
                    "--class, --class-labels and --null-class need a class-conditional model \
                     (num_class_embeds); this one has no class embeddings"
                        .into(),
                ));
            }
            return Ok(None);
        };
        refuse_identity(kind)?;
        if let Some(l) = self.null_class {
            in_range(kind, "--null-class", l)?;
        }
        let labels = match (&self.class, &self.class_labels) {
            (Some(_), Some(_)) => {
                return Err(Error::Unsupported(
                    "give --class or --class-labels, not both".into(),
                ))
            }
            (None, None) => vec![self.null(kind, "sampling without --class")?; count],
            (Some(spec), None) => {
                let list = spec
                    .split(',')
                    .map(|s| {
                        let l = s.trim().parse::<u32>().map_err(|_| {
                            Error::Unsupported(format!(
                                "--class {spec}: '{s}' is not a class label (0, 1, ...)"
                            ))
                        })?;
                        in_range(kind, "--class", l)
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
                        in_range(kind, "--class-labels holds", l)
                    })
                    .collect::<Result<Vec<u32>>>()?
            }
        };
        Ok(Some(labels))
    }
}

/// `l` where the model takes it: below a table's rows; any label of a timestep model (it has
/// no table; labels are u32 on the device).
fn in_range(kind: ClassKind, flag: &str, l: u32) -> Result<u32> {
    match kind {
        ClassKind::Table { num_classes: k } if l as usize >= k => Err(Error::Unsupported(format!(
            "{flag} {l} is outside [0, {k}) (the model's num_class_embeds)"
        ))),
        _ => Ok(l),
    }
}

/// `ddpm sample` draws from integer labels; an identity model takes float rows instead.
fn refuse_identity(kind: ClassKind) -> Result<()> {
    match kind {
        ClassKind::Identity { width } => Err(Error::Unsupported(format!(
            "ddpm sample does not draw from a class_embed_type identity model (its class inputs \
             are float rows of width {width}, with no labels and no null class); run one \
             forward with ddpm op unet --input class_labels=L.npy (float32 [B, {width}])"
        ))),
        _ => Ok(()),
    }
}
