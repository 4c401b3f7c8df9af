//! Diagnostics: what went wrong, where (file, line:column, document path) and
//! how to fix it. Every stage collects all of its diagnostics before failing;
//! the CLI prints them sorted.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file as the user named it (relative to the working directory or config).
    pub file: String,
    /// 1-based line and column, when known.
    pub line_col: Option<(u64, u64)>,
    /// JSON pointer into the document (`/paths/~1pets~1{id}/get/parameters/1`),
    /// shown as a document path (`paths./pets/{id}.get.parameters[1]`).
    pub pointer: Option<String>,
    pub message: String,
    pub help: Option<String>,
    /// Printed as `warning:`; fails the run only with `--strict`.
    pub warning: bool,
    /// The source line at `line_col`, shown with a caret under the column.
    pub snippet: Option<String>,
}

impl Diagnostic {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line_col: None,
            pointer: None,
            message: message.into(),
            help: None,
            warning: false,
            snippet: None,
        }
    }
    pub fn warning(mut self) -> Diagnostic {
        self.warning = true;
        self
    }
    /// Locate the diagnostic at a JSON pointer into the document.
    pub fn at(mut self, pointer: impl Into<String>) -> Diagnostic {
        self.pointer = Some(pointer.into());
        self
    }
    pub fn line_col(mut self, line: u64, column: u64) -> Diagnostic {
        if line > 0 {
            self.line_col = Some((line, column));
        }
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }
}

/// The machine-readable form (`--json`): the location as a document path.
impl serde::Serialize for Diagnostic {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            severity: &'static str,
            file: &'a str,
            line: Option<u64>,
            column: Option<u64>,
            path: Option<String>,
            message: &'a str,
            help: Option<&'a str>,
        }
        Json {
            severity: if self.warning { "warning" } else { "error" },
            file: &self.file,
            line: self.line_col.map(|(line, _)| line),
            column: self.line_col.map(|(_, column)| column),
            path: self.pointer.as_deref().map(pointer_to_path),
            message: &self.message,
            help: self.help.as_deref(),
        }
        .serialize(serializer)
    }
}

/// An error that isn't about the inputs, in `--json` output.
#[derive(serde::Serialize)]
struct Failure<'a> {
    severity: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    help: Option<&'a str>,
}

impl Error {
    /// Every diagnostic (sorted) for `--json`; any other error becomes one.
    pub fn diagnostics_json(&self) -> Vec<serde_json::Value> {
        fn value(v: &impl serde::Serialize) -> serde_json::Value {
            serde_json::to_value(v).expect("diagnostics serialize")
        }
        match self {
            Error::Diagnostics(diagnostics) => {
                let mut sorted = diagnostics.clone();
                sorted.sort();
                sorted.dedup();
                sorted.iter().map(value).collect()
            }
            Error::Io(message) => vec![value(&Failure {
                severity: "error",
                message: message.clone(),
                help: None,
            })],
            Error::Bug(message) => vec![value(&Failure {
                severity: "error",
                message: format!("internal error: {message}"),
                help: Some(REPORT_BUG),
            })],
        }
    }

