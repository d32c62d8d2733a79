// The 3x3 kernel of conv2d.wgsl over one input channel, all nine taps at once, for the weights
// shared across a subgroup (prepended after conv2d_weights_subgroup.wgsl). Each accumulator is
// loaded and stored once for its nine FMAs instead of once per tap: on llvmpipe the 16 x 8 tile
// lives in spill slots, and this order was 1.15x the per-row order on a cifar10 forward
// (src/gpu/nn/conv2d.rs). The additions happen in the same order, so the sums are the same bits.

// One accumulator's nine FMAs: s + w[0] u[0] + ... + w[8] u[8], added in tap order.
fn dot9(s0: vec4<f32>, w: array<vec4<f32>, 9>, u: array<f32, 9>) -> vec4<f32> {
    var s = s0;
    s = fma(w[0], vec4<f32>(u[0]), s);
    s = fma(w[1], vec4<f32>(u[1]), s);
    s = fma(w[2], vec4<f32>(u[2]), s);
    s = fma(w[3], vec4<f32>(u[3]), s);
    s = fma(w[4], vec4<f32>(u[4]), s);
    s = fma(w[5], vec4<f32>(u[5]), s);
    s = fma(w[6], vec4<f32>(u[6]), s);
    s = fma(w[7], vec4<f32>(u[7]), s);
    s = fma(w[8], vec4<f32>(u[8]), s);
    return s;
}

// The nine taps for the whole tile, accumulator by accumulator: tap t's weights wt (channels
// 4q .. 4q + 3 in wt[q]) and inputs vt (pixel p in vt[p]).
fn mac9(
    w0: array<vec4<f32>, 4>, w1: array<vec4<f32>, 4>, w2: array<vec4<f32>, 4>, w3: array<vec4<f32>, 4>, w4: array<vec4<f32>, 4>,
    w5: array<vec4<f32>, 4>, w6: array<vec4<f32>, 4>, w7: array<vec4<f32>, 4>, w8: array<vec4<f32>, 4>,
    v0: array<f32, 8>, v1: array<f32, 8>, v2: array<f32, 8>, v3: array<f32, 8>, v4: array<f32, 8>,
    v5: array<f32, 8>, v6: array<f32, 8>, v7: array<f32, 8>, v8: array<f32, 8>,
) {
    let c0 = array<vec4<f32>, 9>(w0[0], w1[0], w2[0], w3[0], w4[0], w5[0], w6[0], w7[0], w8[0]);
    let c1 = array<vec4<f32>, 9>(w0[1], w1[1], w2[1], w3[1], w4[1], w5[1], w6[1], w7[1], w8[1]);
    let c2 = array<vec4<f32>, 9>(w0[2], w1[2], w2[2], w3[2], w4[2], w5[2], w6[2], w7[2], w8[2]);
    let c3 = array<vec4<f32>, 9>(w0[3], w1[3], w2[3], w3[3], w4[3], w5[3], w6[3], w7[3], w8[3]);
    let u0 = array<f32, 9>(v0[0], v1[0], v2[0], v3[0], v4[0], v5[0], v6[0], v7[0], v8[0]);
    a0[0] = dot9(a0[0], c0, u0);
    a1[0] = dot9(a1[0], c1, u0);
    a2[0] = dot9(a2[0], c2, u0);
    a3[0] = dot9(a3[0], c3, u0);
    let u1 = array<f32, 9>(v0[1], v1[1], v2[1], v3[1], v4[1], v5[1], v6[1], v7[1], v8[1]);
    a0[1] = dot9(a0[1], c0, u1);
    a1[1] = dot9(a1[1], c1, u1);
    a2[1] = dot9(a2[1], c2, u1);
    a3[1] = dot9(a3[1], c3, u1);
    let u2 = array<f32, 9>(v0[2], v1[2], v2[2], v3[2], v4[2], v5[2], v6[2], v7[2], v8[2]);
    a0[2] = dot9(a0[2], c0, u2);
    a1[2] = dot9(a1[2], c1, u2);
    a2[2] = dot9(a2[2], c2, u2);
    a3[2] = dot9(a3[2], c3, u2);
    let u3 = array<f32, 9>(v0[3], v1[3], v2[3], v3[3], v4[3], v5[3], v6[3], v7[3], v8[3]);
    a0[3] = dot9(a0[3], c0, u3);
    a1[3] = dot9(a1[3], c1, u3);
    a2[3] = dot9(a2[3], c2, u3);
    a3[3] = dot9(a3[3], c3, u3);
    let u4 = array<f32, 9>(v0[4], v1[4], v2[4], v3[4], v4[4], v5[4], v6[4], v7[4], v8[4]);
    a0[4] = dot9(a0[4], c0, u4);
    a1[4] = dot9(a1[4], c1, u4);
    a2[4] = dot9(a2[4], c2, u4);
    a3[4] = dot9(a3[4], c3, u4);
    let u5 = array<f32, 9>(v0[5], v1[5], v2[5], v3[5], v4[5], v5[5], v6[5], v7[5], v8[5]);
    a0[5] = dot9(a0[5], c0, u5);
    a1[5] = dot9(a1[5], c1, u5);
    a2[5] = dot9(a2[5], c2, u5);
    a3[5] = dot9(a3[5], c3, u5);
    let u6 = array<f32, 9>(v0[6], v1[6], v2[6], v3[6], v4[6], v5[6], v6[6], v7[6], v8[6]);
    a0[6] = dot9(a0[6], c0, u6);
    a1[6] = dot9(a1[6], c1, u6);
    a2[6] = dot9(a2[6], c2, u6);
    a3[6] = dot9(a3[6], c3, u6);
    let u7 = array<f32, 9>(v0[7], v1[7], v2[7], v3[7], v4[7], v5[7], v6[7], v7[7], v8[7]);
    a0[7] = dot9(a0[7], c0, u7);
    a1[7] = dot9(a1[7], c1, u7);
    a2[7] = dot9(a2[7], c2, u7);
    a3[7] = dot9(a3[7], c3, u7);
}

