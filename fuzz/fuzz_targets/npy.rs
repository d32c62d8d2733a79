//! `npy::parse` on arbitrary bytes (through `ddpm_wgpu::fuzzing::npy`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = ddpm_wgpu::fuzzing::npy(data) {
        panic!("{broken}");
    }
});
