//! Specs as vendors write them (`tests/fixtures/vendor-specs`, see its
//! README): security schemes the spec names but never defines, schemes it
//! defines in a way mcpgen can't send, schemes it leaves out altogether,
//! dangling references deep in an input schema and null scope lists. Each
//! generated with every operation selected; every diagnostic whose `help:`
//! carries YAML is applied as written and must then be gone.

use std::path::{Path, PathBuf};

use mcpgen::Generated;
use mcpgen::diag::{Diagnostic, Error};
use mcpgen_spec::{ApiKeyLocation, SchemeKind};
use serde_json::Value;

mod support;

/// `mcpgen::build` for the fixture `spec` with `extra` lines of mcpgen.yaml.
fn generate(spec: &str, extra: &str) -> Result<Generated, Error> {
    support::generate(&support::fixture("vendor-specs", spec), extra)
}

fn errors(result: Result<Generated, Error>) -> Vec<Diagnostic> {
    match result {
        Err(Error::Diagnostics(d)) => d.into_iter().filter(|d| !d.warning).collect(),
        Err(other) => panic!("{other}"),
        Ok(_) => panic!("generated, but errors were expected"),
    }
}

/// The YAML a diagnostic's help says to add to mcpgen.yaml, as written.
fn help_yaml(diagnostic: &Diagnostic) -> String {
    let help = diagnostic.help.as_deref().unwrap_or_default();
    let (_, rest) = help
        .split_once("add to mcpgen.yaml:\n")
        .unwrap_or_else(|| panic!("no YAML in the help of {diagnostic}"));
    let yaml: Vec<&str> = rest.lines().take_while(|l| !l.starts_with("  or ")).collect();
    // The help indents its YAML by four spaces under its first line.
    yaml.iter()
        .map(|l| format!("{}\n", l.strip_prefix("    ").unwrap_or(l)))
        .collect()
}

/// The help's YAML applied; the same diagnostic must be gone.
fn apply(spec: &str, extra: &str, diagnostic: &Diagnostic) -> Result<Generated, Error> {
    let applied = format!("{extra}{}", help_yaml(diagnostic));
    let result = generate(spec, &applied);
    if let Err(Error::Diagnostics(after)) = &result {
        assert!(
            !after.iter().any(|d| d.message == diagnostic.message),
            "applying the help of {diagnostic}\nleft it:\n{applied}"
        );
    }
    result
}

#[test]
fn a_scheme_the_spec_never_defines_is_located_and_its_help_declares_it() {
    let found = errors(generate("undefined-scheme.yaml", ""));
    let first = found
        .iter()
        .find(|d| d.message.contains("`v1-list-all-projects`"))
        .unwrap();
    let text = first.to_string();
    assert!(
        text.contains("undefined-scheme.yaml:9:17: paths./v1/projects.get.security: operation `v1-list-all-projects` needs credentials (bearer; the spec never defines `bearer`)"),
        "located where the operation names it, not at a component that doesn't exist: {text}"
    );
    let generated = apply("undefined-scheme.yaml", "", first).unwrap();
    let schemes = &generated.plan.schemes;
    assert_eq!(schemes.len(), 1, "{schemes:?}");
    assert_eq!(
        (schemes[0].name.as_str(), schemes[0].kind.clone()),
        ("bearer", SchemeKind::Bearer)
    );
    for tool in &generated.plan.tools {
        assert!(
            tool.security.iter().any(|alt| alt == &["bearer"]),
            "{}: {:?}",
            tool.name,
            tool.security
        );
    }
    // Bound without saying how: the error says so, and its fix works.
    let bound = "auth:\n  bearer:\n    env: SUPABASE_TOKEN\n";
    let found = errors(generate("undefined-scheme.yaml", bound));
    assert!(
        found[0].message.contains("never defined") && found[0].help.as_deref().unwrap().contains("`scheme: bearer`"),
        "{}",
        found[0]
    );
    generate("undefined-scheme.yaml", &format!("{bound}    scheme: bearer\n")).unwrap();
}

