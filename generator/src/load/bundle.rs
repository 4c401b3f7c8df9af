//! References to other files (`$ref: schemas/pet.yaml#/Pet`) bundled into the
//! document, so every later stage follows local references only.
//!
//! Each referenced (file, pointer) target is copied once under the top-level
//! key `x-mcpgen-bundled` and the reference rewritten to point there;
//! references inside a bundled target are resolved against its own file. A
//! reference cycle across files stays a cycle of local references (cut later,
//! like any recursive schema). Remote references (`http(s)://…`) are never
//! fetched and a file that can't be read leaves its reference as it is: both
//! become diagnostics where an operation uses them, never a panic.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::diag::{Error, escape_pointer};

/// The top-level key holding bundled targets.
pub const BUNDLED: &str = "x-mcpgen-bundled";

/// Whether the document's text may reference another file: a `$ref` whose
/// value does not start with `#` (a cheap scan that spares most specs a walk).
pub fn mentions_other_files(text: &str) -> bool {
    text.match_indices("$ref").any(|(i, _)| {
        let rest = text[i + 4..].trim_start_matches(['"', '\'', ' ', '\t']);
        let rest = rest
            .strip_prefix(':')
            .unwrap_or(rest)
            .trim_start_matches(['"', '\'', ' ', '\t']);
        !rest.starts_with('#')
    })
}

pub fn bundle(root: &mut Value, path: &Path, file: &str) -> Result<(), Error> {
    if !has_external_refs(root) {
        return Ok(());
    }
    let mut bundler = Bundler {
        documents: HashMap::new(),
        keys: HashMap::new(),
        bundled: Map::new(),
        pending: Vec::new(),
    };
    let base = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    bundler.rewrite(root, &base, true);
    // Targets may reference further targets: process until none is left.
    while let Some((key, file, pointer)) = bundler.pending.pop() {
        let Some(mut target) = bundler
            .documents
            .get(&file)
            .and_then(|d| d.as_ref())
            .and_then(|d| d.pointer(&pointer))
            .cloned()
        else {
            continue;
        };
        bundler.rewrite(&mut target, &file, false);
        bundler.bundled.insert(key, target);
    }
    let _ = file;
    if let Value::Object(map) = root {
        map.insert(BUNDLED.to_string(), Value::Object(bundler.bundled));
    }
    Ok(())
}

fn has_external_refs(value: &Value) -> bool {
    match value {
        Value::Object(map) => {
            matches!(map.get("$ref"), Some(Value::String(r)) if !r.starts_with('#'))
                || map.values().any(has_external_refs)
        }
        Value::Array(items) => items.iter().any(has_external_refs),
        _ => false,
    }
}

struct Bundler {
    /// Loaded documents by canonical path; `None`: unreadable.
    documents: HashMap<PathBuf, Option<Value>>,
    /// Bundled key by (file, pointer).
    keys: HashMap<(PathBuf, String), String>,
    bundled: Map<String, Value>,
    /// Targets assigned a key but not yet copied.
    pending: Vec<(String, PathBuf, String)>,
}

