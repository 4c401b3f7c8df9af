//! One test per defect class found in real vendor specs
//! (`tests/fixtures/spec-defects`, see its README): each fixture generated,
//! and what a client would get asserted: valid, compiling schemas with every
//! reference resolved, unique tool names, and flaws outside the selection
//! reported as warnings, never as a rejected document.

use std::path::PathBuf;

use mcpgen::Generated;
use mcpgen::diag::Error;
use serde_json::Value;

mod support;

fn fixture(name: &str) -> PathBuf {
    support::fixture("spec-defects", name)
}

/// `mcpgen::build` for the fixture `spec` with `extra` lines of mcpgen.yaml.
fn generate(spec: &str, extra: &str) -> Result<Generated, Error> {
    support::generate(&fixture(spec), extra)
}

fn diagnostics(error: Error) -> Vec<String> {
    match error {
        Error::Diagnostics(d) => d.iter().map(ToString::to_string).collect(),
        other => panic!("{other}"),
    }
}

/// Every schema of every tool: valid 2020-12 and compiling, as the self-check demands.
fn schemas(generated: &Generated) -> Vec<(String, Value, Option<Value>)> {
    generated
        .plan
        .tools
        .iter()
        .map(|t| {
            assert_eq!(mcpgen::plan::check::schema_problem(&t.input_schema), None, "{}", t.name);
            if let Some(output) = &t.output_schema {
                assert_eq!(mcpgen::plan::check::schema_problem(output), None, "{}", t.name);
            }
            (
                t.name.clone(),
                serde_json::from_str(&t.input_schema).unwrap(),
                t.output_schema.as_deref().map(|s| serde_json::from_str(s).unwrap()),
            )
        })
        .collect()
}

fn warnings(generated: &Generated) -> Vec<String> {
    generated.warnings.iter().map(ToString::to_string).collect()
}

#[test]
fn repeated_operation_ids_get_distinct_tools_and_a_warning() {
    let generated = generate("dup-opid.yaml", "").unwrap();
    let names: Vec<&str> = generated.plan.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["post_design", "post_design_2"]);
    let warned = warnings(&generated);
    assert!(
        warned.iter().any(|w| w.contains("paths./designs/{id}.post.operationId: operationId `POST-design` is also the id of POST /designs: mcpgen.yaml (`tools:`) and mcpgen.lock address this operation as `POST /designs/{id}`")),
        "{warned:#?}"
    );
    // The lock keeps them apart.
    let lock = generated
        .files
        .iter()
        .find(|f| f.path.ends_with("mcpgen.lock"))
        .unwrap();
    assert!(
        lock.contents
            .contains("  \"POST /designs\": post_design\n  \"POST /designs/{id}\": post_design_2\n")
    );

    // `tools.POST-design` is ambiguous; each is addressed by method and path.
    let errors = diagnostics(
        generate("dup-opid.yaml", "tools:\n  POST-design:\n    name: create_design\n")
            .err()
            .unwrap(),
    );
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(
        errors[0].contains("tools: 2 operations have the operationId `POST-design`, so `POST-design` is ambiguous")
            && errors[0].contains(
                r#"help: address each by method and path instead: `"POST /designs"`, `"POST /designs/{id}"`"#
            ),
        "{}",
        errors[0]
    );
    let renamed = generate(
        "dup-opid.yaml",
        "tools:\n  \"POST /designs/{id}\":\n    name: duplicate_design\n",
    )
    .unwrap();
    let names: Vec<&str> = renamed.plan.tools.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["post_design", "duplicate_design"]);
}

#[test]
fn recursive_and_dynamic_references_resolve_like_ref() {
    let generated = generate("recursive-anchor.yaml", "").unwrap();
    let (_, input, _) = &schemas(&generated)[0];
    let text = input.to_string();
    assert!(!text.contains("$recursive") && !text.contains("$dynamic"), "{text}");
    let filter = &input["properties"]["filters"];
    assert_eq!(filter["properties"]["type"]["enum"], serde_json::json!(["and", "or"]));
    let nested = &filter["properties"]["filters"]["items"]["oneOf"];
    assert_eq!(nested[0]["properties"]["key"]["type"], "string");
    assert_eq!(
        nested[1]["description"],
        "A CompoundFilter (recursive; not expanded further)."
    );
}

#[test]
fn tuple_items_become_prefix_items_with_references_inlined() {
    let generated = generate("items-array.json", "").unwrap();
    let (_, _, output) = &schemas(&generated)[0];
    let discoverable = &output.as_ref().expect("the output schema is kept")["properties"]["discoverable"];
    assert_eq!(
        discoverable,
        &serde_json::json!({"type": "array", "prefixItems": [{"type": "null"}, {"type": "string"}]})
    );
}