// With ROWS: the input row `iy` of this lane's tile as the lane x_tiles before holds it one
// row further down (that lane's output row is the one above), or loaded where that lane is
// not the row above in the same sample (`top`: the subgroup's first x_tiles lanes, or a
// sample's first output row). The host sets ROWS only with HALO and at most 4 tiles a row, so
// a subgroup holds whole rows. Stride 1: values 0-9.
fn row_above(q: array<f32, 17>, plane: u32, iy: i32, ix0: i32, top: bool) -> array<f32, 17> {
    let d = p.x_tiles;
    var o: array<f32, 17>;
    o[0] = subgroupShuffleUp(q[0], d);
    o[1] = subgroupShuffleUp(q[1], d);
    o[2] = subgroupShuffleUp(q[2], d);
    o[3] = subgroupShuffleUp(q[3], d);
    o[4] = subgroupShuffleUp(q[4], d);
    o[5] = subgroupShuffleUp(q[5], d);
    o[6] = subgroupShuffleUp(q[6], d);
    o[7] = subgroupShuffleUp(q[7], d);
    o[8] = subgroupShuffleUp(q[8], d);
    o[9] = subgroupShuffleUp(q[9], d);
    if top {
        fill_row(plane, iy, ix0);
        o = r;
    }
    return o;
}

// The 3x3 kernel over input channel plane `plane`: its three input rows, then all nine taps.
// With ROWS every lane loads only the bottom row (the others come from the lanes above,
// `row_above`), except where the row above is not in the subgroup or not in the sample.
fn conv3x3(plane: u32, iy0: i32, ix0: i32, wbase: u32, cp4: u32) {
    var ra: array<f32, 17>;
    var rb: array<f32, 17>;
    var rc: array<f32, 17>;
    if ROWS {
        fill_row(plane, iy0 + 2, ix0);
        rc = r;
        // iy0 < 0: output row 0 of its sample (stride 1, padding 1).
        let top = subgroup_lane < p.x_tiles || iy0 < 0;
        rb = row_above(rc, plane, iy0 + 1, ix0, top);
        ra = row_above(rb, plane, iy0, ix0, top);
    } else {
        fill_row(plane, iy0, ix0);
        ra = r;
        fill_row(plane, iy0 + 1, ix0);
        rb = r;
        fill_row(plane, iy0 + 2, ix0);
        rc = r;
    }
    let w01 = tap_pair(wbase, cp4);
    let w23 = tap_pair(wbase + 2u * cp4, cp4);
    let w45 = tap_pair(wbase + 4u * cp4, cp4);
    let w67 = tap_pair(wbase + 6u * cp4, cp4);
    mac9(
        w01[0], w01[1], w23[0], w23[1], w45[0], w45[1], w67[0], w67[1], tap_weights(wbase + 8u * cp4),
        taps8(ra, 0u), taps8(ra, 1u), taps8(ra, 2u),
        taps8(rb, 0u), taps8(rb, 1u), taps8(rb, 2u),
        taps8(rc, 0u), taps8(rc, 1u), taps8(rc, 2u),
    );
}

