// A linear layer over rows (host: src/gpu/nn/linear.rs; CPU twin: src/cpu/nn/linear.rs):
// y[r, o] = bias[o] + sum_i w[o, i] x[r, i], then SiLU with SILU. With GATHER, row r of x is
// row t[t_offset + r] of a table (the time embedding's sinusoid, one row per training timestep,
// computed in f64 on the host; the timestep is clamped below T so a bad t cannot read out of
// bounds). With CLASS_ROW (not with GATHER), row labels[t_offset + r] of a class table
// ([num_timesteps, out_features], the label clamped the same way) is added before the SiLU:
// diffusers' emb = time_embedding(t) + class_embedding(label). One invocation per output; the
// time MLP and projections are a few MFLOP per sample.

override GATHER: bool = false;
override SILU: bool = false;
override CLASS_ROW: bool = false;

@group(0) @binding(0) var<uniform> p: LinearParams;
@group(0) @binding(1) var<storage, read> src: array<act>;
@group(0) @binding(2) var<storage, read> w: array<act>;
@group(0) @binding(3) var<storage, read> bias: array<act>;
@group(0) @binding(4) var<storage, read> timesteps: array<u32>;
@group(0) @binding(5) var<storage, read_write> dst: array<act>;
@group(0) @binding(6) var<storage, read> classes: array<act>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let i = gid.x;
    if i >= p.rows * p.out_features {
        return;
    }
    let r = i / p.out_features;
    let o = i % p.out_features;
    var row = r;
    if GATHER {
        row = min(timesteps[p.t_offset + r], p.num_timesteps - 1u);
    }
    let x = row * p.in_features;
    let wo = o * p.in_features;
    var acc = 0.0;
    for (var k = 0u; k < p.in_features; k++) {
        acc = fma(f32(w[wo + k]), f32(src[x + k]), acc);
    }
    var y = acc + f32(bias[o]);
    if CLASS_ROW {
        let label = min(timesteps[p.t_offset + r], p.num_timesteps - 1u);
        y += f32(classes[label * p.out_features + o]);
    }
    if SILU {
        y = silu(y);
    }
    dst[i] = act(y);
}
