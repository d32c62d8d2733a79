//! The U-Net's model-folder loader on arbitrary bytes (through
//! `ddpm_wgpu::fuzzing::model_folder`): config, safetensors, scheduler config.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ddpm_wgpu::fuzzing::model_folder(data);
});
