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
//! - `model-apis`: with `schema_profile: portable`, every model API behind a host takes
//!   every input schema as listed (a refusal there is mcpgen's bug). With `full`,
//!   refusals are reported (`mcpgen lint`, `list`, the README), not warned about: most
//!   hosts take full schemas, and the fix is a choice of profile.

use std::collections::BTreeSet;

use crate::diag::Diagnostic;
use crate::ir::{Method, Operation};
use crate::plan::ToolPlan;
use mcpgen_spec::SchemaProfile;
use mcpgen_spec::dialect::{Dialect, Verdicts};

pub const RULES: &[&str] = &[
    "tool-description",
    "param-description",
    "required",
    "verb-name",
    "similar-descriptions",
    "model-apis",
];

/// Words a tool name can start with (or follow a namespace with: `repos_get`).
#[rustfmt::skip]
const VERBS: &[&str] = &[
    "abort", "accept", "activate", "add", "apply", "approve", "archive", "assign", "attach", "authorize", "block",
    "book", "bulk", "calculate", "call", "cancel", "capture", "change", "charge", "check", "clear", "clone", "close",
    "compare", "complete", "compute", "configure", "confirm", "connect", "convert", "copy", "count", "create",
    "deactivate", "decline", "delete", "deploy", "describe", "detach", "disable", "disconnect", "dismiss", "dispatch",
    "download", "duplicate", "edit", "enable", "end", "estimate", "evaluate", "execute", "export", "fetch", "find",
    "finalize", "follow", "fork", "generate", "get", "grant", "hide", "import", "install", "invite", "issue", "join",
    "leave", "link", "list", "lock", "log", "login", "logout", "lookup", "mark", "merge", "modify", "move", "mute",
    "notify", "open", "patch", "pause", "pin", "ping", "place", "post", "preview", "publish", "purge", "put", "query",
    "read", "reboot", "redeliver", "redeem", "refresh", "refund", "register", "reject", "release", "reload", "remove",
    "rename", "render", "reopen", "replace", "reply", "report", "request", "rerun", "reserve", "reset", "resolve",
    "restart", "restore", "resume", "retrieve", "retry", "review", "revoke", "rotate", "run", "save", "schedule",
    "search", "send", "set", "share", "show", "sign", "start", "stop", "submit", "subscribe", "suspend", "sync",
    "tag", "test", "toggle", "transfer", "trigger", "unarchive", "unassign", "unblock", "unfollow", "unlink",
    "unlock", "unmute", "unpin", "unpublish", "unset", "unsubscribe", "unwatch", "update", "upload", "upsert",
    "validate", "verify", "view", "void", "watch", "write",
];

pub struct LintInputs<'a> {
    pub operations: &'a [&'a Operation],
    pub tools: &'a [ToolPlan],
    pub spec_file: &'a str,
    /// Rule ids from `lint.skip`.
    pub skip: &'a [String],
    /// `schema_profile:` and each tool's verdicts under it (`plan::dialects`).
    pub dialects: (SchemaProfile, &'a [Verdicts]),
}

/// The operation's key under `tools:` as a dotted path segment: the
/// operationId, else `"METHOD /path"` quoted.
fn setting_key(op: &Operation) -> String {
    if op.operation_id.as_deref() == Some(op.key.as_str()) {
        op.key.clone()
    } else {
        serde_json::Value::String(op.key.clone()).to_string()
    }
}