#[test]
fn a_ref_standing_for_the_properties_map_is_followed() {
    let generated = generate("props-ref/api.yaml", "").unwrap();
    let (_, input, _) = &schemas(&generated)[0];
    let properties: Vec<&String> = input["properties"].as_object().unwrap().keys().collect();
    assert_eq!(properties, ["id", "droplet_ids"]);
    assert_eq!(input["required"], serde_json::json!(["id", "droplet_ids"]));
    assert_eq!(input["properties"]["droplet_ids"]["items"]["type"], "integer");
}

#[test]
fn references_are_inlined_in_every_schema_position() {
    let generated = generate("pattern-props.json", "").unwrap();
    let (_, _, output) = &schemas(&generated)[0];
    let contact = &output.as_ref().expect("kept")["properties"]["result"]["patternProperties"]["^.+@.+$"]["properties"]
        ["contact"];
    assert_eq!(contact["properties"]["email"]["type"], "string");
    // Every other position, in one schema.
    let normalizer = mcpgen::resolve::schema::Normalizer {
        doc: &serde_json::json!({"components": {"schemas": {"S": {"type": "string"}}}}),
        file: "spec.yaml",
        for_input: true,
    };
    let s = serde_json::json!({"$ref": "#/components/schemas/S"});
    let schema = serde_json::json!({
        "additionalProperties": s, "patternProperties": {"^a": s}, "propertyNames": s, "not": s,
        "if": s, "then": s, "else": s, "dependentSchemas": {"a": s}, "prefixItems": [s], "contains": s,
        "unevaluatedProperties": s, "unevaluatedItems": s, "contentSchema": s, "items": s,
        "$defs": {"unused": s}, "allOf": [s], "anyOf": [s], "oneOf": [s]
    });
    let mut problems = Vec::new();
    let out = normalizer.normalize(&schema, "/x", &mut problems);
    assert!(problems.is_empty(), "{problems:?}");
    let text = out.to_string();
    assert!(!text.contains("$ref") && !text.contains("$defs"), "{text}");
    assert_eq!(text.matches(r#"{"type":"string"}"#).count(), 17, "{text}");
}

#[test]
fn only_real_cycles_are_cut_as_recursive() {
    for spec in ["deep-chain.yaml", "false-recursion.yaml"] {
        let generated = generate(spec, "").unwrap();
        for (name, input, output) in schemas(&generated) {
            let text = format!("{input}{}", output.unwrap_or_default());
            assert!(
                !text.contains("recursive") && !text.contains("not expanded"),
                "{spec} {name}: {text}"
            );
        }
    }
    let generated = generate("deep-chain.yaml", "").unwrap();
    let (_, input, _) = &schemas(&generated)[0];
    // R0 … R12, each level's `v` and `next` kept.
    let mut level = &input["properties"]["next"];
    for _ in 0..11 {
        assert_eq!(level["properties"]["v"]["type"], "string", "{input}");
        level = &level["properties"]["next"];
    }
    let generated = generate("false-recursion.yaml", "").unwrap();
    let (_, input, _) = &schemas(&generated)[0];
    assert!(input.to_string().contains("top_k"), "{input}");
}

#[test]
fn operations_given_by_ref_to_another_file_are_followed() {
    let generated = generate("op-ref/api.yaml", "").unwrap();
    let tools: Vec<(&str, &str)> = generated
        .plan
        .tools
        .iter()
        .map(|t| (t.name.as_str(), t.path.as_str()))
        .collect();
    assert_eq!(tools, [("account_get", "/account")]);
    assert_eq!(generated.plan.tools[0].description, "Get the account.");
}

#[test]
fn a_flaw_outside_the_selection_is_a_warning() {
    // A tag's description that is a `$ref`: left out, with a warning at it.
    let generated = generate("tag-ref/api.yaml", "").unwrap();
    assert_eq!(generated.plan.tools.len(), 1);
    let warned = warnings(&generated);
    assert!(
        warned.iter().any(|w| w.starts_with("warning: ")
            && w.contains(
                "api.yaml:6:18: tags[0].description: not a valid OpenAPI document: invalid type: map, expected a string"
            )),
        "{warned:#?}"
    );
    // `security: [{oauth2: null}]` (some vendors' "no scopes"): read as `[]`, with a warning at it.
    let generated = generate("sec-null.yaml", "auth:\n  oauth2:\n    env: SECNULL_TOKEN\n").unwrap();
    assert_eq!(
        generated.plan.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["ping", "revoke"]
    );
    let warned = warnings(&generated);
    assert!(
        warned.iter().any(|w| w.contains(
            "sec-null.yaml:7:91: paths./revoke.post.security[0].oauth2: `oauth2: null` read as no scopes (`[]`)"
        )),
        "{warned:#?}"
    );
}

#[test]
fn a_dangling_response_reference_costs_only_the_output_schema() {
    let generated = generate("dangling-response.yaml", "").unwrap();
    assert_eq!(generated.plan.tools[0].output_schema, None);
    let warned = warnings(&generated);
    assert!(
        warned.iter().any(|w| w.starts_with("warning: ")
            && w.contains("paths./orders/{id}.get.responses.200.content.application/json.schema: `$ref: #/components/schemas/Order` points to nothing; the tool is generated without an output schema")),
        "{warned:#?}"
    );
}

/// The net under every future bug: what a strict client would refuse. A
/// keyword it can't take is left out with a warning (the API still checks
/// it); a schema that isn't one is an error, and nothing is written.
#[test]
fn the_self_check_refuses_what_a_strict_client_would() {
    let all = diagnostics(generate("invalid-schema.yaml", "").err().unwrap());
    let errors: Vec<&String> = all.iter().filter(|d| d.starts_with("error: ")).collect();
    assert_eq!(errors.len(), 1, "{all:#?}");
    assert!(
        errors[0].contains("invalid-schema.yaml:7:7: paths./search.post: tool `search`: its input schema is not valid JSON Schema 2020-12 at /properties/q: 5 is not of types \"boolean\", \"object\"")
            && errors[0].contains("help: fix the schema in the spec, or exclude it with `exclude: {operations: [search]}` in mcpgen.yaml"),
        "{}",
        errors[0]
    );
    let generated = generate("invalid-schema.yaml", "exclude:\n  operations: [search]\n").unwrap();
    let (_, input, output) = &schemas(&generated)[0];
    assert_eq!(
        input["properties"]["key"],
        serde_json::json!({"type": "string", "description": "A hex key."})
    );
    assert_eq!(
        output.as_ref().expect("kept")["properties"]["at"],
        serde_json::json!({})
    );
    let warned = warnings(&generated);
    for expected in [
        r#"paths./lookup.get: tool `lookup`: in its input schema, `pattern: "\\p{XDigit}{8}"` at /properties/key is left out ("\\p{XDigit}{8}" is not a "regex"), so the API alone checks it"#,
        r#"paths./lookup.get: tool `lookup`: in its output schema, `type: "timestamp"` at /properties/at is left out"#,
    ] {
        assert!(warned.iter().any(|w| w.contains(expected)), "{expected}\n{warned:#?}");
    }
}

#[test]
fn deep_object_form_fields_keep_their_style() {
    let generated = generate("deepobject-form.yaml", "auth:\n  basicAuth:\n    env: DEEP_BASIC\n").unwrap();
    let body = generated.plan.tools[0].body.as_ref().expect("a form body");
    assert_eq!(body.encoding, mcpgen_spec::BodyEncoding::FormUrlEncoded);
    let styles: Vec<(&str, String, bool)> = body
        .fields
        .iter()
        .map(|f| (f.name.as_str(), format!("{:?}", f.style), f.explode))
        .collect();
    assert_eq!(
        styles,
        [
            ("email", "Form".to_string(), true),
            ("expand", "DeepObject".to_string(), true),
            ("tax_id_data", "DeepObject".to_string(), true),
            ("metadata", "DeepObject".to_string(), true)
        ]
    );
}

#[test]
fn credentials_over_plain_http_are_warned_about_and_https_preferred() {
    let generated = generate("http-scheme.json", "auth:\n  Authorization:\n    env: PLAIN_KEY\n").unwrap();
    assert_eq!(
        generated.plan.base_url_default.as_deref(),
        Some("http://api.example.com/v3")
    );
    let warned = warnings(&generated);
    assert!(
        warned.iter().any(|w| w.starts_with("warning: ")
            && w.contains("the API's default base URL `http://api.example.com/v3` is plain HTTP: `PLAIN_KEY` would cross the network unencrypted")
            && w.contains("help: set `base_url.default` to the API's https:// URL in mcpgen.yaml (or `DEFECT_BASE_URL` at run time)")),
        "{warned:#?}"
    );
    // An https default, or a loopback one, says nothing.
    for base in [
        "https://api.example.com/v3",
        "http://127.0.0.1:8080",
        "http://localhost/v3",
    ] {
        let generated = generate(
            "http-scheme.json",
            &format!(
                "auth:\n  Authorization:\n    env: PLAIN_KEY\nbase_url:\n  env: PLAIN_BASE_URL\n  default: {base}\n"
            ),
        )
        .unwrap();
        assert!(!warnings(&generated).iter().any(|w| w.contains("plain HTTP")), "{base}");
    }
    // A spec offering both: https is the default, wherever it is listed.
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("both.yaml");
    std::fs::write(
        &spec,
        "openapi: 3.0.3\ninfo: {title: both, version: '1'}\nservers: [{url: 'http://api.example.com'}, {url: 'https://api.example.com'}]\n\
         paths:\n  /ping: {get: {operationId: ping, summary: Ping the service now., responses: {'200': {description: ok}}}}\n",
    )
    .unwrap();
    let config = dir.path().join("mcpgen.yaml");
    std::fs::write(&config, "spec: both.yaml\noutput: out\nserver:\n  name: both-mcp\n").unwrap();
    let generated = mcpgen::build(&config).unwrap();
    assert_eq!(
        generated.plan.base_url_default.as_deref(),
        Some("https://api.example.com")
    );
}
