//! The `instructions` of the initialize result: what a model should know
//! before it sees any tool. Hosts that defer tool schemas until a search
//! finds them (Claude Code, VS Code, the OpenAI Responses API) show the
//! model little else, so this says what the server offers and how to reach
//! it: the API's own description (its first paragraph), the view's toolsets
//! with one line each, and how to find operations on the discovery surface.

use std::fmt::Write as _;

use crate::serve::discovery::{CALL_READ, CALL_WRITE, SEARCH};
use crate::serve::surface::View;
use crate::spec::ServerSpec;

/// Bounds that keep the instructions short whatever the spec says.
const DESCRIPTION_CHARS: usize = 500;
const TOOLSET_LINES: usize = 25;
const TOOLSET_CHARS: usize = 100;

/// The instructions for a view of `spec`.
pub fn instructions(spec: &ServerSpec, view: &View) -> String {
    let mut out = String::new();
    if let Some(description) = spec.instructions {
        let first = description.split("\n\n").next().unwrap_or_default().trim();
        out.push_str(&clip(first, DESCRIPTION_CHARS));
        out.push_str("\n\n");
    }
    let api = spec.title.unwrap_or(spec.name);
    let count = view.tools().count();
    let toolsets: Vec<_> = spec
        .toolsets
        .iter()
        .filter(|t| view.toolsets.is_empty() || view.toolsets.contains(&t.name))
        .map(|t| (t, t.tools.iter().filter(|&&i| view.contains(i as usize)).count()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let _ = write!(out, "This server calls the {api} API: {count} operations");
    if toolsets.is_empty() {
        out.push_str(".\n");
    } else {
        let _ = writeln!(out, ", in these toolsets:");
        for (toolset, n) in toolsets.iter().take(TOOLSET_LINES) {
            let line = toolset.description.lines().next().unwrap_or_default().trim();
            let _ = write!(out, "- {} ({n})", toolset.name);
            if !line.is_empty() {
                let _ = write!(out, ": {}", clip(line, TOOLSET_CHARS));
            }
            out.push('\n');
        }
        if toolsets.len() > TOOLSET_LINES {
            let _ = writeln!(out, "- and {} more", toolsets.len() - TOOLSET_LINES);
        }
    }
    if view.surface.lists_meta_tools() {
        let _ = write!(
            out,
            "\nTo use an operation, find it with {SEARCH}: say what you want to do in a few words \
             (`describe: 1` also returns the best match's arguments). Then run it with {CALL_READ} \
             (operations that only read) or {CALL_WRITE}."
        );
        if view.surface.lists_operations() {
            out.push_str(" Each operation is also a tool of its own.");
        }
    } else {
        out.push_str(
            "\nEach operation is a tool. If your host loads tools on demand, search its tools by what you want to do.",
        );
    }
    out
}

/// `text` cut at a word boundary to at most `max` characters, with `…` when cut.
fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max).collect();
    let end = cut.rfind(char::is_whitespace).unwrap_or(cut.len());
    format!("{}…", cut[..end].trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::SPEC;
    use crate::spec::Surface;

    #[test]
    fn the_catalog_names_the_toolsets_of_the_view_and_how_to_search() {
        let all = View::new(&SPEC, &[], Surface::Discovery, &[], 0).unwrap();
        let text = instructions(&SPEC, &all);
        for toolset in SPEC.toolsets {
            assert!(text.contains(&format!("- {} (", toolset.name)), "{text}");
        }
        assert!(text.contains(SEARCH) && text.contains(CALL_WRITE), "{text}");
        let store = View::new(&SPEC, &[], Surface::Tools, &["store".into()], 0).unwrap();
        let text = instructions(&SPEC, &store);
        assert!(text.contains("- store (") && !text.contains("- pets ("), "{text}");
        assert!(!text.contains(SEARCH), "the tools surface has no search tool: {text}");
    }

    #[test]
    fn long_text_is_clipped_at_a_word() {
        assert_eq!(clip("short", 10), "short");
        assert_eq!(clip("one two three four", 10), "one two…");
    }
}
