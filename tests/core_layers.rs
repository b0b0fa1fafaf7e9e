//! The core's layering, read from its sources: support (`fnv`, `calendar`, `json`) → `model` →
//! wire formats (`sigv4`, `kinesis`, `kpl`, `cloudwatch`) → `engine`. A module may use its own layer and those
//! below, never one above, and no two files may use each other, directly or around a circle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const LAYERS: [(&str, u8); 9] = [
    ("fnv", 0),
    ("calendar", 0),
    ("json", 0),
    ("model", 1),
    ("sigv4", 2),
    ("kinesis", 2),
    ("kpl", 2),
    ("cloudwatch", 2),
    ("engine", 3),
];

fn core_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/core")
}

/// Every `.rs` file under `dir`, as a module path below `core` (`engine::producer`).
fn modules(dir: &Path, prefix: &str, out: &mut BTreeMap<String, PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        if path.is_dir() {
            modules(&path, &format!("{prefix}{name}::"), out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let module = match name.as_str() {
                "mod" => prefix.trim_end_matches("::").to_owned(),
                _ => format!("{prefix}{name}"),
            };
            out.insert(module, path);
        }
    }
}

/// The modules a file names through `crate::core::...` paths (use lists expanded one level).
fn used(text: &str, known: &BTreeMap<String, PathBuf>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("crate::core::") {
        rest = &rest[at + "crate::core::".len()..];
        let path: String = rest
            .chars()
            .take_while(|c| {
                c.is_alphanumeric() || *c == '_' || *c == ':' || *c == '{' || *c == ',' || *c == ' '
            })
            .collect();
        let (base, group) = match path.split_once('{') {
            Some((base, group)) => (base.to_owned(), Some(group.to_owned())),
            None => (path.clone(), None),
        };
        let mut candidates = vec![base.trim_end_matches("::").to_owned()];
        if let Some(group) = group {
            for item in group.split(',') {
                let item = item.trim().split("::").next().unwrap_or("").trim();
                candidates.push(format!("{}{item}", base));
            }
        }
        for candidate in candidates {
            // The longest prefix that is a module of the core.
            let parts: Vec<&str> = candidate.split("::").filter(|p| !p.is_empty()).collect();
            if let Some(module) = (1..=parts.len())
                .rev()
                .map(|n| parts[..n].join("::"))
                .find(|m| known.contains_key(m))
            {
                out.insert(module);
            }
        }
    }
    out
}

fn layer_of(module: &str) -> Option<u8> {
    let top = module.split("::").next().unwrap_or(module);
    LAYERS
        .iter()
        .find(|(name, _)| *name == top)
        .map(|&(_, l)| l)
}

fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let mut known = BTreeMap::new();
    modules(&core_dir(), "", &mut known);
    known
        .iter()
        .filter(|(m, _)| !m.is_empty())
        .map(|(module, path)| {
            let text = std::fs::read_to_string(path).unwrap();
            let mut uses = used(&text, &known);
            uses.remove(module);
            uses.remove("");
            (module.clone(), uses)
        })
        .collect()
}

#[test]
fn every_module_has_a_layer_and_uses_none_above_it() {
    let graph = graph();
    assert!(graph.len() > 20, "read the core: {:?}", graph.keys());
    let mut wrong = Vec::new();
    for (module, uses) in &graph {
        let Some(own) = layer_of(module) else {
            wrong.push(format!("{module} is in no layer"));
            continue;
        };
        for u in uses {
            if layer_of(u).is_some_and(|l| l > own) {
                wrong.push(format!(
                    "{module} (layer {own}) uses {u} (layer {})",
                    layer_of(u).unwrap()
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn no_module_uses_itself_around_a_circle() {
    let graph = graph();
    // Depth-first search for a back edge; the path is reported.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match state.get(m) {
            Some(1) => {
                let start = path.iter().position(|p| p == m).unwrap();
                let mut circle = path[start..].to_vec();
                circle.push(m.to_owned());
                return Some(circle);
            }
            Some(2) => return None,
            _ => {}
        }
        state.insert(m.to_owned(), 1);
        path.push(m.to_owned());
        for next in graph.get(m).into_iter().flatten() {
            // A file and its folder's `mod.rs` (which only declares it) are not a circle.
            if m.starts_with(&format!("{next}::")) {
                continue;
            }
            if let Some(circle) = visit(next, graph, state, path) {
                return Some(circle);
            }
        }
        path.pop();
        state.insert(m.to_owned(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in graph.keys() {
        let circle = visit(m, &graph, &mut state, &mut Vec::new());
        assert!(
            circle.is_none(),
            "import circle: {}",
            circle.unwrap().join(" -> ")
        );
    }
}

#[test]
fn the_check_sees_a_violation_when_there_is_one() {
    let mut known = BTreeMap::new();
    modules(&core_dir(), "", &mut known);
    let uses = used("use crate::core::engine::{producer::Producer, queue};\nlet x = crate::core::json::Reader::new(b);", &known);
    assert_eq!(
        uses.into_iter().collect::<Vec<_>>(),
        ["engine", "engine::producer", "engine::queue", "json"]
    );
    assert!(layer_of("engine::queue").unwrap() > layer_of("model::record").unwrap());
}