/// Every finding, as warnings, in tool order.
// Long by design: the release lint rules one after another over each tool, each rule a few lines and switchable
// by name.
pub fn lint(inputs: &LintInputs) -> Vec<Diagnostic> {
    let on = |rule: &str| !inputs.skip.iter().any(|s| s == rule);
    let mut findings = Vec::new();
    for (op, tool) in inputs.operations.iter().zip(inputs.tools) {
        // `tools:` settings are keyed by operationId, else by `METHOD /path`.
        let id = &setting_key(op);
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
        // Only the top level matters here; the rest of the schema is skipped unparsed.
        let schema: TopLevel = serde_json::from_str(&tool.input_schema).unwrap_or_default();
        let properties = &schema.properties;
        let required: BTreeSet<&str> = schema.required.iter().map(String::as_str).collect();
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
                .iter()
                .filter(|(_, s)| {
                    s.description
                        .as_deref()
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
            for (arg, s) in properties {
                let is_required = required.contains(arg.as_str());
                let says_required = s.description.as_deref().is_some_and(says_required);
                let wire = wire_name(arg);
                let problem = if is_required && s.default.is_some() {
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
    if on("model-apis") {
        findings.extend(refused_by_model_apis(inputs));
    }
    findings
}

/// One finding for every dialect that refuses some tool's listed input
/// schema, at the first such tool's operation.
fn refused_by_model_apis(inputs: &LintInputs) -> Option<Diagnostic> {
    let (profile, verdicts) = inputs.dialects;
    if profile == SchemaProfile::Full {
        return None;
    }
    let mut first_op = None;
    let mut refusals = Vec::new();
    for (i, dialect) in Dialect::ALL.iter().enumerate() {
        let mut refused = verdicts
            .iter()
            .enumerate()
            .filter_map(|(t, v)| Some((t, v[i].1.as_ref()?)));
        let Some((t, why)) = refused.next() else {
            continue;
        };
        first_op = first_op.or(Some(t));
        refusals.push(format!(
            "{} refuses {} of {} (first `{}`: {why})",
            dialect.as_str(),
            refused.count() + 1,
            verdicts.len(),
            inputs.tools[t].name
        ));
    }
    let op = inputs.operations[first_op?];
    let help = "the portable form should pass every dialect: this is a bug in mcpgen, please report it with the spec";
    Some(
        Diagnostic::new(
            inputs.spec_file,
            format!(
                "[model-apis] tool input schemas as listed (`schema_profile: {}`): {}",
                profile.as_str(),
                refusals.join("; ")
            ),
        )
        .at(&op.pointer)
        .help(help)
        .warning(),
    )
}

/// The part of an input schema the rules read.
#[derive(Default, serde::Deserialize)]
struct TopLevel {
    #[serde(default)]
    properties: indexmap::IndexMap<String, Property>,
    #[serde(default)]
    required: Vec<String>,
}

#[derive(serde::Deserialize)]
struct Property {
    description: Option<String>,
    default: Option<serde::de::IgnoredAny>,
}

/// Why a tool's description won't help the model choose it, if it won't.
fn description_problem(op: &Operation, tool: &ToolPlan) -> Option<String> {
    let text = tool.description.trim();
    let bare = format!("{} {}", op.method.as_str(), op.path);
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

/// Pairs of tools whose descriptions share nearly all their words
/// (Jaccard similarity of their word sets at least 0.9).
fn similar_descriptions(inputs: &LintInputs) -> Vec<Diagnostic> {
    let descriptions: Vec<&str> = inputs.tools.iter().map(|t| t.description.as_str()).collect();
    similar_pairs(&descriptions)
        .into_iter()
        .map(|(i, j)| {
            let (first, second) = (&inputs.tools[i], &inputs.tools[j]);
            let op = inputs.operations[j];
            let setting = format!("`tools.{}.description`", setting_key(op));
            Diagnostic::new(
                inputs.spec_file,
                format!(
                    "[similar-descriptions] `{}` and `{}` have near-identical descriptions; the model can't tell which to call",
                    first.name, second.name
                ),
            )
            .at(&op.pointer)
            .help(format!("say how they differ in the spec, or set {setting} in mcpgen.yaml"))
            .warning()
        })
        .collect()
}

/// For each text with at least 3 distinct words that is this similar to an
/// earlier one: (the first such earlier text, the text).
fn similar_pairs(texts: &[&str]) -> Vec<(usize, usize)> {
    // Words as ids, each set once.
    let mut ids: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    let words: Vec<Vec<u32>> = texts
        .iter()
        .map(|text| {
            let mut set: Vec<u32> = text
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(|w| {
                    let next = ids.len() as u32;
                    *ids.entry(w.to_lowercase()).or_insert(next)
                })
                .collect();
            set.sort_unstable();
            set.dedup();
            set
        })
        .collect();
    // Prefix filtering (the AllPairs similarity join): with words ordered
    // rarest first, two sets this similar share a word among the first
    // |x| - ceil(0.9 |x|) + 1 of each, so only those words are indexed.
    let mut frequency = vec![0u32; ids.len()];
    for set in &words {
        for &w in set {
            frequency[w as usize] += 1;
        }
    }
    let words: Vec<Vec<u32>> = words
        .into_iter()
        .map(|mut set| {
            set.sort_unstable_by_key(|&w| (frequency[w as usize], w));
            set
        })
        .collect();
    let rank = |w: u32| (frequency[w as usize], w);
    let mut index: std::collections::HashMap<u32, Vec<usize>> = std::collections::HashMap::new();
    let mut pairs = Vec::new();
    for j in 0..words.len() {
        let b = &words[j];
        if b.len() < 3 {
            continue;
        }
        let prefix = b.len() - (9 * b.len()).div_ceil(10) + 1;
        let mut candidates: Vec<usize> = b[..prefix]
            .iter()
            .flat_map(|w| index.get(w).into_iter().flatten().copied())
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        let similar = candidates.into_iter().find(|&i| {
            let a = &words[i];
            // Jaccard can't reach 0.9 when the sizes differ by more.
            let (small, large) = (a.len().min(b.len()), a.len().max(b.len()));
            if small * 10 < large * 9 {
                return false;
            }
            let shared = shared_count(a, b, rank);
            shared * 10 >= (a.len() + b.len() - shared) * 9
        });
        for &w in &b[..prefix] {
            index.entry(w).or_default().push(j);
        }
        if let Some(i) = similar {
            pairs.push((i, j));
        }
    }
    pairs
}

/// How many ids two lists sorted by `rank` share.
fn shared_count(a: &[u32], b: &[u32], rank: impl Fn(u32) -> (u32, u32)) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match rank(a[i]).cmp(&rank(b[j])) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
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
    fn similar_pairs_match_comparing_every_pair() {
        // Deterministic texts over a small vocabulary, so near-duplicates are common.
        let vocabulary: Vec<String> = (0..40).map(|i| format!("w{i}")).collect();
        let mut seed = 7u64;
        let mut next = || {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let mut texts: Vec<String> = Vec::new();
        for _ in 0..300 {
            let text = if !texts.is_empty() && next() % 3 == 0 {
                // A copy of an earlier text with one word changed or added.
                let mut words: Vec<String> = texts[next() % texts.len()].split(' ').map(String::from).collect();
                let k = next() % words.len();
                if next() % 2 == 0 {
                    words[k] = vocabulary[next() % 40].clone();
                } else {
                    words.push(vocabulary[next() % 40].clone());
                }
                words.join(" ")
            } else {
                (0..3 + next() % 20)
                    .map(|_| vocabulary[next() % 40].clone())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            texts.push(text);
        }
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let sets: Vec<BTreeSet<&str>> = refs.iter().map(|t| t.split(' ').collect()).collect();
        let brute: Vec<(usize, usize)> = (0..sets.len())
            .filter(|&j| sets[j].len() >= 3)
            .filter_map(|j| {
                (0..j)
                    .find(|&i| {
                        let shared = sets[i].intersection(&sets[j]).count();
                        shared * 10 >= (sets[i].len() + sets[j].len() - shared) * 9
                    })
                    .map(|i| (i, j))
            })
            .collect();
        assert!(brute.len() > 20, "the test needs near-duplicates: {}", brute.len());
        assert_eq!(similar_pairs(&refs), brute);
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
