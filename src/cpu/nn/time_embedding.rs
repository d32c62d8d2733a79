//! CPU twin of shaders/nn/time_embedding.wgsl, the reference for tests: the sinusoid and the
//! time MLP in f64. The sinusoid's arguments are rounded as torch forms them in float32
//! (f32 frequencies, f32(t) x freq rounded to f32), then sin and cos are taken in f64: at
//! t ~ 1000 the argument's f32 rounding (~3e-5 rad) is what diffusers computes, and f64
//! sin/cos add no error of their own.

use super::{linear, silu_in_place};
use crate::error::Result;
use crate::nn::{TimeEmbedding, Timesteps};

/// [B, num_channels]: [sin(arg), cos(arg)] ([cos, sin] when flipped), zero in the last column
/// of an odd width.
pub fn sinusoid(proj: &Timesteps, t: &[u32]) -> Vec<f64> {
    sinusoid_at(proj, &t.iter().map(|&v| v as f32).collect::<Vec<f32>>())
}

/// [`sinusoid`] at timesteps that need not be integers (diffusers' float32 timesteps, as the
/// sigma-space schedulers hand them to the model).
pub fn sinusoid_at(proj: &Timesteps, t: &[f32]) -> Vec<f64> {
    let freqs = proj.frequencies();
    let (half, width) = (freqs.len(), proj.num_channels);
    let mut out = vec![0.0; t.len() * width];
    for (row, &ti) in out.chunks_exact_mut(width.max(1)).zip(t) {
        for (i, &f) in freqs.iter().enumerate() {
            let arg = (ti * f) as f64;
            let (first, second) = if proj.flip_sin_to_cos {
                (arg.cos(), arg.sin())
            } else {
                (arg.sin(), arg.cos())
            };
            row[i] = first;
            row[half + i] = second;
        }
    }
    out
}

/// [B, time_embed_dim]: linear_2(silu(linear_1(sinusoid(t)))), t as float32 timesteps.
pub fn forward(te: &TimeEmbedding, t: &[f32]) -> Result<Vec<f64>> {
    let mut h = linear::forward(&te.linear_1, &sinusoid_at(&te.time_proj, t))?;
    silu_in_place(&mut h);
    linear::forward(&te.linear_2, &h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sinusoid_orders_and_pads() {
        // Width 5: half 2, freqs [1, exp(-ln(1e4) / (2 - 1))] = [1, 1e-4] with shift 1; the
        // fifth column is padding.
        let proj = Timesteps {
            num_channels: 5,
            flip_sin_to_cos: false,
            downscale_freq_shift: 1.0,
        };
        let e = sinusoid(&proj, &[0, 2]);
        assert_eq!(&e[..5], &[0.0, 0.0, 1.0, 1.0, 0.0]);
        let f1 = (1e-4f32 * 2.0) as f64;
        let want = [2f64.sin(), f1.sin(), 2f64.cos(), f1.cos(), 0.0];
        for (a, b) in e[5..].iter().zip(want) {
            assert!((a - b).abs() < 1e-9, "{e:?}");
        }
        let flipped = Timesteps {
            flip_sin_to_cos: true,
            ..proj
        };
        let f = sinusoid(&flipped, &[2]);
        assert_eq!((f[0], f[2]), (e[7], e[5]));
    }
}
