//! Philox4x32-10: Random123's known answers on the CPU, and the WGSL generator equal to the
//! Rust one bit for bit.

mod common;
use ddpm_wgpu::cpu::kernels::philox_bits::{philox4x32_10, philox_bits};
use ddpm_wgpu::gpu;

/// Random123's published known-answer vectors (kat_vectors) for Philox4x32-10.
#[test]
fn random123_known_answers() {
    assert_eq!(
        philox4x32_10([0; 4], [0; 2]),
        [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
    );
    assert_eq!(
        philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
        [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
    );
    assert_eq!(
        philox4x32_10(
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0]
        ),
        [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
    );
}

#[test]
fn gpu_stream_is_bit_identical_to_rust() {
    let Some(ctx) = common::gpu() else { return };
    // Seeds with both halves set, every stream, steps and sample offsets up to the u32 range,
    // sizes that are not multiples of the workgroup.
    for (seed, stream, step, first, batch, len) in [
        (0u64, 0u32, 0u32, 0u32, 1usize, 1usize),
        (42, 1, 999, 0, 3, 257),
        (0xDEAD_BEEF_0123_4567, 2, 17, 1_000_000, 2, 1000),
        (u64::MAX, 1, u32::MAX, u32::MAX - 5, 5, 3),
    ] {
        let got = gpu::philox_bits(&ctx, seed, stream, step, first, batch, len).unwrap();
        for (i, g) in got.iter().enumerate() {
            let want = philox_bits(
                seed,
                stream,
                step,
                first + (i / len) as u32,
                (i % len) as u32,
            );
            assert_eq!(
                *g, want,
                "seed {seed:#x} stream {stream} step {step} element {i}"
            );
        }
    }
}
