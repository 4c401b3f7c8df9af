//! The release lint: what makes tools hard for a model to use well.
//!
//! Input: the selected operations and their planned tools (overrides from
//! mcpgen.yaml applied), and the rules to skip. Output: warnings that point
//! into the spec and say which key of mcpgen.yaml fixes them. Rules:
//!
//! - `tool-description`: every tool says what it does, in more than a word or two;
//! - `param-description`: every argument has a description;
//! - `required`: `required` agrees with defaults and with descriptions saying "required";
//! - `verb-name`: names say what they do (`list_pets`, `repos_get`), not only what they touch;
//! - `similar-descriptions`: no two tools read the same, or the model can't choose.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::diag::Diagnostic;
use crate::ir::{Method, Operation};
use crate::plan::ToolPlan;

pub const RULES: &[&str] = &[
    "tool-description",
    "param-description",
    "required",
    "verb-name",
    "similar-descriptions",
];

/// Words a tool name can start with (or follow a namespace with: `repos_get`).
const VERBS: &[&str] = &[
    "abort",
    "accept",
    "activate",
    "add",
    "apply",
    "approve",
    "archive",
    "assign",
    "attach",
    "authorize",
    "block",
    "book",
    "bulk",
    "calculate",
    "call",
    "cancel",
    "capture",
    "change",
    "charge",
    "check",
    "clear",
    "clone",
    "close",
    "compare",
    "complete",
    "compute",
    "configure",
    "confirm",
    "connect",
    "convert",
    "copy",
    "count",
    "create",
    "deactivate",
    "decline",
    "delete",
    "deploy",
    "describe",
    "detach",
    "disable",
    "disconnect",
    "dismiss",
    "dispatch",
    "download",
    "duplicate",
    "edit",
    "enable",
    "end",
    "estimate",
    "evaluate",
    "execute",
    "export",
    "fetch",
    "find",
    "finalize",
    "follow",
    "fork",
    "generate",
    "get",
    "grant",
    "hide",
    "import",
    "install",
    "invite",
    "issue",
    "join",
    "leave",
    "link",
    "list",
    "lock",
    "log",
    "login",
    "logout",
    "lookup",
    "mark",
    "merge",
    "modify",
    "move",
    "mute",
    "notify",
    "open",
    "patch",
    "pause",
    "pin",
    "ping",
    "place",
    "post",
    "preview",
    "publish",
    "purge",
    "put",
    "query",
    "read",
    "reboot",
    "redeliver",
    "redeem",
    "refresh",
    "refund",
    "register",
    "reject",
    "release",
    "reload",
    "remove",
    "rename",
    "render",
    "reopen",
    "replace",
    "reply",
    "report",
    "request",
    "rerun",
    "reserve",
    "reset",
    "resolve",
    "restart",
    "restore",
    "resume",
    "retrieve",
    "retry",
    "review",
    "revoke",
    "rotate",
    "run",
    "save",
    "schedule",
    "search",
    "send",
    "set",
    "share",
    "show",
    "sign",
    "start",
    "stop",
    "submit",
    "subscribe",
    "suspend",
    "sync",
    "tag",
    "test",
    "toggle",
    "transfer",
    "trigger",
    "unarchive",
    "unassign",
    "unblock",
    "unfollow",
    "unlink",
    "unlock",
    "unmute",
    "unpin",
    "unpublish",
    "unset",
    "unsubscribe",
    "unwatch",
    "update",
    "upload",
    "upsert",
    "validate",
    "verify",
    "view",
    "void",
    "watch",
    "write",
];

pub struct LintInputs<'a> {
    pub operations: &'a [&'a Operation],
    pub tools: &'a [ToolPlan],
    pub spec_file: &'a str,
    /// Rule ids from `lint.skip`.
    pub skip: &'a [String],
}

