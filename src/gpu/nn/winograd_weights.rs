//! Winograd F(2x2, 3x3)'s weight transform, made once when a conv is uploaded (conv2d.rs): the
//! 16 transformed weights U = G g G^T of every (out, in) pair, in f64, for the products that
//! winograd.rs runs as 16 1x1 convs. Apart from winograd.rs, which imports conv2d.rs.

/// G of F(2x2, 3x3): U = G g G^T.
const G: [[f64; 3]; 4] = [
    [1.0, 0.0, 0.0],
    [0.5, 0.5, 0.5],
    [0.5, -0.5, 0.5],
    [0.0, 0.0, 1.0],
];

/// The 16 transformed weights of every (out, in) pair of `weight` ([out][in][3][3]), as
/// [xi][in][cout_padded] (xi = 4 row + column of U), zero in the padding channels.
pub(super) fn transform_weights(
    weight: &[f32],
    cin: usize,
    cout: usize,
    cout_padded: usize,
) -> Vec<f32> {
    let mut u = vec![0.0f32; 16 * cin * cout_padded];
    for o in 0..cout {
        for i in 0..cin {
            let g = &weight[(o * cin + i) * 9..][..9];
            // G g (4 x 3), then (G g) G^T (4 x 4), in f64.
            let mut gg = [[0.0f64; 3]; 4];
            for (r, row) in G.iter().enumerate() {
                for c in 0..3 {
                    gg[r][c] = (0..3).map(|k| row[k] * g[k * 3 + c] as f64).sum();
                }
            }
            for r in 0..4 {
                for (c, grow) in G.iter().enumerate() {
                    let v: f64 = (0..3).map(|k| gg[r][k] * grow[k]).sum();
                    u[((r * 4 + c) * cin + i) * cout_padded + o] = v as f32;
                }
            }
        }
    }
    u
}
