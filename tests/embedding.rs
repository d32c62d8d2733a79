//! An application that owns its device: the library works on it without creating its own,
//! records into the application's encoder, and reports bad input as errors, not panics.

mod common;
use ddpm_wgpu::gpu::{self, Context, GpuSteps, GpuTables, GpuTensor};
use ddpm_wgpu::{Error, ScheduleKind, Tables};

fn app_device() -> Option<(wgpu::Device, wgpu::Queue)> {
    // The application's own adapter choice: whatever the default request gives.
    let instance =
        wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
    let adapter = pollster::block_on(instance.request_adapter(&Default::default())).ok()?;
    pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
        label: Some("application device"),
        required_limits: adapter.limits(),
        ..Default::default()
    }))
    .ok()
}

#[test]
fn kernels_run_on_an_application_device() {
    if common::gpu().is_none() {
        return;
    }
    let Some((device, queue)) = app_device() else {
        panic!("an adapter exists but the default request found none");
    };
    let ctx = Context::from_device(device, queue);
    let tables = Tables::from_schedule(ScheduleKind::Linear, 1e-4, 0.02, 1000).unwrap();
    let gt = GpuTables::new(&ctx, &tables).unwrap();
    let t = GpuSteps::new(&ctx, &gt, &[0, 999]).unwrap();
    let x0 = GpuTensor::from_slice(&ctx, &[2, 3], &[1.0, -1.0, 0.5, 0.0, 0.25, -0.75]).unwrap();
    let noise = GpuTensor::from_slice(&ctx, &[2, 3], &[0.1, 0.2, -0.3, 1.0, -2.0, 6.0]).unwrap();
    let mut enc = ctx.encoder();
    let xt = gpu::q_sample(&ctx, &mut enc, &gt, &t, &x0, &noise).unwrap();
    ctx.submit(enc).unwrap();
    let got = xt.to_vec(&ctx).unwrap();
    let want = ddpm_wgpu::cpu::q_sample(
        &tables,
        &[0, 999],
        3,
        &[1.0, -1.0, 0.5, 0.0, 0.25, -0.75],
        &[0.1, 0.2, -0.3, 1.0, -2.0, 6.0],
    )
    .unwrap();
    for (g, w) in got.iter().zip(&want) {
        assert!(
            (*g as f64 - w).abs() <= 1e-6 * w.abs().max(1.0),
            "{g} vs {w}"
        );
    }

    // Bad input through the device API: typed errors, no panic, nothing recorded.
    assert!(matches!(
        GpuSteps::new(&ctx, &gt, &[1000]),
        Err(Error::TimestepOutOfRange { value: 1000, .. })
    ));
    let wrong = GpuTensor::from_slice(&ctx, &[2, 4], &[0.0; 8]).unwrap();
    let mut enc = ctx.encoder();
    assert!(matches!(
        gpu::q_sample(&ctx, &mut enc, &gt, &t, &x0, &wrong),
        Err(Error::ShapeMismatch(_))
    ));
    let one = GpuSteps::new(&ctx, &gt, &[5]).unwrap();
    assert!(matches!(
        gpu::q_sample(&ctx, &mut enc, &gt, &one, &x0, &noise),
        Err(Error::ShapeMismatch(_))
    ));
    assert!(matches!(
        GpuTensor::from_slice(&ctx, &[0, 3], &[]),
        Err(Error::ShapeMismatch(_))
    ));
    let too_big = ctx.limits().max_storage_buffer_binding_size / 4 + 1;
    assert!(matches!(
        GpuTensor::zeros(&ctx, &[too_big as usize]),
        Err(Error::BufferTooLarge { .. })
    ));
}
