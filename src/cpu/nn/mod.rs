//! The f64 CPU twin of the UNet layers in [`crate::nn`]: one module per layer kind under the
//! same file name, each a plain serial loop over NCHW activations, the reference the GPU
//! kernels (`shaders/nn/<name>.wgsl`) are tested against. Weights are the layers' f32 values,
//! widened; every sum and product is in f64.

pub mod attention;
pub mod blocks;
pub mod cast;
pub mod class_embedding;
pub mod conv2d;
pub mod downsample;
pub mod group_norm;
pub mod guidance;
pub mod linear;
pub mod resnet;
pub mod time_embedding;
pub mod unet;
pub mod upsample;

pub use unet::{forward, forward_f64, UNetCpu};

use crate::error::{Error, Result};

/// An NCHW activation: `data[((b * C + c) * H + y) * W + x]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Activation {
    /// The values, C order.
    pub data: Vec<f64>,
    /// [batch, channels, height, width].
    pub shape: [usize; 4],
}

impl Activation {
    /// Zeros of `shape`; an error when the element count overflows.
    pub fn zeros(shape: [usize; 4]) -> Result<Self> {
        let n = shape
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
            .ok_or_else(|| Error::ShapeMismatch(format!("activation {shape:?} is too large")))?;
        Ok(Activation {
            data: vec![0.0; n],
            shape,
        })
    }

    /// Wraps `data`, which must hold exactly shape's element count.
    pub fn new(data: Vec<f64>, shape: [usize; 4]) -> Result<Self> {
        let n = shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        if n != Some(data.len()) {
            return Err(Error::ShapeMismatch(format!(
                "{} values do not make an activation of shape {shape:?}",
                data.len()
            )));
        }
        Ok(Activation { data, shape })
    }

    /// Batch size.
    pub fn batch(&self) -> usize {
        self.shape[0]
    }

    /// Channels.
    pub fn channels(&self) -> usize {
        self.shape[1]
    }

    /// Height x width.
    pub fn plane(&self) -> usize {
        self.shape[2] * self.shape[3]
    }
}

/// x sigmoid(x), in place.
pub fn silu_in_place(x: &mut [f64]) {
    for v in x {
        *v /= 1.0 + (-*v).exp();
    }
}

/// An error unless `x` holds exactly its shape's element count and has `channels` channels
/// (the fields are public, so an activation may have been built inconsistent).
pub(crate) fn expect_channels(what: &str, x: &Activation, channels: usize) -> Result<()> {
    let n = x.shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
    if n != Some(x.data.len()) {
        return Err(Error::ShapeMismatch(format!(
            "{what}: {} values do not make an activation of shape {:?}",
            x.data.len(),
            x.shape
        )));
    }
    if x.channels() != channels {
        return Err(Error::ShapeMismatch(format!(
            "{what} takes {channels} channels, got an activation of shape {:?}",
            x.shape
        )));
    }
    Ok(())
}

/// An error naming `what` unless `consistent`: the layer structs' fields are public, so one
/// built by hand may disagree with itself; the loader never builds such a layer.
pub(crate) fn check_layer(what: &str, consistent: bool) -> Result<()> {
    if consistent {
        Ok(())
    } else {
        Err(Error::ShapeMismatch(format!(
            "{what}: its weights do not match its declared sizes"
        )))
    }
}

/// [a, b] concatenated on channels (torch.cat(dim=1)); batch and spatial sizes must agree.
pub fn concat_channels(a: &Activation, b: &Activation) -> Result<Activation> {
    expect_channels("concat", a, a.channels())?;
    expect_channels("concat", b, b.channels())?;
    let [n, ca, h, w] = a.shape;
    if b.shape[0] != n || b.shape[2] != h || b.shape[3] != w {
        return Err(Error::ShapeMismatch(format!(
            "cannot concatenate {:?} and {:?} on channels",
            a.shape, b.shape
        )));
    }
    let cb = b.shape[1];
    let mut out = Activation::zeros([n, ca + cb, h, w])?;
    let (sa, sb) = (ca * h * w, cb * h * w);
    for (i, dst) in out.data.chunks_exact_mut(sa + sb).enumerate() {
        dst[..sa].copy_from_slice(&a.data[i * sa..(i + 1) * sa]);
        dst[sa..].copy_from_slice(&b.data[i * sb..(i + 1) * sb]);
    }
    Ok(out)
}
