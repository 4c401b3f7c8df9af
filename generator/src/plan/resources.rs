//! `resources:` and `prompts:` of mcpgen.yaml (opt-in), checked against the
//! planned tools: a resource is read by a selected GET tool whose arguments
//! its URI template's variables fill; a prompt's `{argument}` placeholders
//! are its arguments, and its `{tool:operationId}` references become the
//! tools' names (so renaming a tool can't leave a prompt pointing nowhere).

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::ToolPlan;
use crate::diag::{Diagnostic, did_you_mean};
use crate::ir::{Method, Operation};
use crate::select::config::{PromptSection, ResourceSection};

#[derive(Debug, Serialize)]
pub struct ResourcePlan {
    pub uri: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    pub tool: String,
}

#[derive(Debug, Serialize)]
pub struct PromptPlan {
    pub name: String,
    pub title: Option<String>,
    pub description: String,
    pub arguments: Vec<PromptArgumentPlan>,
    pub text: String,
}

#[derive(Debug, Serialize)]
pub struct PromptArgumentPlan {
    pub name: String,
    pub description: Option<String>,
    pub required: bool,
}

/// What the checks need of the server.
pub(super) struct Context<'a> {
    pub server_name: &'a str,
    pub config_file: &'a str,
    pub tools: &'a [ToolPlan],
    pub operations: &'a [&'a Operation],
}

impl Context<'_> {
    fn at<T>(&self, value: &Spanned<T>, message: String) -> Diagnostic {
        Diagnostic::new(self.config_file, message).line_col(value.referenced.line(), value.referenced.column())
    }

    /// The planned tool of an operationId, or why there is none.
    fn tool<T>(&self, id: &str, at: &Spanned<T>, what: &str) -> Result<&ToolPlan, Diagnostic> {
        self.tools
            .iter()
            .find(|t| t.operation_id.as_deref() == Some(id))
            .ok_or_else(|| {
                let ids = self.tools.iter().filter_map(|t| t.operation_id.as_deref());
                let help = match did_you_mean(id, ids) {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => "name the operationId of a selected operation (`mcpgen list` shows them)".to_string(),
                };
                self.at(at, format!("{what}: `{id}` is not a tool of this server"))
                    .help(help)
            })
    }
}