/// Every finding, as warnings, in tool order.
pub fn lint(inputs: &LintInputs) -> Vec<Diagnostic> {
    let on = |rule: &str| !inputs.skip.iter().any(|s| s == rule);
    let mut findings = Vec::new();
    for (op, tool) in inputs.operations.iter().zip(inputs.tools) {
        let id = op.operation_id.as_deref().unwrap_or(&tool.name);
        let finding = |rule: &str, pointer: &str, message: String, fix: String| {
            Diagnostic::new(inputs.spec_file, format!("[{rule}] `{}`: {message}", tool.name))
                .at(pointer)
                .help(fix)
                .warning()
        };
        if on("tool-description")
            && let Some(problem) = description_problem(op, tool)
        {
            findings.push(finding(
                "tool-description",
                &op.pointer,
                problem,
                format!(
                    "give the operation a `summary` or `description`, or set `tools.{id}.description` in mcpgen.yaml"
                ),
            ));
        }
        let schema: Value = serde_json::from_str(&tool.input_schema).unwrap_or_default();
        let properties = schema.get("properties").and_then(Value::as_object);
        let required: BTreeSet<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let wire_name = |arg: &str| -> String {
            tool.params
                .iter()
                .find(|p| p.arg == arg)
                .map(|p| p.name.clone())
                .or_else(|| {
                    tool.body
                        .iter()
                        .flat_map(|b| &b.fields)
                        .find(|f| f.arg == arg)
                        .map(|f| f.name.clone())
                })
                .unwrap_or_else(|| arg.to_string())
        };
        if on("param-description") {
            let missing: Vec<String> = properties
                .into_iter()
                .flatten()
                .filter(|(_, s)| {
                    s.get("description")
                        .and_then(Value::as_str)
                        .is_none_or(|d| d.trim().is_empty() || d.starts_with("(sent as"))
                })
                .map(|(arg, _)| arg.clone())
                .collect();
            if let Some(first) = missing.first() {
                let listed: Vec<String> = missing.iter().map(|a| format!("`{a}`")).collect();
                findings.push(finding(
                    "param-description",
                    &format!("{}/parameters", op.pointer),
                    format!(
                        "{} without a description: {}",
                        if missing.len() == 1 {
                            "1 argument".to_string()
                        } else {
                            format!("{} arguments", missing.len())
                        },
                        listed.join(", ")
                    ),
                    format!(
                        "describe them in the spec, or in mcpgen.yaml: `tools.{id}.params.{}.description`",
                        wire_name(first)
                    ),
                ));
            }
        }
        if on("required") {
            for (arg, s) in properties.into_iter().flatten() {
                let is_required = required.contains(arg.as_str());
                let says_required = s.get("description").and_then(Value::as_str).is_some_and(says_required);
                let wire = wire_name(arg);
                let problem = if is_required && s.get("default").is_some() {
                    Some(format!(
                        "`{arg}` is required but has a default, so the model must always send it"
                    ))
                } else if !is_required && says_required {
                    Some(format!(
                        "`{arg}`'s description says it is required, but the spec does not mark it so"
                    ))
                } else {
                    None
                };
                if let Some(problem) = problem {
                    findings.push(finding(
                        "required",
                        &format!("{}/parameters", op.pointer),
                        problem,
                        format!(
                            "fix `required` in the spec, or set `tools.{id}.params.{wire}.required` in mcpgen.yaml"
                        ),
                    ));
                }
            }
        }
        if on("verb-name") && !verb_like(&tool.name) {
            findings.push(finding(
                "verb-name",
                &op.pointer,
                "the name does not say what the tool does (no verb such as get, list, create, update, delete)"
                    .to_string(),
                format!(
                    "e.g. `tools.{id}.name: {}` in mcpgen.yaml",
                    suggest_name(op.method, &tool.name)
                ),
            ));
        }
    }
    if on("similar-descriptions") {
        findings.extend(similar_descriptions(inputs));
    }
    findings
}

