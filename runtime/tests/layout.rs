//! The runtime's import rules (README, "Architecture"): its top-level modules
//! form layers, and a module imports only its own layer and lower ones; the
//! module graph has no cycle. Imports are read from the parsed source, so a
//! grouped `use crate::{a, b::c}`, a `super::` path and a path written in an
//! expression (`crate::tls::install_crypto_provider()`) all count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Lowest first. A module may import its own layer and those before it.
const LAYERS: &[(&str, &[&str])] = &[
    ("foundation", &["config", "style", "tls", "redact", "fixtures"]),
    ("identity", &["identity"]),
    ("observe", &["observe"]),
    ("context", &["context"]),
    ("upstream", &["upstream"]),
    ("state", &["state"]),
    ("tasks", &["tasks"]),
    ("call", &["call"]),
    ("serve", &["serve"]),
    ("transport", &["transport"]),
    ("entry", &["cli", "extend", "testing", "lib"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, modules)| modules.contains(&module))
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module path of a file under `src/`: `call/mod.rs` is `call`,
/// `upstream/auth.rs` is `upstream::auth`, `lib.rs` the root.
fn module_path(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

/// Every crate-internal path `source` (the file of module `module`) names,
/// as absolute module paths.
fn crate_paths(source: &str, module: &[String]) -> Vec<Vec<String>> {
    let file = syn::parse_file(source).expect("the runtime's source parses");
    let mut out = Vec::new();
    uses(&file.items, module, &mut out);
    // Paths in expressions and types (`crate::tls::install()`): `crate::` is
    // only ever a path, so the text is enough once `use` trees are parsed.
    let mut rest = source;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        if !name.is_empty() {
            out.push(vec![name]);
        }
    }
    out
}

fn uses(items: &[syn::Item], module: &[String], out: &mut Vec<Vec<String>>) {
    for item in items {
        match item {
            syn::Item::Use(u) => expand(&u.tree, Vec::new(), module, out),
            syn::Item::Mod(m) => {
                if let Some((_, inner)) = &m.content {
                    let mut nested = module.to_vec();
                    nested.push(m.ident.to_string());
                    uses(inner, &nested, out);
                }
            }
            _ => {}
        }
    }
}

/// One `use` tree into absolute paths (`crate`, `super` and `self` resolved
/// against `module`); paths into other crates are left out.
fn expand(tree: &syn::UseTree, prefix: Vec<String>, module: &[String], out: &mut Vec<Vec<String>>) {
    let resolved = |mut path: Vec<String>| -> Option<Vec<String>> {
        match path.first().map(String::as_str) {
            Some("crate") => Some(path.split_off(1)),
            Some("self") => Some(module.iter().cloned().chain(path.into_iter().skip(1)).collect()),
            Some("super") => {
                let supers = path.iter().take_while(|s| *s == "super").count();
                let base = &module[..module.len().checked_sub(supers)?];
                Some(base.iter().cloned().chain(path.into_iter().skip(supers)).collect())
            }
            _ => None,
        }
    };
    match tree {
        syn::UseTree::Path(p) => {
            let mut prefix = prefix;
            prefix.push(p.ident.to_string());
            expand(&p.tree, prefix, module, out);
        }
        syn::UseTree::Group(g) => {
            for tree in &g.items {
                expand(tree, prefix.clone(), module, out);
            }
        }
        syn::UseTree::Name(n) => {
            let mut path = prefix;
            path.push(n.ident.to_string());
            out.extend(resolved(path));
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix;
            path.push(r.ident.to_string());
            out.extend(resolved(path));
        }
        syn::UseTree::Glob(_) => out.extend(resolved(prefix)),
    }
}

/// Each top-level module and the top-level modules it imports.
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let module = module_path(file.strip_prefix(src).unwrap());
        let top = module.first().cloned().unwrap_or_else(|| "lib".to_string());
        let source = std::fs::read_to_string(&file).unwrap();
        let imports = graph.entry(top.clone()).or_default();
        for path in crate_paths(&source, &module) {
            // `crate::spec` is the shared crate re-exported (the lowest of all).
            if let Some(first) = path.first()
                && *first != top
                && first != "spec"
                && src.join(first).is_dir() | src.join(format!("{first}.rs")).is_file()
            {
                imports.insert(first.clone());
            }
        }
    }
    graph
}

fn violations(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
    let mut broken = Vec::new();
    for (module, imports) in graph {
        let Some(own) = layer_of(module) else {
            broken.push(format!(
                "src/{module}: in no layer; add it to LAYERS in runtime/tests/layout.rs"
            ));
            continue;
        };
        for imported in imports {
            match layer_of(imported) {
                Some(theirs) if theirs > own => broken.push(format!(
                    "{module} ({}) imports {imported} ({}), a higher layer",
                    LAYERS[own].0, LAYERS[theirs].0
                )),
                _ => {}
            }
        }
    }
    broken
}

/// Modules on a cycle of imports, each cycle once.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reaches = |from: &str, to: &str| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.to_string()];
        while let Some(m) = stack.pop() {
            for next in graph.get(&m).into_iter().flatten() {
                if next == to {
                    return true;
                }
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        false
    };
    let mut found: Vec<Vec<String>> = Vec::new();
    for module in graph.keys() {
        if found.iter().any(|c| c.contains(module)) || !reaches(module, module) {
            continue;
        }
        let cycle = graph
            .keys()
            .filter(|other| *other == module || (reaches(module, other) && reaches(other, module)))
            .cloned()
            .collect();
        found.push(cycle);
    }
    found
}

#[test]
fn layers_import_only_themselves_and_lower_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = graph(&src);
    let broken = violations(&graph);
    assert!(broken.is_empty(), "import rules broken:\n{}", broken.join("\n"));
    let cycles = cycles(&graph);
    assert!(cycles.is_empty(), "import cycles: {cycles:?}");
}

#[test]
fn every_way_of_naming_a_module_counts_as_importing_it() {
    let source = r#"
        use crate::{config::Config, serve::{self, Server}};
        use super::super::transport as t;
        fn f() { crate::tasks::poll(); }
        mod tests { use super::super::super::state::*; use super::Own; }
    "#;
    let module = ["upstream".to_string(), "auth".to_string()];
    let firsts: BTreeSet<String> = crate_paths(source, &module)
        .into_iter()
        .filter_map(|p| p.into_iter().next())
        .collect();
    // `super::Own` in `upstream::auth::tests` is `upstream::auth::Own`.
    let expected = ["config", "serve", "state", "tasks", "transport", "upstream"];
    assert_eq!(firsts, expected.iter().map(|s| s.to_string()).collect());

    // A lower layer importing a higher one is named, and so is the cycle it closes.
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    graph.entry("serve".into()).or_default().insert("upstream".into());
    graph.entry("upstream".into()).or_default().insert("serve".into());
    let broken = violations(&graph);
    assert_eq!(broken, ["upstream (upstream) imports serve (serve), a higher layer"]);
    assert_eq!(cycles(&graph), [vec!["serve".to_string(), "upstream".to_string()]]);
}
