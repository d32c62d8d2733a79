// The fused epilogue every conv kernel runs on one output (channel o, pixel pix of sample b):
// + bias, + temb[b, o] (TEMB, the resnets' time embedding), then (res + .) / out_scale
// (RESIDUAL: shortcut or attention residual, output_scale_factor); with SPLIT the channels
// from `split` on go to dst2 (learned variance's model_var). Prepended to conv2d.wgsl and
// conv2d_tiled.wgsl, whose own declarations it reads: their uniform `p` (ConvParams or
// TiledConvParams, the same field names), `bias`, `temb`, `res`, `dst`, `dst2` and the
// override flags. `dst_shift` moves the main output (conv2d.wgsl's product rows).

fn conv_epilogue(b: u32, o: u32, pix: u32, dst_shift: u32, acc: f32) {
    var v = acc + f32(bias[o]);
    if TEMB {
        v += f32(temb[b * p.temb_stride + p.temb_offset + o]);
    }
    let plane = p.oh * p.ow;
    if RESIDUAL {
        v = (f32(res[p.res_offset + b * p.res_bstride + o * plane + pix]) + v) / p.out_scale;
    }
    if SPLIT && o >= p.split {
        dst2[p.out2_offset + b * p.out2_bstride + (o - p.split) * plane + pix] = act(v);
    } else {
        dst[p.out_offset + dst_shift + b * p.out_bstride + o * plane + pix] = act(v);
    }
}
