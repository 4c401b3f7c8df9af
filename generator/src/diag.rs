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
    /// A document path such as `paths./pets/{id}.get.parameters[1]`.
    pub path: Option<String>,
    pub message: String,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(file: impl Into<String>, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            file: file.into(),
            line_col: None,
            path: None,
            message: message.into(),
            help: None,
        }
    }
    pub fn at(mut self, path: impl Into<String>) -> Diagnostic {
        self.path = Some(path.into());
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

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error: {}", self.file)?;
        if let Some((line, col)) = self.line_col {
            write!(f, ":{line}:{col}")?;
        }
        if let Some(path) = &self.path {
            write!(f, ": {path}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Why a run failed: diagnostics about the inputs (exit 1) or I/O (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}", render(.0))]
    Diagnostics(Vec<Diagnostic>),
    #[error("{0}")]
    Io(String),
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
        .map(|c| (edit_distance(&wrong_lower, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.len().max(wrong.len()) / 3).max(1))
        .min()
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_file_position_path_message_and_help() {
        let d = Diagnostic::new("openapi.yaml", "cookie parameters are not supported")
            .at("paths./pets.get.parameters[0]")
            .line_col(12, 7)
            .help("exclude the operation in mcpgen.yaml");
        assert_eq!(
            d.to_string(),
            "error: openapi.yaml:12:7: paths./pets.get.parameters[0]: cookie parameters are not supported\n  help: exclude the operation in mcpgen.yaml"
        );
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
