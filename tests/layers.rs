//! The layers of ARCHITECTURE.md, checked from the code's own imports: no file of the library
//! imports from a layer above its own, no two files import each other through any chain
//! (in the library or in the command line's crate). An import through a re-export is followed
//! to the file that defines the item, so a facade (`gpu/mod.rs`) hides nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Layers, lowest first: a file may import from its own layer and those before it.
const LAYERS: &[&[&str]] = &[
    &["error", "options", "npy", "dataset", "picture", "tolerance"],
    &["schedule", "spacing", "chain"],
    &["gpu/runtime", "cpu/kernels"],
    &["gpu/kernels"],
    &["sampler", "gpu/sampling", "cpu/sampling"],
    &["nn", "cpu/nn", "gpu/nn"],
    &["ops", "check"],
];

/// Module path of each .rs file under `root` (`a/b.rs` and `a/b/mod.rs` are `a::b`).
fn modules(root: &Path) -> BTreeMap<Vec<String>, String> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "rs") {
                let rel = p.strip_prefix(root).unwrap().with_extension("");
                let mut segs: Vec<String> =
                    rel.iter().map(|s| s.to_string_lossy().into()).collect();
                if matches!(
                    segs.last().map(String::as_str),
                    Some("mod" | "lib" | "main")
                ) {
                    segs.pop();
                }
                out.insert(segs, std::fs::read_to_string(&p).unwrap());
            }
        }
    }
    out
}

/// The text without comments (so that doc links are not imports).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// `a::{b, c::{d}}` as the paths it names.
fn expand(tree: &str) -> Vec<String> {
    let tree: String = tree.chars().filter(|c| !c.is_whitespace()).collect();
    let Some(open) = tree.find('{') else {
        return vec![tree];
    };
    let (prefix, body) = (&tree[..open], &tree[open + 1..tree.len() - 1]);
    let (mut parts, mut depth, mut cur) = (Vec::new(), 0, String::new());
    for ch in body.chars() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut cur));
                continue;
            }
            _ => {}
        }
        cur.push(ch);
    }
    parts.push(cur);
    let parts = parts.into_iter().filter(|p| !p.is_empty());
    parts
        .flat_map(|p| expand(&p))
        .map(|p| format!("{prefix}{p}"))
        .collect()
}

/// Every path a file names through `crate::` or `super::`, as absolute segments; and the
/// relative `pub use` re-exports of a module (name -> absolute path).
fn paths(me: &[String], text: &str) -> (Vec<Vec<String>>, BTreeMap<String, Vec<String>>) {
    let code = code(text);
    let mut raw = Vec::new();
    let mut reexports = BTreeMap::new();
    for stmt in code.split(';') {
        let Some(at) = stmt.find("use ") else {
            continue;
        };
        let head = &stmt[..at];
        if !(head.trim().is_empty() || head.trim_end().ends_with("pub") || head.contains('}')) {
            continue;
        }
        for p in expand(&stmt[at + 4..]) {
            let p = p.split(" as ").next().unwrap_or("").to_string();
            if p.starts_with("crate::") || p.starts_with("super::") || p.starts_with("self::") {
                raw.push(p);
            } else if head.contains("pub") && !p.is_empty() && p.contains("::") {
                // A relative re-export of a child: `pub use child::Item`.
                let segs: Vec<String> = p.split("::").map(String::from).collect();
                let mut abs = me.to_vec();
                abs.extend(segs.iter().cloned());
                reexports.insert(segs.last().cloned().unwrap_or_default(), abs);
            }
        }
    }
    let bytes = code.as_bytes();
    for start in code
        .match_indices("crate::")
        .map(|m| m.0)
        .chain(code.match_indices("super::").map(|m| m.0))
    {
        if start > 0
            && (bytes[start - 1].is_ascii_alphanumeric()
                || bytes[start - 1] == b'_'
                || bytes[start - 1] == b':')
        {
            continue;
        }
        let end = code[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
            .map_or(code.len(), |e| start + e);
        raw.push(code[start..end].trim_end_matches(':').to_string());
    }
    let absolute = raw
        .into_iter()
        .map(|p| {
            let mut segs: Vec<String> = p.split("::").map(String::from).collect();
            let mut base = me.to_vec();
            match segs.first().map(String::as_str) {
                Some("crate") => {
                    base.clear();
                    segs.remove(0);
                }
                _ => {
                    while let Some(s) = segs.first().map(String::as_str) {
                        match s {
                            "super" => {
                                base.pop();
                            }
                            "self" => {}
                            _ => break,
                        }
                        segs.remove(0);
                    }
                }
            }
            base.extend(segs);
            base
        })
        .collect();
    for target in reexports.values_mut() {
        if target.iter().any(|s| s == "super") {
            target.clear();
        }
    }
    (absolute, reexports)
}

/// The file module a path lands in, following re-exports of facades.
fn resolve(
    path: &[String],
    mods: &BTreeMap<Vec<String>, String>,
    reexports: &BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
    depth: usize,
) -> Option<Vec<String>> {
    let k = (0..=path.len())
        .rev()
        .find(|&k| mods.contains_key(&path[..k]))?;
    let module = path[..k].to_vec();
    if depth < 8 {
        if let Some(next) = path
            .get(k)
            .and_then(|name| reexports.get(&module)?.get(name))
        {
            if !next.is_empty() {
                let mut further = next.clone();
                further.extend(path[k + 1..].iter().cloned());
                return resolve(&further, mods, reexports, depth + 1).or(Some(module));
            }
        }
    }
    Some(module)
}

fn layer(module: &[String]) -> Option<usize> {
    let name = module.join("/");
    LAYERS.iter().position(|l| {
        l.iter()
            .any(|p| name == *p || name.starts_with(&format!("{p}/")))
    })
}

/// File-level import edges of the crate rooted at `root` (self-imports dropped).
fn edges(root: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mods = modules(root);
    let parsed: BTreeMap<_, _> = mods.iter().map(|(m, t)| (m.clone(), paths(m, t))).collect();
    let reexports: BTreeMap<_, _> = parsed
        .iter()
        .map(|(m, (_, r))| (m.clone(), r.clone()))
        .collect();
    parsed
        .iter()
        .map(|(m, (ps, _))| {
            let targets = ps
                .iter()
                .filter_map(|p| resolve(p, &mods, &reexports, 0))
                .filter(|t| t != m && !t.is_empty())
                .collect();
            (m.clone(), targets)
        })
        .collect()
}

/// The import circles: strongly connected sets of more than one file.
fn circles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    let reach = |from: &Vec<String>| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(m) = stack.pop() {
            for t in edges.get(&m).into_iter().flatten() {
                if seen.insert(t.clone()) {
                    stack.push(t.clone());
                }
            }
        }
        seen
    };
    let all: BTreeMap<_, _> = edges.keys().map(|m| (m.clone(), reach(m))).collect();
    let mut out = BTreeSet::new();
    for (m, r) in &all {
        let mut set: Vec<String> = r
            .iter()
            .filter(|t| all.get(*t).is_some_and(|back| back.contains(m)))
            .map(|t| t.join("/"))
            .collect();
        if !set.is_empty() {
            set.sort();
            out.insert(set);
        }
    }
    out.into_iter().collect()
}