#[test]
fn a_scheme_mcpgen_cannot_send_as_written_is_declared_in_mcpgen_yaml() {
    let bound = "auth:\n  dsn:\n    env: SENTRY_DSN\n";
    let found = errors(generate("nonstandard-scheme.yaml", bound));
    let refused = found.iter().find(|d| d.message.contains("`dsn`")).unwrap();
    assert!(
        refused
            .help
            .as_deref()
            .unwrap()
            .contains("scheme: {header: Authorization}"),
        "{refused}"
    );
    // As the help says: the env var holds the header's whole value (`DSN …`).
    let generated = generate(
        "nonstandard-scheme.yaml",
        &format!("{bound}    scheme: {{header: Authorization}}\n"),
    )
    .unwrap();
    let dsn = generated.plan.schemes.iter().find(|s| s.name == "dsn").unwrap();
    assert_eq!(
        dsn.kind,
        SchemeKind::ApiKey {
            location: ApiKeyLocation::Header,
            name: "Authorization".to_string()
        }
    );
    // The spec's own bearer alternative needs nothing declared.
    generate(
        "nonstandard-scheme.yaml",
        "auth:\n  auth_token:\n    env: SENTRY_TOKEN\n",
    )
    .unwrap();
    let two = errors(generate(
        "nonstandard-scheme.yaml",
        "auth:\n  dsn:\n    env: SENTRY_DSN\n    scheme: {header: A, query: b}\n",
    ));
    assert!(two[0].to_string().contains("`scheme` must say one way"), "{}", two[0]);
}

#[test]
fn a_scheme_the_spec_leaves_out_applies_to_operations_without_security() {
    let generated = generate(
        "body-credential.json",
        "auth:\n  key:\n    env: MANDRILL_KEY\n    scheme: {query: key}\n",
    )
    .unwrap();
    let key = &generated.plan.schemes[0];
    assert_eq!((key.name.as_str(), key.env.as_str()), ("key", "MANDRILL_KEY"));
    for tool in &generated.plan.tools {
        assert_eq!(tool.security, [["key"]], "{}", tool.name);
    }
    // As the API wants it: in the body. The model no longer sees (or gives) the field.
    let generated = generate(
        "body-credential.json",
        "auth:\n  key:\n    env: MANDRILL_KEY\n    scheme: {body: key}\n",
    )
    .unwrap();
    for tool in &generated.plan.tools {
        let input: Value = serde_json::from_str(&tool.input_schema).unwrap();
        assert!(input["properties"].get("key").is_none(), "{}: {input}", tool.name);
        let required = input.get("required").and_then(Value::as_array);
        assert!(
            required.is_none_or(|r| !r.contains(&"key".into())),
            "{}: {input}",
            tool.name
        );
        assert!(
            tool.body.as_ref().unwrap().fields.iter().any(|f| f.name == "key"),
            "still sent"
        );
    }
    let unknown = errors(generate(
        "body-credential.json",
        "auth:\n  key:\n    env: MANDRILL_KEY\n",
    ));
    assert!(
        unknown[0].help.as_deref().unwrap().contains("add `scheme:`"),
        "an undeclared name says how to declare one: {}",
        unknown[0]
    );
}

#[test]
fn dangling_references_in_an_input_and_null_scopes_are_warnings() {
    let found = errors(generate("dangling-in-input.yaml", ""));
    assert_eq!(found.len(), 1, "only the unbound scheme: {found:#?}");
    let generated = apply("dangling-in-input.yaml", "", &found[0]).unwrap();
    let warned: Vec<String> = generated.warnings.iter().map(ToString::to_string).collect();
    for expected in [
        "dangling-in-input.yaml:26:27: components.schemas.Item.properties.allow_quantities: `$ref: #/components/schemas/ToggleOverrideType` points to nothing; the argument takes any value there (the API alone checks it)",
        "dangling-in-input.yaml:15:27: paths./oauth2/revoke.post.security[0].oauth2: `oauth2: null` read as no scopes (`[]`)",
    ] {
        assert!(
            warned.iter().any(|w| w.contains(expected)),
            "{expected}\nin {warned:#?}"
        );
    }
    let upsert = &generated.plan.tools[0];
    let input: Value = serde_json::from_str(&upsert.input_schema).unwrap();
    assert_eq!(input["properties"]["allow_quantities"], serde_json::json!({}));
    assert_eq!(input["required"], serde_json::json!(["name"]));
    assert_eq!(mcpgen::plan::check::schema_problem(&upsert.input_schema), None);
    let revoke = &generated.plan.tools[1];
    assert_eq!(revoke.security, [["oauth2"]]);
}