/// Why a tool's description won't help the model choose it, if it won't.
fn description_problem(op: &Operation, tool: &ToolPlan) -> Option<String> {
    let text = tool.description.trim();
    let bare = format!("{} {}", op.method.as_upper(), op.path);
    if text.is_empty() || text == bare {
        return Some(format!("no description: the model sees only `{bare}`"));
    }
    let words = text.split_whitespace().count();
    (words < 3).then(|| format!("the description `{text}` is too short to say when to use the tool"))
}

/// "Required", "(required)", "required." but not "not required" or "required if …".
fn says_required(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    lower.match_indices("required").any(|(at, _)| {
        let before = lower[..at].trim_end();
        let after = lower[at + "required".len()..].trim_start();
        !(before.ends_with("not")
            || before.ends_with("if")
            || after.starts_with("if")
            || after.starts_with("when")
            || after.starts_with("for")
            || after.starts_with("by")
            || after.starts_with("only"))
            && (before.is_empty()
                || before.ends_with(['(', '.', ':', '-', '*', '['])
                || after.is_empty()
                || after.starts_with([')', '.', ']', ',']))
    })
}

/// A verb among the first two words: `list_pets`, `repos_get`.
fn verb_like(name: &str) -> bool {
    name.split(['_', '-'])
        .filter(|w| !w.is_empty())
        .take(2)
        .any(|w| VERBS.contains(&w.to_ascii_lowercase().as_str()))
}

fn suggest_name(method: Method, name: &str) -> String {
    let verb = match method {
        Method::Get => "get",
        Method::Post => "create",
        Method::Put | Method::Patch => "update",
        Method::Delete => "delete",
        _ => "call",
    };
    let mut suggestion = format!("{verb}_{name}");
    suggestion.truncate(64);
    suggestion
}

/// Pairs of tools whose descriptions share nearly all their words.
fn similar_descriptions(inputs: &LintInputs) -> Vec<Diagnostic> {
    let words: Vec<BTreeSet<String>> = inputs
        .tools
        .iter()
        .map(|t| {
            t.description
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_lowercase)
                .collect()
        })
        .collect();
    let mut findings = Vec::new();
    let mut reported = BTreeSet::new();
    for j in 0..words.len() {
        if words[j].len() < 3 {
            continue;
        }
        for i in 0..j {
            let (a, b) = (&words[i], &words[j]);
            // Cheap bound first: Jaccard can't reach 0.9 when sizes differ by more.
            let (small, large) = (a.len().min(b.len()), a.len().max(b.len()));
            if small * 10 < large * 9 || reported.contains(&j) {
                continue;
            }
            let shared = a.intersection(b).count();
            let union = a.len() + b.len() - shared;
            if shared * 10 >= union * 9 {
                reported.insert(j);
                let (first, second) = (&inputs.tools[i], &inputs.tools[j]);
                let op = inputs.operations[j];
                let id = op.operation_id.as_deref().unwrap_or(&second.name);
                findings.push(
                    Diagnostic::new(
                        inputs.spec_file,
                        format!(
                            "[similar-descriptions] `{}` and `{}` have near-identical descriptions; the model can't tell which to call",
                            first.name, second.name
                        ),
                    )
                    .at(&op.pointer)
                    .help(format!("say how they differ in the spec, or set `tools.{id}.description` in mcpgen.yaml"))
                    .warning(),
                );
            }
        }
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbs_lead_or_follow_a_namespace() {
        assert!(verb_like("list_pets"));
        assert!(verb_like("repos_get"));
        assert!(verb_like("get-user"));
        assert!(!verb_like("pet_inventory"));
        assert!(!verb_like("users"));
        assert_eq!(suggest_name(Method::Get, "pet_inventory"), "get_pet_inventory");
    }

    #[test]
    fn required_in_words() {
        assert!(says_required("Required. The pet's name"));
        assert!(says_required("The pet's name (required)"));
        assert!(says_required("The pet's name. Required."));
        assert!(!says_required("Not required."));
        assert!(!says_required("Required if `kind` is `dog`."));
        assert!(!says_required("The scopes required by the token"));
    }
}