impl Bundler {
    /// Rewrite every reference in `value`, which lives in `file`. In the root
    /// document local references stay as they are.
    fn rewrite(&mut self, value: &mut Value, file: &Path, is_root: bool) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(reference)) = map.get_mut("$ref")
                    && let Some(local) = self.target(reference, file, is_root)
                {
                    *reference = local;
                }
                for (key, child) in map.iter_mut() {
                    if key != "$ref" {
                        self.rewrite(child, file, is_root);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.rewrite(v, file, is_root)),
            _ => {}
        }
    }

    /// The local reference replacing `reference`; `None` keeps it.
    fn target(&mut self, reference: &str, file: &Path, is_root: bool) -> Option<String> {
        if reference.starts_with("http://") || reference.starts_with("https://") {
            return None;
        }
        let (path, pointer) = match reference.split_once('#') {
            Some((path, fragment)) => (
                path,
                crate::diag::local_pointer(&format!("#{fragment}")).unwrap_or_default(),
            ),
            None => (reference, String::new()),
        };
        let target_file = if path.is_empty() {
            if is_root {
                return None;
            }
            file.to_path_buf()
        } else {
            let joined = file.parent().unwrap_or(Path::new("")).join(path);
            joined.canonicalize().unwrap_or(joined)
        };
        if !self.documents.contains_key(&target_file) {
            let loaded = std::fs::read_to_string(&target_file)
                .ok()
                .and_then(|text| crate::load::parse_document(&target_file.display().to_string(), &text).ok());
            self.documents.insert(target_file.clone(), loaded);
        }
        self.documents.get(&target_file)?.as_ref()?.pointer(&pointer)?;
        let id = (target_file.clone(), pointer.clone());
        let key = match self.keys.get(&id) {
            Some(key) => key.clone(),
            None => {
                let stem = target_file.file_stem().and_then(|s| s.to_str()).unwrap_or("file");
                let key = format!("{}:{stem}{pointer}", self.keys.len());
                self.keys.insert(id, key.clone());
                self.pending.push((key.clone(), target_file, pointer));
                key
            }
        };
        Some(format!("#/{BUNDLED}/{}", escape_pointer(&key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_text_scan_finds_references_to_other_files() {
        assert!(!mentions_other_files(r##"{"$ref": "#/a", "b": {"$ref":"#/c"}}"##));
        assert!(!mentions_other_files("schema:\n  $ref: '#/components/schemas/A'\n"));
        assert!(mentions_other_files("schema:\n  $ref: pet.yaml#/Pet\n"));
        assert!(mentions_other_files(r#"{"$ref": "other.json"}"#));
    }

    #[test]
    fn bundles_relative_files_and_keeps_cycles_local() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("schemas")).unwrap();
        std::fs::write(
            dir.path().join("schemas/pet.yaml"),
            "Pet:\n  type: object\n  properties:\n    owner: {$ref: 'owner.json'}\n    parent: {$ref: '#/Pet'}\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("schemas/owner.json"), r#"{"type": "string"}"#).unwrap();
        let spec = dir.path().join("openapi.yaml");
        let mut root = json!({"paths": {"/pets": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"$ref": "schemas/pet.yaml#/Pet"}}}}}}}},
            "components": {"schemas": {"Remote": {"$ref": "https://example.com/x.json"},
                                       "Missing": {"$ref": "nope.yaml#/X"}, "Local": {"$ref": "#/components/schemas/Remote"}}}});
        bundle(&mut root, &spec, "openapi.yaml").unwrap();
        let pet_ref = root
            .pointer("/paths/~1pets/get/responses/200/content/application~1json/schema/$ref")
            .unwrap();
        let pet_pointer = pet_ref.as_str().unwrap().strip_prefix('#').unwrap();
        let pet = root.pointer(pet_pointer).unwrap();
        assert_eq!(pet["type"], "object");
        // The self-reference inside pet.yaml now points at the bundled copy itself.
        assert_eq!(pet["properties"]["parent"]["$ref"], *pet_ref);
        let owner = pet["properties"]["owner"]["$ref"]
            .as_str()
            .unwrap()
            .strip_prefix('#')
            .unwrap();
        assert_eq!(root.pointer(owner).unwrap(), &json!({"type": "string"}));
        // Remote, missing and local references are left for the later stages to judge.
        assert_eq!(
            root["components"]["schemas"]["Remote"]["$ref"],
            "https://example.com/x.json"
        );
        assert_eq!(root["components"]["schemas"]["Missing"]["$ref"], "nope.yaml#/X");
        assert_eq!(
            root["components"]["schemas"]["Local"]["$ref"],
            "#/components/schemas/Remote"
        );
    }
}
