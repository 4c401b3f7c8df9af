//! One tool's plan: its arguments, body, description, title, mcpgen.yaml's
//! overrides applied, pagination, projection, long-running jobs, policy, and
//! input and output schemas.

use super::args::{Arguments, plan_params};
use super::body::plan_body;
use super::*;
use crate::select::{ParamSetting, Sent, ToolSettings};

/// Up to the first sentence's end (or line's), at most 160 characters.
pub(super) fn first_sentence(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or_default().trim();
    let end = line.find(". ").map_or(line.len(), |i| i + 1);
    let sentence = &line[..end];
    match sentence.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", sentence[..cut].trim_end()),
        None => sentence.to_string(),
    }
}

/// `get-pet` → `GET_PET`; a leading digit gets a `T_` prefix.
pub(super) fn const_name(tool: &str) -> String {
    let upper = tool.replace('-', "_").to_ascii_uppercase();
    if upper.starts_with(|c: char| c.is_ascii_digit()) {
        format!("T_{upper}")
    } else {
        upper
    }
}

/// Plan one tool; `custom` is its settings under `tools:` in mcpgen.yaml
/// (`config_file` names that file).
// Long by design: one tool's plan in the order each part needs the last (arguments, overrides, pagination,
// projection, jobs, schemas, description).
pub fn plan_tool(
    op: &Operation,
    name: String,
    spec_file: &str,
    custom: Option<&ToolSettings>,
    config_file: &str,
    defaults: ToolDefaults,
) -> Result<ToolPlan, Box<Diagnostic>> {
    let mut args = Arguments::default();
    let mut params = plan_params(op, &mut args);
    let mut body = plan_body(op, &name, spec_file, &mut args)?;
    let mut description = describe(op);
    let mut title = op
        .summary
        .as_ref()
        .map(|s| crate::text::clean(s))
        .filter(|s| !s.is_empty());
    if let Some(custom) = custom {
        description = custom.description.clone().unwrap_or(description);
        title = custom.title.clone().or(title);
        let tool = op.operation_id.as_deref().unwrap_or(&name);
        apply_params(tool, &custom.params, config_file, &mut params, body.as_mut(), &mut args)?;
    }
    let custom_pages = custom.and_then(|c| {
        c.pagination
            .as_ref()
            .map(|p| (&p.value, (config_file, p.referenced.line(), p.referenced.column())))
    });
    let pagination = crate::plan::paginate::plan(op, &params, custom_pages, defaults.page_bounds)?;
    if let Some(p) = &pagination {
        description = format!(
            "{}\n\nReturns `items` from up to {} pages ({} items); when more remain, `next` holds the arguments to continue.",
            description.trim_end(),
            p.max_pages,
            p.max_items
        );
    }
    let response = match custom.and_then(|c| c.response.as_ref()) {
        None => None,
        Some(response) => {
            let body = response_schema(op, &defaults, spec_file, None);
            let target = projection::Target {
                tool: op.operation_id.as_deref().unwrap_or(&name),
                config_file,
                items: pagination.as_ref().map(|p| p.items.as_str()),
                body: body.as_ref(),
            };
            let plan = projection::plan(response, &target, &mut args)?;
            if let Some(max) = plan.max_items {
                description = format!(
                    "{}\n\nLists in results hold at most {max} items (longer ones are cut, with a note).",
                    description.trim_end()
                );
            }
            Some(plan)
        }
    };
    let long_running = jobs::plan(
        op,
        op.operation_id.as_deref().unwrap_or(&name),
        custom.and_then(|c| c.long_running.as_ref().map(|l| (l, config_file))),
    )?;
    let policy = custom.and_then(|c| c.policy);
    let security = if op.security.is_empty() {
        defaults.unsecured.to_vec()
    } else {
        op.security.clone()
    };
    // A credential sent in a body field: filled by the server, never asked of the model.
    for (scheme, field) in defaults.body_credentials {
        let used = security.iter().flatten().any(|s| s == scheme);
        if let Some(f) = body
            .as_ref()
            .and_then(|b| b.fields.iter().find(|f| f.name == *field))
            .filter(|_| used)
        {
            args.properties.shift_remove(&f.arg);
            args.required.retain(|r| *r != f.arg);
        }
    }

    let mut input = json!({ "type": "object", "properties": args.properties });
    if !args.required.is_empty() {
        input["required"] = json!(args.required);
    }
    input["additionalProperties"] = json!(false);

    let (read_only, destructive, idempotent) = match op.method {
        Method::Get | Method::Head | Method::Options | Method::Trace => (true, false, true),
        Method::Put | Method::Delete => (false, true, true),
        Method::Post => (false, false, false),
        Method::Patch => (false, true, false),
    };
    let mut findings = Vec::new();
    // A job's 202 body is not what the call ends with: no schema promises it.
    let accepted_only = long_running.is_some() && op.response.as_ref().is_some_and(|r| r.code == "202");
    let output_schema = output_schema(
        op,
        pagination.as_ref(),
        response.as_ref(),
        &defaults,
        spec_file,
        &mut findings,
    )
    .filter(|_| !accepted_only);
    if long_running.is_some() {
        let deadline = policy.as_ref().unwrap_or(&defaults.policy).deadline_ms / 1000;
        description = format!(
            "{}\n\nMay take long: when the API accepts the request for later (202), the call waits up to {deadline} s \
             for the result; if it is still running then, the answer gives an `operation` id for `wait_for_operation`.",
            description.trim_end()
        );
    }

    let summary = title.clone().unwrap_or_else(|| first_sentence(&description));
    Ok(ToolPlan {
        title,
        description,
        summary,
        tags: op.tags.clone(),
        const_name: const_name(&name),
        name,
        operation_id: op.operation_id.clone(),
        method: op.method,
        http_method: op.method.as_str(),
        path: op.path.clone(),
        server: op.server.clone(),
        pointer: op.pointer.clone(),
        findings,
        input_schema: serde_json::to_string_pretty(&input).expect("JSON values always serialize"),
        output_schema,
        read_only,
        destructive,
        idempotent,
        params,
        body,
        security,
        policy,
        pagination,
        response,
        long_running,
        always_load: custom.is_some_and(|c| c.always_load),
    })
}

