//! `tools:` of mcpgen.yaml, resolved: each selected operation's settings as
//! `plan` applies them, with per-tool limits filled in from the top level and
//! contradictory argument settings refused here.

use mcpgen_spec::Policy;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::config::{LongRunningOverride, PaginationOverride, ResponseOverride, ToolOverride};
use crate::diag::Diagnostic;

/// A tool's settings (`tools.<id>` of mcpgen.yaml).
#[derive(Debug, Clone, Default)]
pub struct ToolSettings {
    /// The tool's name instead of the snake_cased operationId (checked: valid, unique).
    pub name: Option<String>,
    pub title: Option<String>,
    /// Replaces the spec's summary and description.
    pub description: Option<String>,
    /// By the parameter's or body field's name in the spec, in file order.
    pub params: Vec<ParamSetting>,
    /// This tool's own limits, the top-level ones filling what it leaves out.
    pub policy: Option<Policy>,
    pub pagination: Option<Spanned<PaginationOverride>>,
    pub response: Option<Spanned<ResponseOverride>>,
    pub long_running: Option<Spanned<LongRunningOverride>>,
    /// `_meta["anthropic/alwaysLoad"]` on its listing.
    pub always_load: bool,
}

/// `tools.<id>.params.<name>`.
#[derive(Debug, Clone)]
pub struct ParamSetting {
    /// The parameter's or body field's name in the spec.
    pub wire: String,
    /// Where it is in mcpgen.yaml (line, column), for what `plan` finds wrong.
    pub at: (u64, u64),
    pub description: Option<String>,
    /// Whether the model must give it, when the spec has it wrong.
    pub required: Option<bool>,
    pub sent: Option<Sent>,
}

/// A value mcpgen.yaml gives an argument.
#[derive(Debug, Clone)]
pub enum Sent {
    /// Always sent; the argument is hidden from the model.
    Always(Value),
    /// Sent when the model leaves it out; shown as the schema default.
    ByDefault(Value),
}

/// `custom` resolved against the top-level limits `base`; problems go to `diags`.
pub fn settings(custom: &ToolOverride, base: Policy, cfg: &str, diags: &mut Vec<Diagnostic>) -> ToolSettings {
    let params = custom
        .params
        .iter()
        .filter_map(|(wire, change)| {
            let at = (change.referenced.line(), change.referenced.column());
            let sent = match (&change.value.value, &change.value.default) {
                (Some(_), Some(_)) => {
                    diags.push(
                        Diagnostic::new(
                            cfg,
                            format!("`{wire}`: give either `value` (always sent, hidden) or `default`, not both"),
                        )
                        .line_col(at.0, at.1),
                    );
                    return None;
                }
                (Some(value), None) => Some(Sent::Always(value.clone())),
                (None, Some(value)) => Some(Sent::ByDefault(value.clone())),
                (None, None) => None,
            };
            Some(ParamSetting {
                wire: wire.clone(),
                at,
                description: change.value.description.clone(),
                required: change.value.required,
                sent,
            })
        })
        .collect();
    ToolSettings {
        name: custom.name.as_ref().map(|n| n.value.clone()),
        title: custom.title.clone(),
        description: custom.description.clone(),
        params,
        policy: custom
            .upstream
            .as_ref()
            .map(|section| super::policy(section, base, cfg, diags)),
        pagination: custom.pagination.clone(),
        response: custom.response.clone(),
        long_running: custom.long_running.clone(),
        always_load: custom.always_load,
    }
}
