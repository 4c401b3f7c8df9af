//! Field paths of redaction rules (`a.b`, `$.users[*].email`, `**.password`):
//! the generator checks them and applies them to output schemas, the runtime
//! applies them to results. One grammar, parsed here for both.

/// A field path: `a.b`, `$.users[*].email`, `**.password`, `items.*.secret`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPath(pub Vec<Segment>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    AnyKey,
    AnyIndex,
    Index(usize),
    /// `**`: zero or more levels.
    Deep,
}

impl FieldPath {
    pub fn parse(text: &str) -> Result<FieldPath, String> {
        let bad = |why: &str| Err(format!("field path `{text}` is invalid: {why}"));
        let body = text.strip_prefix('$').unwrap_or(text);
        let body = body.strip_prefix('.').unwrap_or(body);
        let mut segments = Vec::new();
        for part in body.split('.') {
            let (name, mut brackets) = match part.find('[') {
                Some(i) => (&part[..i], &part[i..]),
                None => (part, ""),
            };
            match name {
                "" if brackets.is_empty() => return bad("it has an empty segment"),
                "" => {}
                "**" => segments.push(Segment::Deep),
                "*" => segments.push(Segment::AnyKey),
                key => segments.push(Segment::Key(key.to_string())),
            }
            while !brackets.is_empty() {
                let Some(close) = brackets.find(']') else {
                    return bad("a `[` is not closed");
                };
                match &brackets[1..close] {
                    "*" => segments.push(Segment::AnyIndex),
                    index => match index.parse() {
                        Ok(i) => segments.push(Segment::Index(i)),
                        Err(_) => return bad("use `[*]` or a number inside brackets"),
                    },
                }
                brackets = &brackets[close + 1..];
                if !brackets.is_empty() && !brackets.starts_with('[') {
                    return bad("put a `.` before a name that follows `]`");
                }
            }
        }
        match segments.last() {
            None => bad("it is empty"),
            Some(Segment::Deep) => bad("it must not end in `**`; name the field, e.g. `**.password`"),
            _ => Ok(FieldPath(segments)),
        }
    }
}

/// The path in the grammar `parse` reads (`items[*].user.login`).
impl std::fmt::Display for FieldPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, segment) in self.0.iter().enumerate() {
            let dot = if i == 0 { "" } else { "." };
            match segment {
                Segment::Key(key) => write!(f, "{dot}{key}")?,
                Segment::AnyKey => write!(f, "{dot}*")?,
                Segment::Deep => write!(f, "{dot}**")?,
                Segment::AnyIndex => f.write_str("[*]")?,
                Segment::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_parse_into_segments() {
        use Segment::*;
        for text in ["users[*].email", "**.password", "a.*[2]", "[*].id", "a[0][1].b"] {
            assert_eq!(FieldPath::parse(text).unwrap().to_string(), text);
        }
        let path = FieldPath::parse("$.users[*].email").unwrap();
        assert_eq!(path.0, [Key("users".into()), AnyIndex, Key("email".into())]);
        assert_eq!(
            FieldPath::parse("**.password").unwrap().0,
            [Deep, Key("password".into())]
        );
        assert_eq!(
            FieldPath::parse("a.*[2]").unwrap().0,
            [Key("a".into()), AnyKey, Index(2)]
        );
    }

    #[test]
    fn bad_paths_are_named_with_the_reason() {
        for (path, why) in [
            ("**", "must not end"),
            ("a..b", "empty segment"),
            ("a[x]", "brackets"),
            ("a[1", "not closed"),
            ("a[1]b", "put a `.`"),
        ] {
            let err = FieldPath::parse(path).unwrap_err();
            assert!(err.contains(path) && err.contains(why), "{err}");
        }
    }
}