#[test]
fn the_library_imports_only_downward_and_in_no_circle() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let lib: BTreeMap<_, _> = edges(&root)
        .into_iter()
        .filter(|(m, _)| m.first().map(String::as_str) != Some("cli"))
        .collect();
    assert!(lib.len() > 100, "only {} library files found", lib.len());
    let mut upward = Vec::new();
    for (m, targets) in &lib {
        let Some(from) = layer(m) else { continue };
        for t in targets {
            if let Some(to) = layer(t) {
                if to > from {
                    upward.push(format!(
                        "{} (layer {}) -> {} (layer {})",
                        m.join("/"),
                        from + 1,
                        t.join("/"),
                        to + 1
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a lower layer to a higher one:\n{}",
        upward.join("\n")
    );
    // Every file is in a layer but the facades, which only declare and re-export modules.
    let facade = |m: &[String]| matches!(m.join("/").as_str(), "" | "gpu" | "cpu");
    let unplaced: Vec<String> = lib
        .keys()
        .filter(|m| layer(m).is_none() && !facade(m))
        .map(|m| m.join("/"))
        .collect();
    assert!(unplaced.is_empty(), "files in no layer: {unplaced:?}");
    assert_eq!(circles(&lib), Vec::<Vec<String>>::new());
}

#[test]
fn the_command_line_has_no_import_circle() {
    let cli = edges(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("src")
            .join("cli"),
    );
    assert!(
        cli.len() > 10,
        "only {} command-line files found",
        cli.len()
    );
    assert_eq!(circles(&cli), Vec::<Vec<String>>::new());
}

#[test]
fn the_check_finds_a_circle_and_an_upward_import() {
    // Two modules that import each other, one of them from a lower layer.
    let dir = std::env::temp_dir().join(format!("ddpm-layers-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("gpu/runtime")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod gpu;\npub mod ops;\n").unwrap();
    std::fs::write(
        dir.join("gpu/mod.rs"),
        "pub mod runtime;\npub use runtime::context::Context;\n",
    )
    .unwrap();
    std::fs::write(dir.join("gpu/runtime/mod.rs"), "pub mod context;\n").unwrap();
    std::fs::write(
        dir.join("gpu/runtime/context.rs"),
        "use crate::ops::run;\npub struct Context;\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("ops.rs"),
        "use crate::gpu::Context; // through the facade\npub fn run() {}\n",
    )
    .unwrap();
    let e = edges(&dir);
    let ctx = vec!["gpu".to_string(), "runtime".into(), "context".into()];
    assert!(e[&vec!["ops".to_string()]].contains(&ctx), "{e:?}");
    assert_eq!(
        circles(&e),
        vec![vec!["gpu/runtime/context".to_string(), "ops".into()]]
    );
    assert!(layer(&ctx) < layer(&["ops".to_string()]));
    let _ = std::fs::remove_dir_all(&dir);
}