#[test]
fn a_null_schema_takes_any_value_with_a_warning() {
    let generated = generate("null-schema.json", "").unwrap();
    let warned: Vec<String> = generated.warnings.iter().map(ToString::to_string).collect();
    let expected = "null-schema.json:11:68: paths./items/{collection}.post.requestBody.content.application/json.schema: `null` where a schema belongs, read as `{}` (any value)";
    assert!(
        warned.iter().any(|w| w.contains(expected)),
        "{expected}\nin {warned:#?}"
    );
    let input: Value = serde_json::from_str(&generated.plan.tools[0].input_schema).unwrap();
    assert_eq!(
        input["properties"]["body"],
        serde_json::json!({}),
        "the body takes any value"
    );
    assert_eq!(
        mcpgen::plan::check::schema_problem(&generated.plan.tools[0].input_schema),
        None
    );
}

/// Every `help:` that carries mcpgen.yaml (an `add to mcpgen.yaml:` block,
/// or a top-level setting in backticks such as `exclude: {operations: [x]}`),
/// applied as written to a selection of every operation of each fixture
/// spec, makes its diagnostic go; rounds repeat while new ones appear.
#[test]
fn every_help_that_carries_yaml_fixes_what_it_says() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut specs: Vec<PathBuf> = Vec::new();
    for set in ["vendor-specs", "spec-defects"] {
        for entry in std::fs::read_dir(dir.join(set)).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                specs.push(path.join("api.yaml"));
            } else if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "json")) {
                specs.push(path);
            }
        }
    }
    specs.sort();
    let mut applied = Vec::new();
    for spec in &specs {
        let mut extra = serde_json::Map::new();
        for _round in 0..4 {
            let Err(Error::Diagnostics(found)) = generate_at(spec, &extra) else {
                break;
            };
            let fixes: Vec<(&Diagnostic, Value)> = found
                .iter()
                .filter(|d| !d.warning)
                .filter_map(|d| Some((d, yaml_in_help(d)?)))
                .collect();
            if fixes.is_empty() {
                break;
            }
            for (_, fix) in &fixes {
                merge(&mut extra, fix);
            }
            let after = match generate_at(spec, &extra) {
                Err(Error::Diagnostics(after)) => after,
                _ => Vec::new(),
            };
            for (diagnostic, fix) in &fixes {
                assert!(
                    !after
                        .iter()
                        .any(|a| a.message == diagnostic.message && a.pointer == diagnostic.pointer),
                    "{}: applying {fix} left {diagnostic}",
                    spec.display()
                );
                applied.push(format!("{}: {fix}", spec.file_name().unwrap().to_string_lossy()));
            }
        }
    }
    println!("helps applied:\n{}", applied.join("\n"));
    // The sweep proves something only if it met such helps: the unbound schemes, the excludable operations.
    assert!(applied.len() >= 4, "{applied:#?}");
    assert!(applied.iter().any(|a| a.contains("\"exclude\"")), "{applied:#?}");
    assert!(applied.iter().any(|a| a.contains("\"auth\"")), "{applied:#?}");
}

/// `generate` with mcpgen.yaml's top-level `extra` settings (JSON is YAML).
fn generate_at(spec: &Path, extra: &serde_json::Map<String, Value>) -> Result<Generated, Error> {
    let lines: String = extra.iter().map(|(key, value)| format!("{key}: {value}\n")).collect();
    support::generate(spec, &lines)
}

/// The mcpgen.yaml a help says to add, as top-level settings.
fn yaml_in_help(diagnostic: &Diagnostic) -> Option<Value> {
    let help = diagnostic.help.as_deref()?;
    if help.contains("add to mcpgen.yaml:\n") {
        return serde_saphyr::from_str::<Value>(&help_yaml(diagnostic)).ok();
    }
    const TOP_LEVEL: [&str; 6] = ["exclude:", "include:", "auth:", "tools:", "output_schemas:", "surface:"];
    help.split('`')
        .skip(1)
        .step_by(2)
        .filter(|fragment| TOP_LEVEL.iter().any(|key| fragment.starts_with(key)))
        .find_map(|fragment| serde_saphyr::from_str::<Value>(fragment).ok().filter(Value::is_object))
}

/// `fix` merged into `into`: maps key by key, lists joined without repeats.
fn merge(into: &mut serde_json::Map<String, Value>, fix: &Value) {
    for (key, value) in fix.as_object().into_iter().flatten() {
        match (into.get_mut(key), value) {
            (Some(Value::Object(old)), Value::Object(_)) => merge(old, value),
            (Some(Value::Array(old)), Value::Array(new)) => {
                for item in new {
                    if !old.contains(item) {
                        old.push(item.clone());
                    }
                }
            }
            _ => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}
