//! CPU twin of shaders/nn/linear.wgsl, the reference for tests: `Linear` in f64 over rows.

use crate::error::{Error, Result};
use crate::nn::Linear;

/// `y[r, o] = bias[o] + sum_i weight[o, i] x[r, i]` for every row r of `x` ([rows, in]).
pub fn forward(lin: &Linear, x: &[f64]) -> Result<Vec<f64>> {
    let (nin, nout) = (lin.in_features, lin.out_features);
    if nin == 0 || !x.len().is_multiple_of(nin) {
        return Err(Error::ShapeMismatch(format!(
            "linear takes rows of {nin}, got {} values",
            x.len()
        )));
    }
    let sizes = lin.weight.len() == nin * nout && lin.bias.len() == nout;
    super::check_layer("linear", sizes)?;
    let rows = x.len() / nin;
    let mut y = vec![0.0; rows * nout];
    for (xr, yr) in x.chunks_exact(nin).zip(y.chunks_exact_mut(nout)) {
        for ((yo, wo), &b) in yr
            .iter_mut()
            .zip(lin.weight.chunks_exact(nin))
            .zip(&lin.bias)
        {
            *yo = b as f64 + wo.iter().zip(xr).map(|(&w, &v)| w as f64 * v).sum::<f64>();
        }
    }
    Ok(y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_rows_two_outputs() {
        let lin = Linear {
            in_features: 3,
            out_features: 2,
            weight: vec![1.0, 0.0, -1.0, 0.5, 0.5, 0.5],
            bias: vec![0.25, -0.25],
        };
        let y = forward(&lin, &[1.0, 2.0, 3.0, -2.0, 0.0, 2.0]).ok();
        assert_eq!(
            y,
            Some(vec![0.25 - 2.0, -0.25 + 3.0, 0.25 - 4.0, -0.25 + 0.0])
        );
        assert!(forward(&lin, &[1.0, 2.0]).is_err());
    }
}
