//! Long-running operations: which tools follow a 202 Accepted to its end,
//! and how (the runtime's `jobs`). Detected from a declared 202 with a
//! `Location`-like header (the status is read there); `tools.<id>.long_running` names a status
//! operation and a way to cancel instead. Status and cancel operations are
//! other selected tools, resolved once every tool is planned.

use serde_saphyr::Spanned;

use super::ToolPlan;
use super::rust::Expr;
use crate::diag::Diagnostic;
use crate::ir::{Method, Operation};
use crate::select::config::LongRunningOverride;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LongRunningPlan {
    pub status: StatusPlan,
    pub cancel: Option<CancelPlan>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusPlan {
    Header,
    /// `tool` is filled in by `resolve`; `args`: (parameter name, body field
    /// path) until then, (argument, path) after.
    Tool {
        operation_id: String,
        at: Place,
        tool: String,
        args: Vec<(String, String)>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelPlan {
    DeleteStatus,
    Tool {
        operation_id: String,
        at: Place,
        tool: String,
    },
}

/// Where in mcpgen.yaml a reference was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    pub file: String,
    pub line: u64,
    pub column: u64,
}

impl Place {
    fn of<T>(value: &Spanned<T>, file: &str) -> Place {
        Place {
            file: file.to_string(),
            line: value.referenced.line(),
            column: value.referenced.column(),
        }
    }

    fn diagnostic(&self, message: String) -> Diagnostic {
        Diagnostic::new(&self.file, message).line_col(self.line, self.column)
    }
}

impl Expr for LongRunningPlan {
    fn write(&self, out: &mut String) {
        out.push_str("LongRunningSpec { status: ");
        match &self.status {
            StatusPlan::Header => out.push_str("JobStatus::Header"),
            StatusPlan::Tool { tool, args, .. } => {
                out.push_str("JobStatus::Tool { tool: ");
                tool.write(out);
                out.push_str(", args: &[");
                for (i, (arg, path)) in args.iter().enumerate() {
                    if i > 0 {
                        out.push_str(", ");
                    }
                    out.push('(');
                    arg.write(out);
                    out.push_str(", ");
                    path.write(out);
                    out.push(')');
                }
                out.push_str("] }");
            }
        }
        out.push_str(", cancel: ");
        match &self.cancel {
            None => out.push_str("None"),
            Some(CancelPlan::DeleteStatus) => out.push_str("Some(JobCancel::DeleteStatus)"),
            Some(CancelPlan::Tool { tool, .. }) => {
                out.push_str("Some(JobCancel::Tool { tool: ");
                tool.write(out);
                out.push_str(" })");
            }
        }
        out.push_str(" }");
    }
}

/// The tool's plan: from mcpgen.yaml, else from a declared 202.
pub(super) fn plan(
    op: &Operation,
    tool: &str,
    custom: Option<(&Spanned<LongRunningOverride>, &str)>,
) -> Result<Option<LongRunningPlan>, Box<Diagnostic>> {
    let Some((custom, file)) = custom else {
        let accepted = op.response.as_ref().is_some_and(|r| r.accepted);
        return Ok(accepted.then_some(LongRunningPlan {
            status: StatusPlan::Header,
            cancel: None,
        }));
    };
    let settings = &custom.value;
    let status = match &settings.status {
        Some(status) => StatusPlan::Tool {
            operation_id: status.value.clone(),
            at: Place::of(status, file),
            tool: String::new(),
            args: settings.arguments.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        },
        None if !settings.arguments.is_empty() => {
            return Err(Box::new(
                Place::of(custom, file)
                    .diagnostic(format!(
                        "tools.{tool}.long_running.arguments: they are for a status operation, and none is named"
                    ))
                    .help("add `status: <operationId>` of the GET operation that reads the job"),
            ));
        }
        None => StatusPlan::Header,
    };
    let cancel = match &settings.cancel {
        None => None,
        Some(cancel) if cancel.value.eq_ignore_ascii_case("delete") => {
            if matches!(status, StatusPlan::Tool { .. }) {
                return Err(Box::new(
                    Place::of(cancel, file)
                        .diagnostic(format!(
                            "tools.{tool}.long_running.cancel: `DELETE` cancels at the status URL of the 202's header, \
                             and this job's status comes from an operation"
                        ))
                        .help("name the operationId that cancels the job; it gets the status operation's arguments"),
                ));
            }
            Some(CancelPlan::DeleteStatus)
        }
        Some(cancel) => Some(CancelPlan::Tool {
            operation_id: cancel.value.clone(),
            at: Place::of(cancel, file),
            tool: String::new(),
        }),
    };
    if matches!((&status, &cancel), (StatusPlan::Header, Some(CancelPlan::Tool { .. }))) {
        let at = match &cancel {
            Some(CancelPlan::Tool { at, .. }) => at,
            _ => unreachable!("matched"),
        };
        return Err(Box::new(
            at.diagnostic(format!(
                "tools.{tool}.long_running.cancel: a cancel operation gets the status operation's arguments, and \
                 this job's status comes from the 202's header"
            ))
            .help("use `cancel: DELETE` (on the status URL), or name a `status` operation and its `arguments`"),
        ));
    }
    Ok(Some(LongRunningPlan { status, cancel }))
}

/// Names the status and cancel tools of every long-running tool, once all
/// are planned: each must be selected, the status one a GET, its arguments
/// its parameters (by their names in the spec, emitted as argument names).
pub(super) fn resolve(tools: &mut [ToolPlan], diags: &mut Vec<Diagnostic>) {
    // Each tool's operationId, name, method and (parameter, argument) names.
    type Found = (Option<String>, String, Method, Vec<(String, String)>);
    let found: Vec<Found> = tools
        .iter()
        .map(|t| {
            let params = t.params.iter().map(|p| (p.name.clone(), p.arg.clone())).collect();
            (t.operation_id.clone(), t.name.clone(), t.method, params)
        })
        .collect();
    let lookup = |id: &str, at: &Place, role: &str| -> Result<usize, Diagnostic> {
        found
            .iter()
            .position(|(op, ..)| op.as_deref() == Some(id))
            .ok_or_else(|| {
                at.diagnostic(format!("the {role} operation `{id}` is not a tool of this server"))
                    .help("select it (under `include`) so it can be called, or fix the operationId")
            })
    };
    for tool in tools.iter_mut() {
        let Some(plan) = &mut tool.long_running else {
            continue;
        };
        if let StatusPlan::Tool {
            operation_id,
            at,
            tool: name,
            args,
        } = &mut plan.status
        {
            match lookup(operation_id, at, "status") {
                Err(d) => diags.push(d),
                Ok(i) if found[i].2 != Method::Get => diags.push(
                    at.diagnostic(format!(
                        "the status operation `{operation_id}` is a {}; reading a status must be a GET",
                        found[i].2.as_str()
                    ))
                    .help("name the GET operation that returns the job"),
                ),
                Ok(i) => {
                    *name = found[i].1.clone();
                    for (param, _) in args.iter_mut() {
                        match found[i].3.iter().find(|(spec_name, _)| spec_name == param) {
                            Some((_, arg)) => *param = arg.clone(),
                            None => {
                                let known: Vec<String> = found[i].3.iter().map(|(n, _)| format!("`{n}`")).collect();
                                diags.push(
                                    at.diagnostic(format!(
                                        "the status operation `{operation_id}` has no parameter `{param}`"
                                    ))
                                    .help(format!("its parameters: {}", known.join(", "))),
                                );
                            }
                        }
                    }
                }
            }
        }
        if let Some(CancelPlan::Tool {
            operation_id,
            at,
            tool: name,
        }) = &mut plan.cancel
        {
            match lookup(operation_id, at, "cancel") {
                Ok(i) => *name = found[i].1.clone(),
                Err(d) => diags.push(d),
            }
        }
    }
}