pub(super) fn plan_resources(
    sections: &IndexMap<String, Spanned<ResourceSection>>,
    cx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Vec<ResourcePlan> {
    let mut planned: Vec<ResourcePlan> = Vec::new();
    for (id, section) in sections {
        match plan_resource(id, section, cx) {
            Ok(resource) => {
                if let Some(twin) = planned.iter().find(|r| r.uri == resource.uri) {
                    let at = section
                        .value
                        .uri
                        .as_ref()
                        .map(|u| (u.referenced.line(), u.referenced.column()));
                    let (line, column) = at.unwrap_or((section.referenced.line(), section.referenced.column()));
                    diags.push(
                        Diagnostic::new(
                            cx.config_file,
                            format!("resources.{id}: its URI {} is also `{}`'s", resource.uri, twin.tool),
                        )
                        .line_col(line, column)
                        .help("give one of them its own `uri`"),
                    );
                    continue;
                }
                planned.push(resource);
            }
            Err(d) => diags.push(d),
        }
    }
    planned
}

fn plan_resource(id: &str, section: &Spanned<ResourceSection>, cx: &Context) -> Result<ResourcePlan, Diagnostic> {
    let tool = cx.tool(id, section, "resources")?;
    if tool.method != Method::Get {
        return Err(cx
            .at(
                section,
                format!(
                    "resources.{id}: `{id}` is a {}; only GET operations read resources",
                    tool.http_method
                ),
            )
            .help("a resource is read, never changed: expose this operation as a tool only"));
    }
    let input: Value = serde_json::from_str(&tool.input_schema).expect("planned schemas are JSON");
    let properties: Vec<&str> = input["properties"]
        .as_object()
        .map(|p| p.keys().map(String::as_str).collect())
        .unwrap_or_default();
    let required: Vec<&str> = input["required"]
        .as_array()
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let (uri, at) = match &section.value.uri {
        Some(uri) => (uri.value.clone(), Some(uri)),
        None => {
            // The path, its parameters under their argument names.
            let mut path = tool.path.trim_start_matches('/').to_string();
            for param in &tool.params {
                path = path.replace(&format!("{{{}}}", param.name), &format!("{{{}}}", param.arg));
            }
            (format!("{}://{path}", cx.server_name), None)
        }
    };
    let problem = |message: String| match at {
        Some(at) => cx.at(at, format!("resources.{id}.uri: {message}")),
        None => cx.at(section, format!("resources.{id}: the default URI {uri} {message}")),
    };
    let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or("");
    let valid_scheme = scheme.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !valid_scheme {
        return Err(problem(format!("`{uri}` does not start with a URI scheme"))
            .help("write it as `scheme://path`, e.g. `pets://pets/{petId}`"));
    }
    if scheme.eq_ignore_ascii_case("mcpgen") {
        return Err(
            problem("the `mcpgen` scheme is the server's own (result links)".to_string())
                .help("use another scheme, e.g. the API's name"),
        );
    }
    let variables = match template_variables(&uri) {
        Ok(variables) => variables,
        Err(why) => return Err(problem(why).help("variables are `{name}`, one per path segment")),
    };
    for variable in &variables {
        if !properties.contains(&variable.as_str()) {
            return Err(
                problem(format!("`{{{variable}}}` is not an argument of `{}`", tool.name))
                    .help(format!("its arguments: {}", properties.join(", "))),
            );
        }
    }
    if let Some(missing) = required.iter().find(|r| !variables.iter().any(|v| v == *r)) {
        return Err(
            problem(format!("`{}` needs `{missing}`, which the URI doesn't give", tool.name))
                .help(format!("add `{{{missing}}}` to the URI")),
        );
    }
    let mime_type = cx
        .operations
        .iter()
        .find(|op| op.pointer == tool.pointer)
        .and_then(|op| op.response.as_ref()?.media_type.clone());
    Ok(ResourcePlan {
        uri,
        name: section.value.name.clone().unwrap_or_else(|| tool.name.clone()),
        title: section.value.title.clone().or_else(|| tool.title.clone()),
        description: section.value.description.clone().or_else(|| Some(tool.summary.clone())),
        mime_type,
        tool: tool.name.clone(),
    })
}

/// The `{variables}` of a level-1 URI template, in order.
fn template_variables(uri: &str) -> Result<Vec<String>, String> {
    let mut variables = Vec::new();
    let mut rest = uri;
    while let Some(open) = rest.find(['{', '}']) {
        if rest.as_bytes()[open] == b'}' {
            return Err(format!("a `}}` closes nothing in `{uri}`"));
        }
        let after = &rest[open + 1..];
        let close = after
            .find('}')
            .ok_or_else(|| format!("a `{{` is not closed in `{uri}`"))?;
        let name = &after[..close];
        let simple = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
        if !simple {
            return Err(format!("`{{{name}}}` is not a plain variable name"));
        }
        if variables.iter().any(|v| v == name) {
            return Err(format!("`{{{name}}}` is there twice"));
        }
        variables.push(name.to_string());
        rest = &after[close + 1..];
    }
    Ok(variables)
}

pub(super) fn plan_prompts(
    sections: &IndexMap<String, Spanned<PromptSection>>,
    cx: &Context,
    diags: &mut Vec<Diagnostic>,
) -> Vec<PromptPlan> {
    let mut planned = Vec::new();
    for (name, section) in sections {
        match plan_prompt(name, section, cx) {
            Ok(prompt) => planned.push(prompt),
            Err(d) => diags.push(d),
        }
    }
    planned
}

fn plan_prompt(name: &str, section: &Spanned<PromptSection>, cx: &Context) -> Result<PromptPlan, Diagnostic> {
    let prompt = &section.value;
    if !mcpgen_spec::is_valid_tool_name(name) {
        return Err(cx
            .at(section, format!("prompts: `{name}` is not a valid prompt name"))
            .help("use 1 to 64 letters, digits, `_` or `-`"));
    }
    if prompt.description.trim().is_empty() {
        return Err(cx
            .at(section, format!("prompts.{name}.description is empty"))
            .help("say what the prompt does: hosts show it to the user"));
    }
    let mut arguments: Vec<PromptArgumentPlan> = Vec::new();
    for argument in &prompt.arguments {
        let valid = !argument.name.is_empty()
            && argument
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if !valid || arguments.iter().any(|a| a.name == argument.name) {
            return Err(cx
                .at(
                    section,
                    format!(
                        "prompts.{name}.arguments: `{}` is {}",
                        argument.name,
                        if valid {
                            "there twice"
                        } else {
                            "not a valid argument name"
                        }
                    ),
                )
                .help("name each argument once, with letters, digits, `_` or `-`"));
        }
        arguments.push(PromptArgumentPlan {
            name: argument.name.clone(),
            description: argument.description.clone(),
            required: argument.required,
        });
    }
    // Placeholders: `{argument}` stays for the runtime; `{tool:operationId}` becomes the tool's name.
    let source = &prompt.text.value;
    let mut text = String::with_capacity(source.len());
    let mut rest = source.as_str();
    while let Some(open) = rest.find('{') {
        text.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(cx
                .at(&prompt.text, format!("prompts.{name}.text: a `{{` is not closed"))
                .help(PLACEHOLDERS));
        };
        let inner = &after[..close];
        if let Some(id) = inner.strip_prefix("tool:") {
            text.push_str(&cx.tool(id, &prompt.text, &format!("prompts.{name}.text"))?.name);
        } else if arguments.iter().any(|a| a.name == inner) {
            text.push('{');
            text.push_str(inner);
            text.push('}');
        } else {
            return Err(cx
                .at(
                    &prompt.text,
                    format!("prompts.{name}.text: `{{{inner}}}` is not one of its arguments"),
                )
                .help(PLACEHOLDERS));
        }
        rest = &after[close + 1..];
    }
    text.push_str(rest);
    Ok(PromptPlan {
        name: name.to_string(),
        title: prompt.title.clone(),
        description: prompt.description.clone(),
        arguments,
        text,
    })
}

const PLACEHOLDERS: &str = "placeholders are `{argument}` (declared under `arguments`) and `{tool:operationId}`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_variables_are_plain_names_once_each() {
        assert_eq!(
            template_variables("pets://pets/{petId}/notes/{noteId}").unwrap(),
            ["petId", "noteId"]
        );
        assert_eq!(template_variables("test://static-text").unwrap(), Vec::<String>::new());
        assert!(template_variables("a://{x").unwrap_err().contains("not closed"));
        assert!(template_variables("a://x}").unwrap_err().contains("closes nothing"));
        assert!(template_variables("a://{x}/{x}").unwrap_err().contains("twice"));
        assert!(template_variables("a://{+x}").unwrap_err().contains("plain variable"));
    }
}
