//! `http.oauth`: inbound OAuth settings, checked here (URLs, scope syntax)
//! so a generated server never starts with a setting it would refuse; tool
//! names under `scopes.tools` are checked once tools are named (`plan`).

use serde::Serialize;
use serde_saphyr::Spanned;

use super::config::OAuthSection;
use crate::diag::Diagnostic;

/// `http.oauth`, checked.
#[derive(Debug, Clone, Serialize)]
pub struct OAuth {
    pub issuer: String,
    pub audience: String,
    pub required_scopes: Vec<String>,
    pub read_scope: Option<String>,
    pub write_scope: Option<String>,
    /// (tool name, scope, line, column of the scope in mcpgen.yaml).
    #[serde(skip)]
    pub tool_scopes: Vec<(String, String, u64, u64)>,
}

pub(super) fn oauth(section: &OAuthSection, cfg: &str, diags: &mut Vec<Diagnostic>) -> OAuth {
    let at = |value: &Spanned<String>, message: String, help: &str| {
        Diagnostic::new(cfg, message)
            .line_col(value.referenced.line(), value.referenced.column())
            .help(help.to_string())
    };
    match url::Url::parse(&section.issuer.value) {
        Ok(url) => {
            let loopback = matches!(url.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            if !(url.scheme() == "https" || (url.scheme() == "http" && loopback))
                || url.query().is_some()
                || url.fragment().is_some()
            {
                diags.push(at(
                    &section.issuer,
                    format!(
                        "http.oauth.issuer `{}` must be an https URL without query or fragment",
                        section.issuer.value
                    ),
                    "use the issuer exactly as the authorization server's metadata and tokens name it \
                     (http is accepted only for an issuer on loopback)",
                ));
            }
        }
        Err(e) => diags.push(at(
            &section.issuer,
            format!("http.oauth.issuer `{}` is not a URL ({e})", section.issuer.value),
            "use the authorization server's issuer URL, e.g. https://login.example.com/realms/acme",
        )),
    }
    let audience_ok = url::Url::parse(&section.audience.value)
        .is_ok_and(|url| matches!(url.scheme(), "https" | "http") && url.fragment().is_none());
    if !audience_ok {
        diags.push(at(
            &section.audience,
            format!("http.oauth.audience `{}` is not an http(s) URL", section.audience.value),
            "use this server's public MCP URL, e.g. https://mcp.example.com/mcp: tokens must be issued for it",
        ));
    }
    let scopes = section
        .required_scopes
        .iter()
        .chain(&section.scopes.read)
        .chain(&section.scopes.write)
        .chain(section.scopes.tools.values());
    for scope in scopes.filter(|s| !is_scope_token(&s.value)) {
        diags.push(at(
            scope,
            format!("http.oauth: `{}` is not a scope", scope.value),
            "a scope is one word of printable ASCII without spaces, `\"` or `\\` (RFC 6749 3.3)",
        ));
    }
    let value = |s: &Spanned<String>| s.value.clone();
    OAuth {
        issuer: section.issuer.value.clone(),
        audience: section.audience.value.clone(),
        required_scopes: section.required_scopes.iter().map(value).collect(),
        read_scope: section.scopes.read.as_ref().map(value),
        write_scope: section.scopes.write.as_ref().map(value),
        tool_scopes: section
            .scopes
            .tools
            .iter()
            .map(|(tool, scope)| {
                let at = &scope.referenced;
                (tool.clone(), scope.value.clone(), at.line(), at.column())
            })
            .collect(),
    }
}

/// RFC 6749 3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty() && scope.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}
