// Dynamic thresholding's per-sample scale, s_b = clamp(torch.quantile(|x0_b|, ratio), 1, max),
// bit for bit as torch computes it for f32, for samples longer than `PER_LANE_MAX_LEN`
// (dynamic_threshold_short.wgsl takes the others). Prepended with common.wgsl, followed by
// shared/dynamic_threshold_scale.wgsl. Host: src/gpu/dynamic_threshold.rs; CPU twins:
// src/cpu/dynamic_threshold.rs; tested by tests/dynamic_threshold.rs.
//
// Workgroup w owns sample w (x + y * width of a 2-D grid past the per-dimension limit). The two
// order statistics are selected exactly by a radix select over the bits of |x|: four passes
// over the sample, 8 bits each (bit 31 is 0, so the first pass has 128 bins). Each pass counts
// the digit of every element whose higher bits match the prefix selected so far into a
// workgroup histogram; lanes 0..31 sum groups of 16 bins; lane 0 walks the group sums, then the
// bins of its group, to the bin holding the wanted rank. Ranks lo and hi (= lo or lo + 1) share
// a histogram until their prefixes differ, then the second counts into its own half.
//
// On llvmpipe each barrier is a coroutine switch, a lane-indexed load runs lane by lane, and a
// branch taken by one lane costs about what it costs all 256: so four passes of 8 bits (not 31
// of 1, nor 3 of 11 with 2048-bin histograms, whose sums and clears cost more than the saved
// pass at 3072 values), three barriers a pass (the histograms are double-buffered so that the
// clear of one overlaps the counting into the other), and vec4 loads (the CPU time of
// [4, 196608] fell from 33 to 23 ms on lavapipe against scalar loads).

@group(0) @binding(0) var<uniform> params: ThresholdParams;
@group(0) @binding(1) var<storage, read> values: array<f32>;
@group(0) @binding(2) var<storage, read_write> scales: array<f32>;
// The same buffer as `values`, read four elements at a time.
@group(0) @binding(3) var<storage, read> values4: array<vec4<f32>>;

const DIGIT_BITS: u32 = 8u;
const BINS: u32 = 256u;
const GROUP: u32 = 16u; // bins per group sum
// Two buffers (by pass parity) of two histograms: [0, 256) for rank lo's prefix, [256, 512) for
// rank hi's once the prefixes differ.
var<workgroup> hist: array<atomic<u32>, 1024>;
var<workgroup> group_sums: array<u32, 32>;
// Lane 0's selection after each pass: the prefixes of ranks lo and hi.
var<workgroup> prefixes: vec2<u32>;

// The bin (of the 256-bin histogram starting at `first`) holding the element of rank k, and that
// element's rank within the bin: vec2(bin - first, rank). Group sums [g0, g0 + 16) cover the
// histogram. Stops at the last group and bin, so a count that does not hold k cannot run off.
fn find_bin(k: u32, first: u32, g0: u32) -> vec2<u32> {
    var rem = k;
    var g = g0;
    loop {
        let n = group_sums[g];
        if rem < n || g == g0 + BINS / GROUP - 1u {
            break;
        }
        rem -= n;
        g += 1u;
    }
    var bin = (g - g0) * GROUP;
    loop {
        let n = atomicLoad(&hist[first + bin]);
        if rem < n || bin % GROUP == GROUP - 1u {
            break;
        }
        rem -= n;
        bin += 1u;
    }
    return vec2(bin, rem);
}

// Count one key: into the lower histogram if its high bits match rank lo's prefix, into the
// upper one if they match rank hi's (once split).
fn count_key(key: u32, shift: u32, now: u32, prefix: vec2<u32>, split: bool) {
    let digit = (key >> shift) & (BINS - 1u);
    let high = (key >> shift) >> DIGIT_BITS;
    if high == prefix.x {
        atomicAdd(&hist[now + digit], 1u);
    }
    if split && high == prefix.y {
        atomicAdd(&hist[now + BINS + digit], 1u);
    }
}

// What the passes hand on: every lane's copy of the prefixes selected so far, and (lane 0's)
// ranks within the elements matching them.
struct Selection {
    prefix: vec2<u32>,
    k: vec2<u32>,
}

