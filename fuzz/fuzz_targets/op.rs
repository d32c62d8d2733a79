//! `ops::run` on the CPU backend with an op, settings and inputs decoded from arbitrary bytes
//! (through `harness::op`).
#![no_main]

// The entry points, shared with tests/fuzz_corpus.rs, which replays the corpus through them.
#[path = "../harness.rs"]
#[allow(dead_code)] // each target calls one of the three
mod harness;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    harness::op(data);
});
