// The weights of conv2d.wgsl, read per invocation: [K][cout_padded / 4] vec4s, the four of a
// tap for the tile's 16 channels loaded by every lane.

@group(0) @binding(2) var<storage, read> wt: array<act4>;

fn weights_init() {}

// The edge values of a row from the neighbouring lanes: the host sets HALO only for the
// subgroup kernel, so these are never called here.
fn halo_left(v: f32, ok: bool) -> f32 {
    return select(0.0, v, ok);
}

fn halo_right(v: f32, ok: bool) -> f32 {
    return select(0.0, v, ok);
}

// Every invocation loads its own weights: an idle one can leave.
fn skip_idle(has_work: bool) -> bool {
    return !has_work;
}

// Channels 0-3, 4-7, 8-11 and 12-15 of the tile for weight row `row4` (in vec4s).
fn tap_weights(row4: u32) -> array<vec4<f32>, 4> {
    return array<vec4<f32>, 4>(
        vec4<f32>(wt[row4]),
        vec4<f32>(wt[row4 + 1u]),
        vec4<f32>(wt[row4 + 2u]),
        vec4<f32>(wt[row4 + 3u]),
    );
}

// The 3x3 kernel over one input channel, a kernel row at a time: 16 weights live at once, which
// keeps register use down where the weights are the lane's own loads.
fn conv3x3(plane: u32, iy0: i32, ix0: i32, wbase: u32, cp4: u32) {
    conv_row(plane, iy0, ix0, wbase, cp4);
    conv_row(plane, iy0 + 1, ix0, wbase + 3u * cp4, cp4);
    conv_row(plane, iy0 + 2, ix0, wbase + 6u * cp4, cp4);
}

// Four input channels of a 1x1 conv (planes `plane` + k `in_plane`, weight rows `wrow` +
// k `cp4`), one after the other.
fn conv1x1_4(plane: u32, in_plane: u32, x0: u32, wrow: u32, cp4: u32) {
    mac(tap_weights(wrow), row1x1(plane, x0));
    mac(tap_weights(wrow + cp4), row1x1(plane + in_plane, x0));
    mac(tap_weights(wrow + 2u * cp4), row1x1(plane + 2u * in_plane, x0));
    mac(tap_weights(wrow + 3u * cp4), row1x1(plane + 3u * in_plane, x0));
}