    /// The process exit code for this error: 1 the inputs, 2 I/O, 3 a bug in mcpgen.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Diagnostics(_) => 1,
            Error::Io(_) => 2,
            Error::Bug(_) => 3,
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", if self.warning { "warning" } else { "error" }, self.file)?;
        if let Some((line, col)) = self.line_col {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(pointer) = &self.pointer {
            write!(f, ": {}", pointer_to_path(pointer))?;
        }
        write!(f, ": {}", self.message)?;
        if let (Some(line_text), Some((line, col))) = (&self.snippet, self.line_col) {
            let (shown, caret) = window(line_text, col as usize);
            let gutter = " ".repeat(line.to_string().len());
            write!(
                f,
                "\n {gutter} |\n {line} | {shown}\n {gutter} | {}^",
                " ".repeat(caret)
            )?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// At most 100 characters of a long line around the 1-based column, and the
/// caret's offset within what is shown (minified JSON is one huge line).
fn window(line: &str, column: usize) -> (String, usize) {
    let chars: Vec<char> = line.trim_end().chars().collect();
    let at = column.saturating_sub(1).min(chars.len());
    if chars.len() <= 100 {
        return (chars.iter().collect(), at);
    }
    let start = at.saturating_sub(40);
    let end = (start + 100).min(chars.len());
    let prefix = if start > 0 { "…" } else { "" };
    let suffix = if end < chars.len() { "…" } else { "" };
    (
        format!("{prefix}{}{suffix}", chars[start..end].iter().collect::<String>()),
        at - start + prefix.chars().count(),
    )
}

/// Give every diagnostic about `file` that has a line its source line.
pub fn attach_snippets(diagnostics: &mut [Diagnostic], file: &str, text: &str) {
    for d in diagnostics.iter_mut().filter(|d| d.file == file && d.snippet.is_none()) {
        if let Some((line, _)) = d.line_col {
            d.snippet = text.lines().nth(line as usize - 1).map(str::to_string);
        }
    }
}

/// What to do about an internal error.
const REPORT_BUG: &str = "this is a bug in mcpgen, not in your files; please report it at \
    https://github.com/mcpgen/mcpgen/issues with the spec and mcpgen.yaml that caused it";

/// Why a run failed: diagnostics about the inputs (exit 1), I/O (exit 2), or
/// a bug in mcpgen itself (exit 3: a template or the formatter failed).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", render(.0))]
    Diagnostics(Vec<Diagnostic>),
    #[error("{0}")]
    Io(String),
    #[error("internal error: {0}\n  help: {REPORT_BUG}")]
    Bug(String),
}

impl Error {
    pub fn one(diagnostic: Diagnostic) -> Error {
        Error::Diagnostics(vec![diagnostic])
    }
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Error {
        Error::Io(format!("{what}: {err}"))
    }
}

fn render(diagnostics: &[Diagnostic]) -> String {
    let mut sorted = diagnostics.to_vec();
    sorted.sort();
    sorted.dedup();
    let mut out: Vec<String> = sorted.iter().map(ToString::to_string).collect();
    if sorted.len() > 1 {
        out.push(format!("{} errors", sorted.len()));
    }
    out.join("\n")
}

/// OpenAPI keys whose values are arrays: their numeric children print as `[n]`.
const ARRAY_KEYS: &[&str] = &[
    "parameters",
    "allOf",
    "oneOf",
    "anyOf",
    "servers",
    "security",
    "tags",
    "enum",
    "required",
    "prefixItems",
];

/// `/paths/~1pets~1{id}/get/parameters/1` → `paths./pets/{id}.get.parameters[1]`.
pub fn pointer_to_path(pointer: &str) -> String {
    if pointer.is_empty() {
        return "(document root)".to_string();
    }
    let mut out = String::new();
    let mut previous = String::new();
    for segment in pointer.trim_start_matches('/').split('/') {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if ARRAY_KEYS.contains(&previous.as_str()) && segment.parse::<usize>().is_ok() {
            out.push_str(&format!("[{segment}]"));
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
        previous = segment;
    }
    out
}

/// Escape one JSON pointer segment.
pub fn escape_pointer(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Turn collected diagnostics into a result.
pub fn finish<T>(value: T, diagnostics: Vec<Diagnostic>) -> Result<T, Error> {
    if diagnostics.is_empty() {
        Ok(value)
    } else {
        Err(Error::Diagnostics(diagnostics))
    }
}

/// Levenshtein-closest candidate, for "did you mean" hints.
pub fn did_you_mean<'a>(wrong: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let wrong_lower = wrong.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::levenshtein(&wrong_lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(wrong.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

/// The JSON pointer of a local `$ref` (`#/a/b`), percent-decoded as URI
/// fragments are (`#/paths/~1pets~1%7Bid%7D`); `None` for other documents.
pub fn local_pointer(reference: &str) -> Option<String> {
    let fragment = reference.strip_prefix('#')?;
    Some(
        percent_encoding::percent_decode_str(fragment)
            .decode_utf8_lossy()
            .into_owned(),
    )
}

/// An error with its causes, each after a colon ("error sending request: … Connection refused").
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_position_path_message_and_help() {
        let d = Diagnostic::new("openapi.yaml", "cookie parameters are not supported")
            .at("/paths/~1pets/get/parameters/0")
            .line_col(12, 7)
            .help("exclude the operation in mcpgen.yaml");
        assert_eq!(
            d.to_string(),
            "error: openapi.yaml:12:7: paths./pets.get.parameters[0]: cookie parameters are not supported\n  help: exclude the operation in mcpgen.yaml"
        );
    }

    #[test]
    fn snippets_point_at_the_column() {
        let mut ds = vec![Diagnostic::new("m.yaml", "unknown field `nmae`").line_col(2, 3)];
        attach_snippets(&mut ds, "m.yaml", "server:\n  nmae: x\n");
        assert_eq!(
            ds[0].to_string(),
            "error: m.yaml:2:3: unknown field `nmae`\n   |\n 2 |   nmae: x\n   |   ^"
        );
        let long = format!("{}X{}", "a".repeat(300), "b".repeat(300));
        let (shown, caret) = window(&long, 301);
        assert_eq!(shown.chars().nth(caret), Some('X'));
        assert!(shown.chars().count() <= 102);
    }

    #[test]
    fn pointers_print_as_document_paths() {
        assert_eq!(
            pointer_to_path("/paths/~1pets~1{id}/get/responses/200"),
            "paths./pets/{id}.get.responses.200"
        );
        assert_eq!(
            pointer_to_path("/components/schemas/Pet/allOf/1/properties/a~0b"),
            "components.schemas.Pet.allOf[1].properties.a~b"
        );
        assert_eq!(pointer_to_path(""), "(document root)");
    }

    #[test]
    fn suggests_close_names_only() {
        assert_eq!(
            did_you_mean("getPetByID", ["getPetById", "listPets"]),
            Some("getPetById")
        );
        assert_eq!(did_you_mean("completelyDifferent", ["getPetById"]), None);
    }
}
