//! The tool's arguments: one flat object of the operation's parameters and
//! its body's properties, each name claimed once (a collision is renamed
//! visibly: `id`, `id_query`, `id_body`), and the parameters' recipes.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::rust::{self, Expr};
use crate::ir::{Location, Operation, Style};

/// A parameter's recipe; reaches the templates as its `ParamSpec` expression.
#[derive(Debug)]
pub struct ParamPlan {
    pub arg: String,
    pub name: String,
    pub location: Location,
    pub style: Style,
    pub explode: bool,
    /// From mcpgen.yaml: always sent (JSON text); the argument is hidden.
    pub fixed: Option<String>,
    /// From mcpgen.yaml: sent when the argument is absent (JSON text).
    pub default: Option<String>,
}

// Parameters and body fields that need nothing but their name are written
// with the runtime's shorthand constructors (`ParamSpec::query("limit")`):
// most of a large table, and a fraction of its text.
impl Expr for ParamPlan {
    fn write(&self, out: &mut String) {
        if self.arg == self.name
            && (self.style, self.explode) == self.location.default_style()
            && self.fixed.is_none()
            && self.default.is_none()
        {
            out.push_str("ParamSpec::");
            out.push_str(self.location.as_str());
            out.push('(');
            self.name.write(out);
            out.push(')');
            return;
        }
        rust::fields(
            out,
            "ParamSpec",
            &[
                ("arg", &self.arg),
                ("name", &self.name),
                ("location", &self.location),
                ("style", &self.style),
                ("explode", &self.explode),
                ("fixed", &self.fixed),
                ("default", &self.default),
            ],
        );
    }
}

/// Header parameters OpenAPI says to ignore: the runtime sets these itself.
fn ignored_header(name: &str) -> bool {
    ["accept", "content-type", "authorization"].contains(&name.to_ascii_lowercase().as_str())
}

/// A property name clients accept everywhere (some hosts are stricter than MCP).
pub(super) fn arg_name(wire: &str) -> String {
    let cleaned: String = wire
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let trimmed = cleaned.trim_matches('_');
    let mut name = if trimmed.is_empty() {
        "arg".to_string()
    } else {
        trimmed.to_string()
    };
    name.truncate(64);
    name
}

/// Claim an argument name; on collision add the location (`id_path`), then a number.
pub(super) fn claim(wanted: &str, location: &str, taken: &mut BTreeSet<String>) -> String {
    let mut candidate = wanted.to_string();
    if taken.contains(&candidate) {
        candidate = format!("{wanted}_{location}");
    }
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{wanted}_{location}_{n}");
        n += 1;
    }
    taken.insert(candidate.clone());
    candidate
}

/// The tool's arguments as they are planned: one flat object of the
/// parameters and the body's properties, names claimed once.
#[derive(Default)]
pub(super) struct Arguments {
    pub taken: BTreeSet<String>,
    pub properties: Map<String, Value>,
    pub required: Vec<String>,
}

/// Path, query, header and cookie parameters as arguments (headers the
/// HTTP stack sets itself left out), their descriptions saying where a
/// renamed one goes.
pub(super) fn plan_params(op: &Operation, args: &mut Arguments) -> Vec<ParamPlan> {
    let Arguments {
        taken,
        properties,
        required,
    } = args;
    let mut params = Vec::new();
    for param in &op.params {
        if param.location == Location::Header && ignored_header(&param.name) {
            continue;
        }
        let arg = claim(&arg_name(&param.name), param.location.as_str(), taken);
        let mut schema = param.schema.clone();
        if let Value::Object(map) = &mut schema {
            let mut text = param
                .description
                .as_deref()
                .map(crate::text::clean)
                .or_else(|| map.get("description").and_then(Value::as_str).map(str::to_string));
            if arg != param.name {
                let note = format!("(sent as {} parameter `{}`)", param.location.as_str(), param.name);
                text = Some(match text {
                    Some(t) => format!("{t} {note}"),
                    None => note,
                });
            }
            if param.deprecated {
                text = Some(format!("Deprecated. {}", text.unwrap_or_default()).trim().to_string());
            }
            if let Some(text) = text {
                map.insert("description".to_string(), Value::String(text));
            }
        }
        properties.insert(arg.clone(), schema);
        if param.required {
            required.push(arg.clone());
        }
        params.push(ParamPlan {
            arg,
            name: param.name.clone(),
            location: param.location,
            style: param.style,
            explode: param.explode,
            fixed: None,
            default: None,
        });
    }
    params
}