// One accumulator's four FMAs of a 1x1 conv over four input channels, in channel order.
fn dot4(s0: vec4<f32>, w: array<vec4<f32>, 4>, u: array<f32, 4>) -> vec4<f32> {
    var s = s0;
    s = fma(w[0], vec4<f32>(u[0]), s);
    s = fma(w[1], vec4<f32>(u[1]), s);
    s = fma(w[2], vec4<f32>(u[2]), s);
    s = fma(w[3], vec4<f32>(u[3]), s);
    return s;
}

// Four input channels of a 1x1 conv, accumulator by accumulator (as the nine taps of a 3x3:
// each spilled accumulator loaded and stored once for its four FMAs), the weights of two
// channels per vec4 load (`tap_pair`). The sums are added in channel order, as one by one.
fn conv1x1_4(plane: u32, in_plane: u32, x0: u32, wrow: u32, cp4: u32) {
    let v0 = row1x1(plane, x0);
    let v1 = row1x1(plane + in_plane, x0);
    let v2 = row1x1(plane + 2u * in_plane, x0);
    let v3 = row1x1(plane + 3u * in_plane, x0);
    let w01 = tap_pair(wrow, cp4);
    let w23 = tap_pair(wrow + 2u * cp4, cp4);
    let c0 = array<vec4<f32>, 4>(w01[0][0], w01[1][0], w23[0][0], w23[1][0]);
    let c1 = array<vec4<f32>, 4>(w01[0][1], w01[1][1], w23[0][1], w23[1][1]);
    let c2 = array<vec4<f32>, 4>(w01[0][2], w01[1][2], w23[0][2], w23[1][2]);
    let c3 = array<vec4<f32>, 4>(w01[0][3], w01[1][3], w23[0][3], w23[1][3]);
    let u0 = array<f32, 4>(v0[0], v1[0], v2[0], v3[0]);
    a0[0] = dot4(a0[0], c0, u0);
    a1[0] = dot4(a1[0], c1, u0);
    a2[0] = dot4(a2[0], c2, u0);
    a3[0] = dot4(a3[0], c3, u0);
    let u1 = array<f32, 4>(v0[1], v1[1], v2[1], v3[1]);
    a0[1] = dot4(a0[1], c0, u1);
    a1[1] = dot4(a1[1], c1, u1);
    a2[1] = dot4(a2[1], c2, u1);
    a3[1] = dot4(a3[1], c3, u1);
    let u2 = array<f32, 4>(v0[2], v1[2], v2[2], v3[2]);
    a0[2] = dot4(a0[2], c0, u2);
    a1[2] = dot4(a1[2], c1, u2);
    a2[2] = dot4(a2[2], c2, u2);
    a3[2] = dot4(a3[2], c3, u2);
    let u3 = array<f32, 4>(v0[3], v1[3], v2[3], v3[3]);
    a0[3] = dot4(a0[3], c0, u3);
    a1[3] = dot4(a1[3], c1, u3);
    a2[3] = dot4(a2[3], c2, u3);
    a3[3] = dot4(a3[3], c3, u3);
    let u4 = array<f32, 4>(v0[4], v1[4], v2[4], v3[4]);
    a0[4] = dot4(a0[4], c0, u4);
    a1[4] = dot4(a1[4], c1, u4);
    a2[4] = dot4(a2[4], c2, u4);
    a3[4] = dot4(a3[4], c3, u4);
    let u5 = array<f32, 4>(v0[5], v1[5], v2[5], v3[5]);
    a0[5] = dot4(a0[5], c0, u5);
    a1[5] = dot4(a1[5], c1, u5);
    a2[5] = dot4(a2[5], c2, u5);
    a3[5] = dot4(a3[5], c3, u5);
    let u6 = array<f32, 4>(v0[6], v1[6], v2[6], v3[6]);
    a0[6] = dot4(a0[6], c0, u6);
    a1[6] = dot4(a1[6], c1, u6);
    a2[6] = dot4(a2[6], c2, u6);
    a3[6] = dot4(a3[6], c3, u6);
    let u7 = array<f32, 4>(v0[7], v1[7], v2[7], v3[7]);
    a0[7] = dot4(a0[7], c0, u7);
    a1[7] = dot4(a1[7], c1, u7);
    a2[7] = dot4(a2[7], c2, u7);
    a3[7] = dot4(a3[7], c3, u7);
}
