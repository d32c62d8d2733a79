//! The bandwidth yardstick copies exactly, at sizes not multiples of the workgroup.

mod common;
use ddpm_wgpu::check::Gen;
use ddpm_wgpu::gpu::{kernels::bandwidth_copy::bandwidth_copy, GpuTensor};

#[test]
fn copies_exactly() {
    let Some(ctx) = common::gpu() else { return };
    // Around one invocation's two vec4s (8), one workgroup's 256 and 512 vec4s (1024, 2048).
    for n in [4usize, 8, 12, 1020, 1028, 2044, 2052, 1 << 16] {
        let src = Gen::new(n as u64).vec(n, Gen::normal);
        let a = GpuTensor::from_slice(&ctx, &[n], &src).unwrap();
        let b = GpuTensor::zeros(&ctx, &[n]).unwrap();
        let mut enc = ctx.encoder();
        bandwidth_copy(&ctx, &mut enc, &a, &b).unwrap();
        ctx.submit(enc).unwrap();
        assert_eq!(
            b.to_vec(&ctx).unwrap(),
            ddpm_wgpu::cpu::kernels::bandwidth_copy::bandwidth_copy(&src)
        );
    }
    // Rows of workgroups: over 9 workgroups' worth (512 vec4s each) on a device that allows 8 per
    // dimension.
    let Some(small) = common::small_grid_gpu() else {
        return;
    };
    let n = 9 * 512 * 4 + 4;
    let src = Gen::new(7).vec(n, Gen::normal);
    let a = GpuTensor::from_slice(&small, &[n], &src).unwrap();
    let b = GpuTensor::zeros(&small, &[n]).unwrap();
    let mut enc = small.encoder();
    bandwidth_copy(&small, &mut enc, &a, &b).unwrap();
    small.submit(enc).unwrap();
    assert_eq!(b.to_vec(&small).unwrap(), src);
    let odd = GpuTensor::zeros(&ctx, &[6]).unwrap();
    assert!(bandwidth_copy(&ctx, &mut ctx.encoder(), &odd, &odd).is_err());
}
