//! `npy::parse` on arbitrary bytes (through `harness::npy`).
#![no_main]

// The entry points, shared with tests/fuzz_corpus.rs, which replays the corpus through them.
#[path = "../harness.rs"]
#[allow(dead_code)] // each target calls one of the three
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Err(broken) = harness::npy(data) {
        panic!("{broken}");
    }
});