// The elements of one pass's sample that lie in the vec4 `v` of the buffer (elements
// [first, end) belong to the sample).
fn count_vec4(v: u32, first: u32, end: u32, shift: u32, now: u32, prefix: vec2<u32>, split: bool) {
    let x = values4[v];
    let e = 4u * v;
    let inside = vec4(e, e + 1u, e + 2u, e + 3u) >= vec4(first) & vec4(e, e + 1u, e + 2u, e + 3u) < vec4(end);
    if inside.x {
        count_key(abs_key(x.x), shift, now, prefix, split);
    }
    if inside.y {
        count_key(abs_key(x.y), shift, now, prefix, split);
    }
    if inside.z {
        count_key(abs_key(x.z), shift, now, prefix, split);
    }
    if inside.w {
        count_key(abs_key(x.w), shift, now, prefix, split);
    }
}

// Pass `level` of the radix select over the sample [base, base + sample_len): digit bits
// [shift, shift + 8). The sample is read as the vec4s of the buffer that overlap it (elements
// outside it masked), four vec4s an iteration, plus through `values` the last few elements of a
// buffer whose length is not a multiple of 4. Why four vec4s an iteration and four calls rather
// than a loop over passes: llvmpipe stops every loop after 65535 iterations of all the loops an
// invocation has run (measured: two loops of 60000 ran 60000 and 5534 times), so the passes
// together must stay below that: 4 x 2^25 / 4096 = 32768 at its largest binding of 2^25 values.
fn radix_pass(lid: u32, base: u32, level: u32, sel: ptr<function, Selection>) {
    let shift = 24u - DIGIT_BITS * level;
    let prefix = (*sel).prefix;
    let split = prefix.x != prefix.y;
    let now = (level % 2u) * 2u * BINS;
    let other = 2u * BINS - now;
    // The other buffer was last read before the previous pass's last barrier.
    atomicStore(&hist[other + lid], 0u);
    atomicStore(&hist[other + BINS + lid], 0u);
    let end = base + params.sample_len;
    let whole = arrayLength(&values4); // vec4s wholly inside the buffer
    let v0 = base / 4u;
    let v_end = min((end + 3u) / 4u, whole);
    let q = (v_end - v0) / 4u;
    for (var j = lid; j < q; j += WG_SIZE) {
        count_vec4(v0 + j, base, end, shift, now, prefix, split);
        count_vec4(v0 + j + q, base, end, shift, now, prefix, split);
        count_vec4(v0 + j + 2u * q, base, end, shift, now, prefix, split);
        count_vec4(v0 + j + 3u * q, base, end, shift, now, prefix, split);
    }
    // The last (v_end - v0) % 4 vec4s, then the elements past the buffer's last whole vec4.
    if v0 + 4u * q + lid < v_end {
        count_vec4(v0 + 4u * q + lid, base, end, shift, now, prefix, split);
    }
    let tail = max(4u * whole, base) + lid;
    if lid < 4u && tail < end {
        count_key(abs_key(values[tail]), shift, now, prefix, split);
    }
    workgroupBarrier();
    if lid < 2u * BINS / GROUP {
        var sum = 0u;
        for (var i = 0u; i < GROUP; i += 1u) {
            sum += atomicLoad(&hist[now + lid * GROUP + i]);
        }
        group_sums[lid] = sum;
    }
    workgroupBarrier();
    if lid == 0u {
        let k = (*sel).k;
        let at_lo = find_bin(k.x, now, 0u);
        let hi_first = select(now, now + BINS, split);
        let at_hi = find_bin(k.y, hi_first, select(0u, BINS / GROUP, split));
        (*sel).k = vec2(at_lo.y, at_hi.y);
        prefixes = vec2((prefix.x << DIGIT_BITS) | at_lo.x, (prefix.y << DIGIT_BITS) | at_hi.x);
    }
    workgroupBarrier();
    (*sel).prefix = prefixes;
}

@compute @workgroup_size(WG_SIZE)
fn main(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let sample = wid.x + wid.y * nwg.x;
    if sample >= params.n_samples {
        return; // uniform per workgroup, so the barriers below stay in uniform control flow
    }
    let base = sample * params.sample_len;
    var sel = Selection(vec2(0u, 0u), vec2(params.rank_lo, params.rank_hi));
    radix_pass(lid, base, 0u, &sel);
    radix_pass(lid, base, 1u, &sel);
    radix_pass(lid, base, 2u, &sel);
    radix_pass(lid, base, 3u, &sel);
    if lid == 0u {
        // After the last pass the prefixes are the keys of the two order statistics.
        scales[sample] = threshold_scale(params, sel.prefix.x, sel.prefix.y);
    }
}
