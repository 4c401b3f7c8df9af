//! `mcpgen init --interactive` (and plain `init` on a terminal): the
//! selection file chosen step by step, with what it costs in view.
//!
//! 1. the server's name and `max_tools`;
//! 2. tags and operations, toggled one at a time in a filterable list whose
//!    help line shows the running tool count and `tools/list` token cost
//!    against `max_tools` and the token budget (each toggle's answer line
//!    logs the change and the new totals);
//! 3. the surface, the one the token budget suggests first;
//! 4. each env var's name and description (base URL, each credential);
//!
//! then the same file the non-interactive `init` writes, with the choices
//! active. Ctrl-C or Esc at any step writes nothing. The prompts are
//! `inquire`'s; sizes come from `mcpgen list` (each tool's entry as the server
//! sends it), so they are what `generate` will report.

use std::collections::BTreeSet;
use std::path::Path;

use inquire::error::InquireError;
use inquire::list_option::ListOption;
use inquire::ui::{RenderConfig, Styled};
use inquire::validator::Validation;
use inquire::{CustomType, Select, Text};

use crate::commands::init::{self, Choices, EnvChoice};
use crate::commands::list::{self, Row};
use crate::diag::Error;
use crate::ir::Api;
use crate::select::DEFAULT_TOKEN_BUDGET;

/// How the wizard ended.
pub enum Outcome {
    /// The file was written: its text and a one-line summary.
    Written { text: String, summary: String },
    /// Ctrl-C or Esc: nothing was written.
    Cancelled,
}

/// One row of the picker: done, a whole tag, or one operation (by row index).
#[derive(Clone, Copy)]
enum Entry {
    Done,
    Tag(usize),
    Operation(usize),
}

/// What is selected so far, and what it costs.
struct Picker<'a> {
    api: &'a Api,
    rows: &'a [Row],
    chosen: BTreeSet<usize>,
    max_tools: usize,
    width: usize,
}

impl Picker<'_> {
    fn tokens(&self) -> usize {
        self.chosen.iter().filter_map(|&i| self.rows[i].tokens).sum()
    }

    fn totals(&self) -> String {
        format!(
            "{} of max {} tools · tools/list ~{} of {} tokens",
            self.chosen.len(),
            self.max_tools,
            thousands(self.tokens()),
            thousands(DEFAULT_TOKEN_BUDGET)
        )
    }

    fn tag_rows(&self, tag: usize) -> Vec<usize> {
        let name = &self.api.tags[tag];
        (0..self.rows.len())
            .filter(|&i| self.rows[i].tags.contains(name) && self.rows[i].tokens.is_some())
            .collect()
    }

    fn entries(&self) -> Vec<Entry> {
        let tags = (0..self.api.tags.len())
            .filter(|&t| !self.tag_rows(t).is_empty())
            .map(Entry::Tag);
        // One by one only what has an operationId: the file names operations by it.
        let operations = (0..self.rows.len())
            .filter(|&i| self.rows[i].operation_id.is_some() && self.rows[i].tokens.is_some())
            .map(Entry::Operation);
        std::iter::once(Entry::Done).chain(tags).chain(operations).collect()
    }

    fn label(&self, entry: Entry) -> String {
        let text = match entry {
            Entry::Done => format!("Done: write the file ({})", self.totals()),
            Entry::Tag(t) => {
                let rows = self.tag_rows(t);
                let on = rows.iter().filter(|i| self.chosen.contains(i)).count();
                let mark = match on {
                    0 => "[ ]",
                    n if n == rows.len() => "[x]",
                    _ => "[~]",
                };
                let tokens: usize = rows.iter().filter_map(|&i| self.rows[i].tokens).sum();
                format!(
                    "{mark} tag {}: {} operation{}, ~{} tokens",
                    self.api.tags[t],
                    rows.len(),
                    if rows.len() == 1 { "" } else { "s" },
                    thousands(tokens)
                )
            }
            Entry::Operation(i) => {
                let row = &self.rows[i];
                let mark = if self.chosen.contains(&i) { "[x]" } else { "[ ]" };
                format!(
                    "{mark} {} {} {} (~{} tokens)",
                    row.tool,
                    row.method,
                    row.path,
                    row.tokens.unwrap_or(0)
                )
            }
        };
        fit(&text, self.width.saturating_sub(4))
    }

    /// The log line of toggling `entry`: what changes and the new totals.
    fn preview(&self, entry: Entry) -> String {
        let mut after = Picker {
            chosen: self.chosen.clone(),
            ..*self
        };
        match entry {
            Entry::Done => "done".to_string(),
            _ => {
                let change = after.toggle(entry);
                format!("{change} → {}", after.totals())
            }
        }
    }

    /// Toggles `entry`; returns what changed.
    fn toggle(&mut self, entry: Entry) -> String {
        match entry {
            Entry::Done => String::new(),
            Entry::Tag(t) => {
                let rows = self.tag_rows(t);
                let all = rows.iter().all(|i| self.chosen.contains(i));
                for i in rows {
                    if all {
                        self.chosen.remove(&i);
                    } else {
                        self.chosen.insert(i);
                    }
                }
                format!("{} tag {}", if all { "-" } else { "+" }, self.api.tags[t])
            }
            Entry::Operation(i) => {
                let added = self.chosen.insert(i);
                if !added {
                    self.chosen.remove(&i);
                }
                format!("{} {}", if added { "+" } else { "-" }, self.rows[i].tool)
            }
        }
    }
}

