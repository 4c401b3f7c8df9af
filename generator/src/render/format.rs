//! Rendered Rust → canonical Rust: parsed with `syn` (so invalid output is
//! caught here, not by the user's compiler) and printed with `prettyplease`
//! (so output is deterministic whatever the template's whitespace).

use crate::diag::Error;

pub fn format_rust(template: &str, source: &str) -> Result<String, Error> {
    let file = syn::parse_file(source).map_err(|e| {
        let start = e.span().start();
        let line = source.lines().nth(start.line.saturating_sub(1)).unwrap_or_default();
        Error::Io(format!(
            "generator bug: template {template} produced invalid Rust at {}:{}: {e}\n  | {line}",
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
        let err = format_rust("t.rs.tera", "fn main() {\n  let x = ;\n}")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("generator bug: template t.rs.tera produced invalid Rust at 2:"),
            "{err}"
        );
    }
}
