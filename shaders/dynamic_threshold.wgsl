// Dynamic thresholding's per-sample scale, s_b = clamp(torch.quantile(|x0_b|, ratio), 1, max),
// bit for bit as torch computes it for f32, for samples longer than `PER_LANE_MAX_LEN`
// (dynamic_threshold_short.wgsl takes the others). Prepended with common.wgsl, followed by
// shared/dynamic_threshold_scale.wgsl. Host: src/gpu/kernels/dynamic_threshold.rs; CPU twins:
// src/cpu/kernels/dynamic_threshold.rs; tested by tests/dynamic_threshold.rs.
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
// branch taken by one lane costs about what it costs all 256. So: four passes of 8 bits and
// three barriers a pass (the histograms are double-buffered, so that the clear of one overlaps
// the counting into the other); a first version with three passes of 11, 10 and 10 bits over
// 2048-bin histograms and four barriers a pass took 11 ms for [16, 3072] on lavapipe against
// 3.3 ms for this layout. And vec4 loads: the CPU time of [4, 196608] fell from 33 to 23 ms
// against one scalar load an element.

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

// The keys of four consecutive elements of the buffer (the first at flat index e0) and what a
// pass does with them: their digits, and which count for rank lo's and rank hi's histograms
// (their high bits match the prefix and they lie in the sample [first, end)).
struct Classified {
    digits: vec4<u32>,
    lo_hit: vec4<bool>,
    hi_hit: vec4<bool>,
}

fn classify(v: vec4<f32>, e0: u32, first: u32, end: u32, shift: u32, prefix: vec2<u32>, split: bool) -> Classified {
    let keys = bitcast<vec4<u32>>(v) & vec4(0x7fffffffu);
    let e = vec4(e0) + vec4(0u, 1u, 2u, 3u);
    let inside = e >= vec4(first) & e < vec4(end);
    let highs = (keys >> vec4(shift)) >> vec4(DIGIT_BITS);
    return Classified(
        (keys >> vec4(shift)) & vec4(BINS - 1u),
        highs == vec4(prefix.x) & inside,
        highs == vec4(prefix.y) & inside & vec4(split),
    );
}

fn tally(c: Classified, now: u32) {
    if c.lo_hit.x {
        atomicAdd(&hist[now + c.digits.x], 1u);
    }
    if c.lo_hit.y {
        atomicAdd(&hist[now + c.digits.y], 1u);
    }
    if c.lo_hit.z {
        atomicAdd(&hist[now + c.digits.z], 1u);
    }
    if c.lo_hit.w {
        atomicAdd(&hist[now + c.digits.w], 1u);
    }
    if any(c.hi_hit) {
        if c.hi_hit.x {
            atomicAdd(&hist[now + BINS + c.digits.x], 1u);
        }
        if c.hi_hit.y {
            atomicAdd(&hist[now + BINS + c.digits.y], 1u);
        }
        if c.hi_hit.z {
            atomicAdd(&hist[now + BINS + c.digits.z], 1u);
        }
        if c.hi_hit.w {
            atomicAdd(&hist[now + BINS + c.digits.w], 1u);
        }
    }
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
    // Lane 0's ranks within the elements matching the prefixes; every lane's copy of those.
    var k = vec2(params.rank_lo, params.rank_hi);
    var prefix = vec2(0u, 0u);
    for (var level = 0u; level < 4u; level += 1u) {
        // Digit bits [shift, shift + 8); the prefix holds the bits above them (bit 31 is 0).
        let shift = 24u - DIGIT_BITS * level;
        let split = prefix.x != prefix.y;
        let now = (level % 2u) * 2u * BINS;
        let other = 2u * BINS - now;
        // The other buffer was last read before the previous pass's last barrier.
        atomicStore(&hist[other + lid], 0u);
        atomicStore(&hist[other + BINS + lid], 0u);
        // The sample is read as the vec4s of the buffer that overlap it (elements outside it
        // masked by `classify`), three strided vec4s an iteration, then the last (n % 3), then
        // through `values` the few elements past the buffer's last whole vec4. Three an
        // iteration because llvmpipe stops every loop once an invocation has run 65535
        // iterations of all its loops together (measured: two loops of 60000 ran 60000 and
        // 5534 times): four passes of one or two vec4s an iteration would stop short at 2^25
        // values, its largest binding; three need 43692. Measured on lavapipe ([16, 3072] and
        // [4, 196608], ms of CPU): one a lane 2.8 and 19, two 3.2 and 18, three 3.5 and 20;
        // a branch between one and four, though never taken, made the short case 4.1. The
        // loads stay in this loop's body, and the sample's end is spelled out in each call: a
        // helper that loaded and counted, and a `let` for base + sample_len, each made it
        // three to four times slower there.
        let whole = arrayLength(&values4);
        let v0 = base / 4u;
        let v_end = min((base + params.sample_len + 3u) / 4u, whole);
        let q = (v_end - v0) / 3u;
        for (var j = v0 + lid; j < v0 + q; j += WG_SIZE) {
            let x0 = values4[j];
            let x1 = values4[j + q];
            let x2 = values4[j + 2u * q];
            tally(classify(x0, 4u * j, base, base + params.sample_len, shift, prefix, split), now);
            tally(classify(x1, 4u * (j + q), base, base + params.sample_len, shift, prefix, split), now);
            tally(classify(x2, 4u * (j + 2u * q), base, base + params.sample_len, shift, prefix, split), now);
        }
        let r = v0 + 3u * q + lid;
        if r < v_end {
            tally(classify(values4[r], 4u * r, base, base + params.sample_len, shift, prefix, split), now);
        }
        let tail = max(4u * whole, base) + lid;
        if lid < 4u && tail < base + params.sample_len {
            let key = abs_key(values[tail]);
            let digit = (key >> shift) & (BINS - 1u);
            let high = (key >> shift) >> DIGIT_BITS;
            if high == prefix.x {
                atomicAdd(&hist[now + digit], 1u);
            }
            if split && high == prefix.y {
                atomicAdd(&hist[now + BINS + digit], 1u);
            }
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
            let at_lo = find_bin(k.x, now, 0u);
            let hi_first = select(now, now + BINS, split);
            let at_hi = find_bin(k.y, hi_first, select(0u, BINS / GROUP, split));
            k = vec2(at_lo.y, at_hi.y);
            prefixes = vec2((prefix.x << DIGIT_BITS) | at_lo.x, (prefix.y << DIGIT_BITS) | at_hi.x);
        }
        workgroupBarrier();
        prefix = prefixes;
    }
    if lid == 0u {
        // After the last pass the prefixes are the keys of the two order statistics.
        scales[sample] = threshold_scale(params, prefix.x, prefix.y);
    }
}
