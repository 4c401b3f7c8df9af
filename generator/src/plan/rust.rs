//! Planned values written as the Rust expressions of the runtime's table
//! types (`mcpgen_spec`), for the templates to print.
//!
//! The plan holds typed values (the shared enums, `PageKind<String>`, …);
//! how each reads in a generated table (which variant, which shorthand
//! constructor) is decided here and in the plan types' `Expr` impls, so
//! templates only print.
//! Whitespace doesn't matter: generated Rust is formatted afterwards.

use std::fmt::Write as _;

use mcpgen_spec::{ApiKeyLocation, BodyEncoding, Location, Method, PageKind, Policy, SchemeKind, Style};
use serde::Serializer;

/// A value that can be written as a Rust expression.
pub trait Expr {
    fn write(&self, out: &mut String);

    fn expr(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out
    }
}

/// For `#[serde(serialize_with = "rust::expr")]`: the field reaches the
/// templates as its Rust expression.
pub fn expr<T: Expr, S: Serializer>(value: &T, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.expr())
}

impl Expr for str {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "{self:?}");
    }
}

impl Expr for String {
    fn write(&self, out: &mut String) {
        self.as_str().write(out);
    }
}

impl Expr for bool {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Expr for u32 {
    fn write(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl<T: Expr> Expr for Option<T> {
    fn write(&self, out: &mut String) {
        match self {
            Some(value) => {
                out.push_str("Some(");
                value.write(out);
                out.push(')');
            }
            None => out.push_str("None"),
        }
    }
}

impl<T: Expr> Expr for Vec<T> {
    fn write(&self, out: &mut String) {
        slice(out, self);
    }
}

/// Rust text written as is.
pub struct Verbatim(pub String);

impl Expr for Verbatim {
    fn write(&self, out: &mut String) {
        out.push_str(&self.0);
    }
}

/// `Type { field: value, … }`: a struct literal of the tables.
pub fn fields(out: &mut String, type_name: &str, fields: &[(&str, &dyn Expr)]) {
    out.push_str(type_name);
    out.push_str(" {");
    for (i, (name, value)) in fields.iter().enumerate() {
        out.push_str(if i == 0 { " " } else { ", " });
        out.push_str(name);
        out.push_str(": ");
        value.write(out);
    }
    out.push_str(" }");
}

/// `&[a, b, …]`: a slice of the tables.
pub fn slice<T: Expr>(out: &mut String, items: &[T]) {
    out.push_str("&[");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        item.write(out);
    }
    out.push(']');
}

/// Fieldless enums are written as `Type::Variant`, their `Debug` name.
macro_rules! variant_expr {
    ($($type:ident),*) => {$(
        impl Expr for $type {
            fn write(&self, out: &mut String) {
                let _ = write!(out, concat!(stringify!($type), "::{:?}"), self);
            }
        }
    )*};
}
variant_expr!(Method, Location, Style, BodyEncoding, ApiKeyLocation);

impl Expr for Policy {
    fn write(&self, out: &mut String) {
        let _ = write!(
            out,
            "Policy {{ timeout_ms: {}, deadline_ms: {}, max_attempts: {}, max_response_bytes: {} }}",
            self.timeout_ms, self.deadline_ms, self.max_attempts, self.max_response_bytes
        );
    }
}

impl Expr for SchemeKind<String> {
    fn write(&self, out: &mut String) {
        match self {
            SchemeKind::ApiKey { location, name } => {
                fields(out, "SchemeKind::ApiKey", &[("location", location), ("name", name)])
            }
            SchemeKind::Bearer => out.push_str("SchemeKind::Bearer"),
            SchemeKind::Basic => out.push_str("SchemeKind::Basic"),
            SchemeKind::OAuth2ClientCredentials {
                token_url,
                scopes,
                secret_env,
            } => fields(
                out,
                "SchemeKind::OAuth2ClientCredentials",
                &[("token_url", token_url), ("scopes", scopes), ("secret_env", secret_env)],
            ),
        }
    }
}

impl Expr for PageKind<String> {
    fn write(&self, out: &mut String) {
        match self {
            PageKind::Cursor { param, next } => fields(out, "PageKind::Cursor", &[("param", param), ("next", next)]),
            PageKind::AfterLastItem { param, id, has_more } => fields(
                out,
                "PageKind::AfterLastItem",
                &[("param", param), ("id", id), ("has_more", has_more)],
            ),
            PageKind::Offset { param, size } => fields(out, "PageKind::Offset", &[("param", param), ("size", size)]),
            PageKind::Page { param, size, first } => fields(
                out,
                "PageKind::Page",
                &[("param", param), ("size", size), ("first", first)],
            ),
            PageKind::Link => out.push_str("PageKind::Link"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_as_the_runtime_spells_them() {
        assert_eq!(Method::Get.expr(), "Method::Get");
        assert_eq!(Style::DeepObject.expr(), "Style::DeepObject");
        assert_eq!(Some("a\"b".to_string()).expr(), r#"Some("a\"b")"#);
        assert_eq!(None::<String>.expr(), "None");
        assert_eq!(
            PageKind::Page {
                param: "page".to_string(),
                size: None,
                first: 0
            }
            .expr(),
            r#"PageKind::Page { param: "page", size: None, first: 0 }"#
        );
        assert_eq!(
            SchemeKind::ApiKey {
                location: ApiKeyLocation::Header,
                name: "X-Key".to_string()
            }
            .expr(),
            r#"SchemeKind::ApiKey { location: ApiKeyLocation::Header, name: "X-Key" }"#
        );
    }
}