/// Runs the wizard for `spec`, writing `out`.
pub fn run(spec: &Path, out: &Path, force: bool) -> Result<Outcome, Error> {
    // https://no-color.org: plain text, answered prompts marked `>`.
    if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) {
        let mut plain = RenderConfig::empty();
        plain.answered_prompt_prefix = Styled::new(">");
        inquire::set_global_render_config(plain);
    }
    match steps(spec, out, force) {
        Ok(outcome) => Ok(outcome),
        Err(Step::Prompt(InquireError::OperationInterrupted | InquireError::OperationCanceled)) => {
            Ok(Outcome::Cancelled)
        }
        Err(Step::Prompt(e)) => Err(Error::Io(format!("the terminal prompt failed: {e}"))),
        Err(Step::Mcpgen(e)) => Err(e),
    }
}

enum Step {
    Prompt(InquireError),
    Mcpgen(Error),
}

impl From<InquireError> for Step {
    fn from(e: InquireError) -> Step {
        Step::Prompt(e)
    }
}

impl From<Error> for Step {
    fn from(e: Error) -> Step {
        Step::Mcpgen(e)
    }
}

// Long by design: the wizard's questions in the order a user meets them, each step using the answers before it.
fn steps(spec: &Path, out: &Path, force: bool) -> Result<Outcome, Step> {
    let (document, api, spec_from_out) = init::load_for(spec, out, force)?;
    let listing = list::list_loaded(&document, &api, &spec.display().to_string())?;
    drop(document);
    let mut choices = Choices::of(&api);
    eprintln!(
        "{} {}: {} operations, ~{} tokens in tools/list if every one were a tool.",
        api.title,
        api.version,
        listing.total,
        thousands(listing.tokens)
    );

    choices.name = Text::new("Server name (crate, package and binary):")
        .with_default(&choices.name)
        .with_validator(|name: &str| {
            let valid = !name.is_empty()
                && name.len() <= 64
                && name.starts_with(|c: char| c.is_ascii_lowercase())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_');
            Ok(if valid {
                Validation::Valid
            } else {
                Validation::Invalid("lowercase letters, digits, `-` and `_`, starting with a letter".into())
            })
        })
        .prompt()?;
    choices.max_tools = CustomType::<usize>::new("max_tools (generation fails above it):")
        .with_default(choices.max_tools)
        .with_error_message("a whole number, e.g. 40")
        .with_validator(|n: &usize| {
            Ok(if *n >= 1 {
                Validation::Valid
            } else {
                Validation::Invalid("at least 1".into())
            })
        })
        .prompt()?;

    let mut picker = Picker {
        api: &api,
        rows: &listing.operations,
        chosen: BTreeSet::new(),
        max_tools: choices.max_tools,
        width: 80,
    };
    let entries = picker.entries();
    let mut cursor = 1.min(entries.len() - 1);
    loop {
        // Read each time: the terminal may have been resized.
        let (width, rows) = terminal_size();
        picker.width = width;
        let page_size = rows.saturating_sub(6).clamp(3, 15);
        let labels: Vec<String> = entries.iter().map(|&e| picker.label(e)).collect();
        let help = fit(
            &format!("{} · enter toggles · type to filter · Esc cancels", picker.totals()),
            width.saturating_sub(2),
        );
        let answer: ListOption<String> = Select::new("Tools:", labels)
            .with_help_message(&help)
            .with_page_size(page_size)
            .with_starting_cursor(cursor)
            .with_formatter(&|option| picker.preview(entries[option.index]))
            .raw_prompt()?;
        cursor = answer.index;
        let entry = entries[answer.index];
        if let Entry::Done = entry {
            if picker.chosen.is_empty() {
                eprintln!("  nothing is selected yet: toggle a tag or an operation");
                continue;
            }
            if picker.chosen.len() > picker.max_tools {
                eprintln!(
                    "  {} tools are over max_tools {}: deselect {}",
                    picker.chosen.len(),
                    picker.max_tools,
                    picker.chosen.len() - picker.max_tools
                );
                continue;
            }
            break;
        }
        picker.toggle(entry);
    }

    // Whole tags where every operation of a tag is chosen, the rest one by one.
    let mut covered = BTreeSet::new();
    for (t, tag) in api.tags.iter().enumerate() {
        let rows = picker.tag_rows(t);
        if !rows.is_empty() && rows.iter().all(|i| picker.chosen.contains(i)) {
            choices.tags.push(tag.clone());
            covered.extend(rows);
        }
    }
    choices.operations = picker
        .chosen
        .iter()
        .filter(|i| !covered.contains(i))
        .filter_map(|&i| listing.operations[i].operation_id.clone())
        .collect();
    let (count, tokens) = (picker.chosen.len(), picker.tokens());

    // The recommended surface first: what the token budget would choose.
    let over = tokens > DEFAULT_TOKEN_BUDGET;
    let mut surfaces = [
        ("tools", "tools: one tool per operation"),
        (
            "discovery",
            "discovery: search, describe and call meta-tools over every operation",
        ),
        ("both", "both: the meta-tools and one tool per operation"),
    ];
    if over {
        surfaces.swap(0, 1);
    }
    let labels: Vec<String> = surfaces
        .iter()
        .enumerate()
        .map(|(i, (_, label))| {
            if i == 0 {
                format!("{label} (recommended)")
            } else {
                label.to_string()
            }
        })
        .map(|label| fit(&label, terminal_size().0.saturating_sub(4)))
        .collect();
    let message = format!(
        "tools/list is ~{} tokens, {} the {} budget. Surface:",
        thousands(tokens),
        if over { "over" } else { "within" },
        thousands(DEFAULT_TOKEN_BUDGET)
    );
    let surface = Select::new(&message, labels).raw_prompt()?;
    choices.surface = Some(surfaces[surface.index].0);

    let describe = |what: &str, env: &mut EnvChoice, default: String| -> Result<(), InquireError> {
        env.env = Text::new(&format!("Env var for {what}:"))
            .with_default(&env.env)
            .with_validator(|name: &str| {
                let valid = name.starts_with(|c: char| c.is_ascii_uppercase())
                    && name
                        .chars()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
                Ok(if valid {
                    Validation::Valid
                } else {
                    Validation::Invalid("uppercase letters, digits and `_`, starting with a letter".into())
                })
            })
            .prompt()?;
        let description = Text::new(&format!("Description of {}:", env.env))
            .with_default(&default)
            .prompt()?;
        env.description = Some(description).filter(|d| !d.trim().is_empty());
        Ok(())
    };
    let base_default = match &choices.server {
        Some(server) => format!("Base URL of the API (default: {server})"),
        None => "Base URL of the API, e.g. https://api.example.com".to_string(),
    };
    describe("the API's base URL", &mut choices.base_url, base_default)?;
    for scheme in &mut choices.schemes {
        let what = format!("`{}` ({})", scheme.scheme, scheme.what);
        let default = format!("{} for the API", capitalized(&scheme.what));
        describe(&what, &mut scheme.env, default)?;
        if let Some(secret) = &mut scheme.client_secret {
            describe(
                &format!("`{}`'s client secret", scheme.scheme),
                secret,
                "OAuth2 client secret".to_string(),
            )?;
        }
    }

    let summary = format!(
        "{count} tool{}, ~{} tokens in tools/list (chosen with `mcpgen init --interactive`).",
        if count == 1 { "" } else { "s" },
        thousands(tokens)
    );
    choices.summary = Some(summary.clone());
    let text = init::selection_text(&api, &spec_from_out, &choices);
    init::write(out, &text)?;
    Ok(Outcome::Written { text, summary })
}

/// Columns and rows (80×24 when unknown).
fn terminal_size() -> (usize, usize) {
    crossterm::terminal::size().map_or((80, 24), |(columns, rows)| {
        (usize::from(columns).max(20), usize::from(rows))
    })
}

/// `text` cut to `width` characters (with `…`), so a narrow terminal never wraps a row.
fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let keep = width.saturating_sub(1);
    format!("{}…", text.chars().take(keep).collect::<String>())
}

fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn capitalized(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_fit_and_numbers_read() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("abc", 4), "abc");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(999), "999");
        assert_eq!(capitalized("bearer token"), "Bearer token");
    }
}
