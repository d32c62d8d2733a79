//! The U-Net's model-folder loader on arbitrary bytes (through
//! `harness::model_folder`): config, safetensors, scheduler config.
#![no_main]

// The entry points, shared with tests/fuzz_corpus.rs, which replays the corpus through them.
#[path = "../harness.rs"]
#[allow(dead_code)] // each target calls one of the three
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::model_folder(data);
});