/// `tools.<id>.params` of mcpgen.yaml: descriptions, `required`, fixed
/// values (the argument hidden) and defaults.
fn apply_params(
    tool: &str,
    settings: &[ParamSetting],
    config_file: &str,
    params: &mut [ParamPlan],
    mut body: Option<&mut BodyPlan>,
    args: &mut Arguments,
) -> Result<(), Box<Diagnostic>> {
    let Arguments {
        properties, required, ..
    } = args;
    for change in settings {
        let wire = &change.wire;
        let (arg, fixed, default) = match (
            params.iter_mut().find(|p| p.name == *wire),
            body.as_mut()
                .and_then(|b| b.fields.iter_mut().find(|f| f.name == *wire)),
        ) {
            (Some(p), _) => (p.arg.clone(), &mut p.fixed, &mut p.default),
            (None, Some(f)) => (f.arg.clone(), &mut f.fixed, &mut f.default),
            (None, None) => {
                let known: Vec<&str> = params
                    .iter()
                    .map(|p| p.name.as_str())
                    .chain(body.iter().flat_map(|b| b.fields.iter().map(|f| f.name.as_str())))
                    .collect();
                let hint = crate::diag::did_you_mean(wire, known.iter().copied())
                    .map(|c| format!("did you mean `{c}`?"))
                    .unwrap_or_else(|| format!("its parameters and body fields: {}", known.join(", ")));
                let diagnostic =
                    Diagnostic::new(config_file, format!("`{tool}` has no parameter or body field `{wire}`"))
                        .line_col(change.at.0, change.at.1)
                        .help(hint);
                return Err(Box::new(diagnostic));
            }
        };
        let schema = properties.get_mut(&arg).expect("every planned argument has a property");
        if let Some(text) = &change.description {
            schema["description"] = json!(text);
        }
        match change.required {
            Some(true) if !required.contains(&arg) => required.push(arg.clone()),
            Some(false) => required.retain(|r| *r != arg),
            _ => {}
        }
        match &change.sent {
            Some(Sent::Always(value)) => {
                *fixed = Some(value.to_string());
                properties.shift_remove(&arg);
                required.retain(|r| *r != arg);
            }
            Some(Sent::ByDefault(value)) => {
                *default = Some(value.to_string());
                schema["default"] = value.clone();
                required.retain(|r| *r != arg);
            }
            None => {}
        }
    }
    Ok(())
}

/// Output schemas larger than this are left out: they would cost the model
/// more context than they help (results still carry `structuredContent`).
const MAX_OUTPUT_SCHEMA_BYTES: usize = 8 * 1024;

