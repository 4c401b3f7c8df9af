//! The selection rules of `mcpgen.yaml`, checked against the spec and compiled.
//!
//! A rule block (`include` or `exclude`) matches an operation when it names
//! the operation's operationId, one of its tags, or a path glob matching its
//! path; when the block lists `methods`, the operation's method must also be
//! one of them (a block with only `methods` matches every operation with
//! those methods). Selection: `include` (absent: every operation), then
//! `exclude` removes. Path globs: `*` matches within one path segment, `**`
//! across segments, and braces are literal so templates like
//! `/pets/{petId}` match themselves.

use globset::{GlobBuilder, GlobMatcher};
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, did_you_mean};
use crate::ir::{Api, Method, Operation};
use crate::select::config::{Rules, SelectionFile};

const METHODS: [&str; 8] = ["GET", "PUT", "POST", "DELETE", "OPTIONS", "HEAD", "PATCH", "TRACE"];

/// Whether the rules pick an operation, and which rule decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub selected: bool,
    pub reason: String,
}

pub struct Matcher {
    include: Option<Block>,
    exclude: Block,
}

struct Block {
    operations: Vec<(String, u64)>,
    tags: Vec<(String, u64)>,
    paths: Vec<(String, u64, GlobMatcher)>,
    methods: Vec<Method>,
}

impl Matcher {
    /// Compile the rules; every name must exist in the spec and every glob
    /// and method must be valid (diagnostics point at `cfg`'s lines). The
    /// matcher works even with problems (a bad entry matches nothing), so the
    /// caller can report what follows from the rest too.
    pub fn new(api: &Api, file: &SelectionFile, cfg: &str) -> (Matcher, Vec<Diagnostic>) {
        let mut diags = Vec::new();
        let include = file
            .include
            .as_ref()
            .map(|rules| Block::new(api, rules, cfg, &mut diags));
        let exclude = Block::new(api, &file.exclude, cfg, &mut diags);
        (Matcher { include, exclude }, diags)
    }

    pub fn decide(&self, op: &Operation) -> Decision {
        if let Some(rule) = self.exclude.matching_rule(op) {
            return Decision {
                selected: false,
                reason: format!("excluded by {rule}"),
            };
        }
        match &self.include {
            None => Decision {
                selected: true,
                reason: "included (no include rules: every operation)".to_string(),
            },
            Some(block) => match block.matching_rule(op) {
                Some(rule) => Decision {
                    selected: true,
                    reason: format!("included by {rule}"),
                },
                None => Decision {
                    selected: false,
                    reason: "not included by any rule".to_string(),
                },
            },
        }
    }
}

/// One rule block on its own: a toolset's `include`.
pub struct Filter(Block);

impl Filter {
    pub fn new(api: &Api, rules: &Rules, cfg: &str, diags: &mut Vec<Diagnostic>) -> Filter {
        Filter(Block::new(api, rules, cfg, diags))
    }

    pub fn matches(&self, op: &Operation) -> bool {
        self.0.matching_rule(op).is_some()
    }
}

impl Block {
    fn new(api: &Api, rules: &Rules, cfg: &str, diags: &mut Vec<Diagnostic>) -> Block {
        let ids: Vec<&str> = api
            .operations
            .iter()
            .filter_map(|op| op.operation_id.as_deref())
            .collect();
        for id in &rules.operations {
            if !ids.contains(&id.value.as_str()) {
                diags.push(unknown(cfg, id, super::NO_OPERATION_ID, &ids));
            }
        }
        let tags: Vec<&str> = api.tags.iter().map(String::as_str).collect();
        for tag in &rules.tags {
            if !tags.contains(&tag.value.as_str()) {
                diags.push(unknown(cfg, tag, super::NO_TAG, &tags));
            }
        }
        let mut paths = Vec::new();
        for pattern in &rules.paths {
            // Braces are path-template syntax here, not glob alternation.
            let escaped = pattern.value.replace('{', "[{]").replace('}', "[}]");
            match GlobBuilder::new(&escaped).literal_separator(true).build() {
                Ok(glob) => {
                    let matcher = glob.compile_matcher();
                    if !api.operations.iter().any(|op| matcher.is_match(&op.path)) {
                        let mut known: Vec<&str> = api.operations.iter().map(|op| op.path.as_str()).collect();
                        known.dedup();
                        diags.push(unknown(cfg, pattern, "no operation's path matches", &known));
                    }
                    paths.push((pattern.value.clone(), pattern.referenced.line(), matcher));
                }
                Err(e) => diags.push(
                    Diagnostic::new(
                        cfg,
                        format!("`{}` is not a valid path glob: {}", pattern.value, e.kind()),
                    )
                    .line_col(pattern.referenced.line(), pattern.referenced.column())
                    .help("`*` matches within a path segment, `**` across segments, e.g. `/pets/**`"),
                ),
            }
        }
        let mut methods = Vec::new();
        for method in &rules.methods {
            match Method::from_openapi(&method.value.to_ascii_lowercase()) {
                Some(m) => methods.push(m),
                None => diags.push(
                    unknown(cfg, method, "there is no HTTP method", &METHODS)
                        .help(format!("use one of {}", METHODS.join(", "))),
                ),
            }
        }
        Block {
            operations: rules
                .operations
                .iter()
                .map(|s| (s.value.clone(), s.referenced.line()))
                .collect(),
            tags: rules
                .tags
                .iter()
                .map(|s| (s.value.clone(), s.referenced.line()))
                .collect(),
            paths,
            methods,
        }
    }

    fn matching_rule(&self, op: &Operation) -> Option<String> {
        if !self.methods.is_empty() && !self.methods.contains(&op.method) {
            return None;
        }
        let named = self
            .operations
            .iter()
            .find(|(id, _)| op.operation_id.as_deref() == Some(id.as_str()))
            .map(|(id, line)| format!("operation `{id}` (line {line})"))
            .or_else(|| {
                self.tags
                    .iter()
                    .find(|(tag, _)| op.tags.contains(tag))
                    .map(|(tag, line)| format!("tag `{tag}` (line {line})"))
            })
            .or_else(|| {
                self.paths
                    .iter()
                    .find(|(_, _, glob)| glob.is_match(&op.path))
                    .map(|(pattern, line, _)| format!("path `{pattern}` (line {line})"))
            });
        let only_methods = self.operations.is_empty() && self.tags.is_empty() && self.paths.is_empty();
        match (named, only_methods) {
            (Some(rule), _) if !self.methods.is_empty() => Some(format!("{rule} and method {}", op.method.as_str())),
            (Some(rule), _) => Some(rule),
            (None, true) if !self.methods.is_empty() => Some(format!("method {}", op.method.as_str())),
            (None, _) => None,
        }
    }
}

fn unknown(cfg: &str, name: &Spanned<String>, what: &str, known: &[&str]) -> Diagnostic {
    let help = match did_you_mean(&name.value, known.iter().copied()) {
        Some(close) => format!("did you mean `{close}`?"),
        None => {
            let shown: Vec<String> = known.iter().take(8).map(|k| format!("`{k}`")).collect();
            if shown.is_empty() {
                "the spec has none".to_string()
            } else {
                format!("the spec has: {}", shown.join(", "))
            }
        }
    };
    Diagnostic::new(cfg, format!("{what} `{}`", name.value))
        .line_col(name.referenced.line(), name.referenced.column())
        .help(help)
}
