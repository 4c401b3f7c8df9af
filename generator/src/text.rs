//! Cleaning spec prose for the model: what a human reader's renderer would
//! hide costs tokens and tells the model nothing.
//!
//! HTML tags go (a `<br>` or `<p>` becomes a line break), the five common
//! entities are decoded, Markdown links keep their text (not the URL),
//! emphasis markers and heading hashes go, trailing spaces go, and runs of
//! blank lines become one. Paragraphs, lists and code indentation stay.

pub fn clean(text: &str) -> String {
    let text = strip_html(text);
    let text = unlink_markdown(&text);
    let mut out = String::new();
    let mut blank = false;
    for line in text.trim().lines() {
        let line = tidy_line(line);
        if line.trim().is_empty() {
            blank = true;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank { "\n\n" } else { "\n" });
        }
        blank = false;
        out.push_str(&line);
    }
    out
}

fn tidy_line(line: &str) -> String {
    let line = line.trim_end();
    let indent = &line[..line.len() - line.trim_start().len()];
    let body = line.trim_start();
    let body = body.trim_start_matches('#').trim_start();
    let body = body.replace("**", "").replace("__", "");
    let mut collapsed = String::with_capacity(body.len());
    let mut space = false;
    for c in body.chars() {
        if c == ' ' {
            if !space {
                collapsed.push(' ');
            }
            space = true;
        } else {
            collapsed.push(c);
            space = false;
        }
    }
    format!("{indent}{collapsed}")
}

/// Tags removed, block tags turned into line breaks, entities decoded.
fn strip_html(text: &str) -> String {
    if !text.contains('<') && !text.contains('&') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let is_tag = after.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/' || c == '!');
        match (is_tag, after.find('>')) {
            (true, Some(close)) => {
                let tag = after[..close].trim_start_matches('/').to_ascii_lowercase();
                let name = tag.split(|c: char| !c.is_ascii_alphanumeric()).next().unwrap_or("");
                if matches!(
                    name,
                    "br" | "p" | "div" | "li" | "tr" | "h1" | "h2" | "h3" | "h4" | "ul" | "ol"
                ) {
                    out.push('\n');
                }
                rest = &after[close + 1..];
            }
            _ => {
                out.push('<');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// `[text](url)` → `text`; images `![alt](url)` → `alt`.
fn unlink_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let Some(close) = rest[open..].find("](").map(|i| open + i) else {
            break;
        };
        let Some(end) = rest[close + 2..].find(')').map(|i| close + 2 + i) else {
            break;
        };
        let label = &rest[open + 1..close];
        if label.contains('\n') || rest[close + 2..end].contains(char::is_whitespace) {
            out.push_str(&rest[..open + 1]);
            rest = &rest[open + 1..];
            continue;
        }
        let before = rest[..open].strip_suffix('!').unwrap_or(&rest[..open]);
        out.push_str(before);
        out.push_str(label);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn removes_markup_noise_and_keeps_structure() {
        let text = "## Overview\n\nLists **all** the [repositories](https://docs.github.com/rest/repos) you own.<br>\
                    Use &lt;owner&gt; &amp; name.\n\n\n\n- first   item\n    code stays indented\n<p>Next</p>";
        assert_eq!(
            clean(text),
            "Overview\n\nLists all the repositories you own.\nUse <owner> & name.\n\n- first item\n    code stays indented\n\nNext"
        );
    }

    #[test]
    fn leaves_plain_text_and_comparisons_alone() {
        assert_eq!(clean("a < b and [x] is a list\n"), "a < b and [x] is a list");
        assert_eq!(clean("  Returns pets.\n\n\n  Paged. "), "Returns pets.\n\n  Paged.");
    }
}