/// The tool's `outputSchema`: the 2xx JSON response's schema, normalized for
/// output and loosened (no `required`, no closed objects) so that a response
/// that doesn't match the spec only loses its non-matching fields from
/// `structuredContent` (the runtime prunes them). Arrays are wrapped as
/// `{result: [...]}` and paged results as `{items: [...], ...}`, as the runtime does.
fn output_schema(
    op: &Operation,
    pages: Option<&PaginationPlan>,
    projection: Option<&ResponsePlan>,
    defaults: &ToolDefaults,
    spec_file: &str,
    findings: &mut Vec<Diagnostic>,
) -> Option<String> {
    if !defaults.output_schemas {
        return None;
    }
    // Results paged from a field keep only that field's items: those can't
    // stop early. A projection may leave little of a big schema: it is
    // measured after.
    let limit = (pages.is_none_or(|p| p.items.is_empty()) && projection.is_none()).then_some(MAX_OUTPUT_SCHEMA_BYTES);
    let mut problems = Vec::new();
    let mut schema = response_schema(op, defaults, spec_file, Some((limit, &mut problems)))?;
    // A broken response schema costs the tool its outputSchema, nothing more.
    if !problems.is_empty() {
        findings.extend(problems.into_iter().map(|d| {
            let message = format!("{}; the tool is generated without an output schema", d.message);
            Diagnostic { message, ..d }.warning()
        }));
        return None;
    }
    let kind = |s: &Value| s.get("type").and_then(Value::as_str).map(str::to_string);
    if let (None, Some(projection)) = (pages, projection) {
        projection::project_schema(&mut schema, projection);
    }
    let wrapped = match (pages, kind(&schema).as_deref()) {
        (Some(pages), _) => {
            let mut items = crate::plan::paginate::items_schema(&schema, &pages.items)?;
            if let Some(projection) = projection {
                projection::project_schema(&mut items, projection);
            }
            json!({"type": "object", "properties": {
                "items": {"type": "array", "items": items},
                "item_count": {"type": "integer"},
                "pages_fetched": {"type": "integer"},
                "complete": {"type": "boolean", "description": "false: more remain; pass `next` back to continue"},
                "next": {"type": "object", "description": "The arguments that continue where this result stopped."},
                "stopped": {"type": "string"}
            }})
        }
        (None, Some("object")) => schema,
        (None, Some("array")) => json!({"type": "object", "properties": {"result": schema}}),
        _ => return None,
    };
    let text = serde_json::to_string_pretty(&wrapped).expect("JSON values always serialize");
    (text.len() <= MAX_OUTPUT_SCHEMA_BYTES).then_some(text)
}

/// The 2xx JSON response's schema, normalized and loosened; `within`: a size
/// limit and where problems go (otherwise a schema with problems is `None`).
fn response_schema(
    op: &Operation,
    defaults: &ToolDefaults,
    spec_file: &str,
    within: Option<(Option<usize>, &mut Vec<Diagnostic>)>,
) -> Option<Value> {
    let (raw, at) = op.response.as_ref()?.schema.as_ref()?;
    let normalizer = crate::resolve::schema::Normalizer {
        doc: defaults.document,
        file: spec_file,
        for_input: false,
    };
    let mut schema = match within {
        Some((limit, problems)) => normalizer.normalize_within(raw, at, limit, problems)?,
        None => {
            let mut problems = Vec::new();
            let schema = normalizer.normalize_within(raw, at, None, &mut problems)?;
            problems.is_empty().then_some(schema)?
        }
    };
    loosen(&mut schema);
    Some(schema)
}

/// Drop what would reject a real response for a small mismatch.
fn loosen(schema: &mut Value) {
    match schema {
        Value::Object(map) => {
            map.remove("required");
            if map.get("additionalProperties") == Some(&Value::Bool(false)) {
                map.remove("additionalProperties");
            }
            map.values_mut().for_each(loosen);
        }
        Value::Array(items) => items.iter_mut().for_each(loosen),
        _ => {}
    }
}

/// Summary and description, whitespace tidied; the method and path when both are missing.
pub(super) fn describe(op: &Operation) -> String {
    let parts: Vec<String> = [&op.summary, &op.description]
        .into_iter()
        .flatten()
        .map(|t| crate::text::clean(t))
        .filter(|t| !t.is_empty())
        .collect();
    let mut text = match parts.as_slice() {
        [] => format!("{} {}", op.method.as_str(), op.path),
        [one] => one.clone(),
        [summary, description] if description.starts_with(summary.trim_end_matches('.')) => description.clone(),
        [summary, description] => format!("{}\n\n{description}", end_sentence(summary)),
        _ => parts.join("\n\n"),
    };
    if op.deprecated {
        text = format!("Deprecated. {text}");
    }
    text
}

fn end_sentence(text: &str) -> String {
    if text.ends_with(['.', '!', '?', ':']) {
        text.to_string()
    } else {
        format!("{text}.")
    }
}
