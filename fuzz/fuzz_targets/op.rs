//! `ops::run` on the CPU backend with an op, settings and inputs decoded from arbitrary bytes
//! (through `ddpm_wgpu::fuzzing::op`).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ddpm_wgpu::fuzzing::op(data);
});
