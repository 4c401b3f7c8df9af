//! Rendered Rust → canonical Rust: parsed with `syn` (so invalid output is
//! caught here, not by the user's compiler) and printed with `prettyplease`
//! (so output is deterministic whatever the template's whitespace).

use crate::diag::Error;

pub fn format_rust(template: &str, source: &str) -> Result<String, Error> {
    let file = syn::parse_file(source).map_err(|e| {
        let start = e.span().start();
        let line = source.lines().nth(start.line.saturating_sub(1)).unwrap_or_default();
        Error::Bug(format!(
            "template {template} produced invalid Rust at {}:{}: {e}\n  | {line}",
            start.line,
            start.column + 1
        ))
    })?;
    Ok(prettyplease::unparse(&file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_reports_invalid_rust() {
        assert_eq!(format_rust("t", "fn  main( ){}").unwrap(), "fn main() {}\n");
        let err = format_rust("t.rs.tera", "fn main() {\n  let x = ;\n}").unwrap_err();
        // Not the user's fault: its own exit code, and a request to report it.
        assert_eq!(err.exit_code(), 3);
        let text = err.to_string();
        assert!(
            text.starts_with("internal error: template t.rs.tera produced invalid Rust at 2:"),
            "{text}"
        );
        assert!(text.contains("this is a bug in mcpgen"), "{text}");
    }
}
