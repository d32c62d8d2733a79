//! The fuzzers' findings on every `cargo test`, no nightly needed: the committed corpus and the
//! crash inputs of `fuzz/` replayed through the same functions the targets call
//! (`fuzz/harness.rs`, included here by path), and a seeded property test of a few thousand random mutations of
//! valid .npy files, and the model-folder corpus (seeded with tiny diffusers model folders).

use ddpm_wgpu::check::Gen;
use ddpm_wgpu::npy::{self, NpyData};
use std::path::{Path, PathBuf};

// The fuzz targets' entry points: one file, included by the targets and here, so that nothing
// of it is part of the library.
#[path = "../fuzz/harness.rs"]
mod fuzzing;

fn files(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz").join(dir);
    let mut v: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

#[test]
fn the_npy_corpus_and_crashes_replay_cleanly() {
    let corpus = files("corpus/npy");
    let crashes = files("regressions/npy");
    assert!(corpus.len() >= 20, "{} corpus files", corpus.len());
    assert!(!crashes.is_empty());
    for path in corpus.iter().chain(&crashes) {
        let data = std::fs::read(path).unwrap();
        fuzzing::npy(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
    // The byte count that overflowed is now refused, not wrapped.
    let overflow = std::fs::read(
        crashes
            .iter()
            .find(|p| p.ends_with("byte-count-overflow"))
            .unwrap(),
    );
    let err = npy::parse(&overflow.unwrap()).unwrap_err();
    assert!(err.contains("needs"), "{err}");
}

#[test]
fn the_model_folder_corpus_replays_cleanly() {
    let corpus = files("corpus/model_folder");
    assert!(corpus.len() >= 6, "{} corpus files", corpus.len());
    for path in &corpus {
        fuzzing::model_folder(&std::fs::read(path).unwrap());
    }
}

/// The committed U-Net fixtures, laid out as the model-folder target reads them and then cut
/// at many lengths: every prefix of a real folder is a typed error or a model, never a panic.
#[test]
fn truncated_model_folders_are_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/unet/cifar10_tiny");
    let read = |f: &str| std::fs::read(root.join(f)).unwrap();
    let (config, weights, scheduler) = (
        read("config.json"),
        read("diffusion_pytorch_model.safetensors"),
        read("scheduler_config.json"),
    );
    let whole = fuzzing::model_folder_input(&config, &weights, Some(&scheduler));
    let mut g = Gen::new(3);
    for _ in 0..200 {
        let cut = (g.next_u64() as usize) % whole.len();
        fuzzing::model_folder(&whole[..cut]);
    }
    fuzzing::model_folder(&whole);
}

#[test]
fn the_op_corpus_and_crashes_replay_cleanly() {
    let corpus = files("corpus/op");
    assert!(corpus.len() >= 20, "{} corpus files", corpus.len());
    for path in &corpus {
        fuzzing::op(&std::fs::read(path).unwrap());
    }
}

/// A valid .npy of a random dtype, byte order, format version and shape (up to 4-D, some
/// dimensions 0), written by hand as numpy lays it out.
fn valid_npy(g: &mut Gen) -> Vec<u8> {
    let pick = |g: &mut Gen, n: u64| (g.next_u64() % n) as usize;
    let rank = pick(g, 5);
    let shape: Vec<usize> = (0..rank).map(|_| pick(g, 4)).collect();
    let count: usize = shape.iter().product();
    let (code, width) = [("f4", 4), ("f8", 8), ("i4", 4), ("i8", 8)][pick(g, 4)];
    let order = ["<", ">", "|", "="][pick(g, 4)];
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{order}{code}', 'fortran_order': False, 'shape': {shape_text}, }}");
    let version = 1 + pick(g, 3) as u8;
    let prefix = if version == 1 { 10 } else { 12 };
    while !(prefix + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut b = b"\x93NUMPY".to_vec();
    b.extend_from_slice(&[version, 0]);
    if version == 1 {
        b.extend_from_slice(&(header.len() as u16).to_le_bytes());
    } else {
        b.extend_from_slice(&(header.len() as u32).to_le_bytes());
    }
    b.extend_from_slice(header.as_bytes());
    for _ in 0..count * width {
        b.push(g.next_u64() as u8);
    }
    b
}

/// Shapes at the edges of the byte count: 2^61 f8 elements overflow u64 bytes exactly, u64::MAX
/// elements overflow at once, a zero beside a huge dimension is empty.
const EDGE_SHAPES: [&str; 5] = [
    "2305843009213693952,",
    "4611686018427387904, 4",
    "18446744073709551615,",
    "0, 18446744073709551615",
    "-1,",
];

/// Replace the shape tuple's contents with `text`, if the header has one.
fn with_shape(b: &[u8], text: &str) -> Option<Vec<u8>> {
    let key = b"'shape': (";
    let start = b.windows(key.len()).position(|w| w == key)? + key.len();
    let end = start + b[start..].iter().position(|&c| c == b')')?;
    let mut out = b[..start].to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&b[end..]);
    Some(out)
}

/// One random mutation: flip bits, set bytes to edge values, cut, insert, overwrite the
/// header's numbers with other digits, or give it an edge shape.
fn mutate(g: &mut Gen, mut b: Vec<u8>) -> Vec<u8> {
    let at = |g: &mut Gen, len: usize| (g.next_u64() as usize) % len.max(1);
    if g.next_u64().is_multiple_of(8) {
        if let Some(edge) = with_shape(&b, EDGE_SHAPES[at(g, EDGE_SHAPES.len())]) {
            return edge;
        }
    }
    for _ in 0..1 + g.next_u64() % 4 {
        if b.is_empty() {
            b.push(0);
        }
        let i = at(g, b.len());
        match g.next_u64() % 6 {
            0 => b[i] ^= 1 << (g.next_u64() % 8),
            1 => b[i] = [0, 0xff, b'(', b')', b',', b'\''][at(g, 6)],
            2 => b.truncate(i),
            3 => b.insert(i, g.next_u64() as u8),
            4 if b[i].is_ascii_digit() => b[i] = b'0' + (g.next_u64() % 10) as u8,
            _ => b
                .splice(i..i, b"99999999999".iter().copied())
                .for_each(drop),
        }
    }
    b
}

#[test]
fn random_mutations_of_valid_npy_files_never_panic() {
    let mut g = Gen::new(2026);
    let (mut parsed, mut refused) = (0, 0);
    for case in 0..4000 {
        let valid = valid_npy(&mut g);
        // Unmutated, each parses with the element count its shape says.
        let arr =
            npy::parse(&valid).unwrap_or_else(|e| panic!("case {case}: valid file refused: {e}"));
        let len = match &arr.data {
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::I32(v) => v.len(),
            NpyData::I64(v) => v.len(),
        };
        assert_eq!(len, arr.shape.iter().product::<usize>(), "case {case}");
        let bad = mutate(&mut g, valid);
        fuzzing::npy(&bad).unwrap_or_else(|e| panic!("case {case}: {e}"));
        match npy::parse(&bad) {
            Ok(_) => parsed += 1,
            Err(_) => refused += 1,
        }
    }
    // The mutations reach both outcomes, so the property is not tested on one side only.
    assert!(
        parsed > 100 && refused > 100,
        "{parsed} parsed, {refused} refused"
    );
}

/// Found by the `op` fuzz target: `ops::run` trusted a hand-made `NpyArray`'s shape and
/// multiplied its dimensions unchecked, so a shape whose product overflows usize panicked
/// (debug) or wrapped (release). Arrays from `npy::parse` are always consistent, so the CLI could
/// not reach it; `ops::validate` now refuses an input whose data length is not its shape's
/// checked element count.
#[test]
fn hand_made_shape_overflow_in_ops_is_an_error() {
    use ddpm_wgpu::npy::NpyArray;
    use ddpm_wgpu::ops::{self, Backend, Op, OpSettings};
    let tables = ddpm_wgpu::Tables::from_schedule(ddpm_wgpu::ScheduleKind::Linear, 1e-4, 0.02, 10);
    let settings = OpSettings::new(
        tables.unwrap(),
        ddpm_wgpu::ModelOptions::default(),
        ddpm_wgpu::LossType::Mse,
    );
    let x = NpyArray {
        shape: vec![2, usize::MAX / 2, 3],
        data: NpyData::F32(vec![0.5; 6]),
    };
    let t = NpyArray {
        shape: vec![2],
        data: NpyData::I32(vec![0, 1]),
    };
    let inputs = [("x_start", x.clone()), ("noise", x), ("t", t)]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let r = ops::run(Op::QSample, &settings, &inputs, Backend::Cpu);
    assert!(r.is_err(), "{r:?}");
}
