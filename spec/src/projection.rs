//! Response projection (#22, `tools.<id>.response` in mcpgen.yaml): keep only
//! the fields a tool's answers need, rename some, and cut lists, so the model
//! reads less. Paths are redaction's (`a.b`, `items[*].id`, `**.name`),
//! parsed once by `fields`.
//!
//! Here, beside the tables, because both sides run it: the runtime on each
//! answer (after redaction), the generator on the spec's examples for
//! `mcpgen list`'s bytes saved.

use crate::ResponseSpec;
use crate::fields::{FieldPath, Segment};
use serde_json::{Map, Value};

/// The optional argument of tools with `ResponseSpec::fields_argument`.
pub const FIELDS_ARGUMENT: &str = "fields";

/// How many cut lists a note names (it counts them all).
const NAMED_CUTS: usize = 3;

/// What a tool keeps of its responses.
#[derive(Debug, Clone, Default)]
pub struct Projection {
    /// Fields kept, with what leads to them; empty keeps everything.
    pub keep: Vec<FieldPath>,
    /// Fields renamed: the path of a field, its new name.
    pub rename: Vec<(FieldPath, String)>,
    /// Items kept of every list, at most.
    pub max_items: Option<usize>,
}

impl Projection {
    /// The generator checked the paths; one it didn't write is a bug there.
    pub fn of(spec: &ResponseSpec) -> Projection {
        let path = |text: &str| FieldPath::parse(text).unwrap_or_else(|e| panic!("generated projection: {e}"));
        Projection {
            keep: spec.fields.iter().map(|p| path(p)).collect(),
            rename: spec
                .rename
                .iter()
                .map(|(p, name)| (path(p), name.to_string()))
                .collect(),
            max_items: spec.max_items.map(|n| n as usize),
        }
    }

    /// Only `keep`, as a model asked for it with the `fields` argument.
    pub fn asked(fields: &[String]) -> Result<Projection, String> {
        let keep = fields.iter().map(|f| FieldPath::parse(f)).collect::<Result<_, _>>()?;
        Ok(Projection {
            keep,
            ..Projection::default()
        })
    }

    pub fn apply(&self, value: &Value) -> Value {
        self.apply_noting(value, &mut Cuts::default())
    }

    /// `apply`, noting the lists `max_items` cut.
    pub fn apply_noting(&self, value: &Value, cuts: &mut Cuts) -> Value {
        let mut out = if self.keep.is_empty() {
            value.clone()
        } else {
            let paths: Vec<&[Segment]> = self.keep.iter().map(|p| p.0.as_slice()).collect();
            kept(value, &paths).unwrap_or_else(|| Value::Object(Map::new()))
        };
        for (path, name) in &self.rename {
            rename(&mut out, &path.0, name);
        }
        if let Some(max) = self.max_items {
            cut_lists(&mut out, max, &mut String::new(), cuts);
        }
        out
    }
}

/// Lists `max_items` cut: how many, and the first few with their lengths.
#[derive(Debug, Default)]
pub struct Cuts {
    pub count: usize,
    pub named: Vec<(String, usize)>,
}

impl Cuts {
    /// For the model: what it doesn't see, and that it can't get it from this tool.
    pub fn note(&self, max: Option<usize>) -> Option<String> {
        if self.count == 0 {
            return None;
        }
        let named: Vec<String> = self
            .named
            .iter()
            .map(|(at, total)| format!("`{}` had {total}", if at.is_empty() { "/" } else { at }))
            .collect();
        let more = self.count.saturating_sub(self.named.len());
        Some(format!(
            "{} list(s) cut to their first {} items by this tool's settings: {}{}. Narrow the request (filters, a specific id) to see others.",
            self.count,
            max.unwrap_or_default(),
            named.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            }
        ))
    }
}

/// Paths to keep, as they stand at one level of a value or its schema: a
/// path with nothing left keeps the whole subtree there. Shared with the
/// generator, which walks output schemas the way `kept` walks values.
pub type Here<'p> = Vec<&'p [Segment]>;

/// `paths` at this level: `**` also matches zero levels, so its rest applies here too.
pub fn here<'p>(paths: &[&'p [Segment]]) -> Here<'p> {
    let mut here = Vec::with_capacity(paths.len());
    for &path in paths {
        here.push(path);
        if path.first() == Some(&Segment::Deep) {
            here.push(&path[1..]);
        }
    }
    here
}

/// What of `here` continues under the object key `key`.
pub fn under_key<'p>(here: &[&'p [Segment]], key: &str) -> Here<'p> {
    here.iter()
        .filter_map(|path| match &path[0] {
            Segment::Key(name) if name == key => Some(&path[1..]),
            Segment::AnyKey => Some(&path[1..]),
            Segment::Deep => Some(*path),
            _ => None,
        })
        .collect()
}

/// What of `here` continues into a list's item at `index` (`None`: any
/// item). A key goes into every item: `items.title` reads as
/// `items[*].title`, as in redaction.
pub fn under_item<'p>(here: &[&'p [Segment]], index: Option<usize>) -> Here<'p> {
    here.iter()
        .filter_map(|path| match &path[0] {
            Segment::AnyIndex => Some(&path[1..]),
            Segment::Index(n) if index.is_none_or(|i| i == *n) => Some(&path[1..]),
            Segment::Index(_) => None,
            Segment::Key(_) | Segment::AnyKey | Segment::Deep => Some(*path),
        })
        .collect()
}

/// `value` with only what `paths` reach (a path fully matched keeps the
/// whole subtree there); `None` when no path reaches into it.
fn kept(value: &Value, paths: &[&[Segment]]) -> Option<Value> {
    let here = here(paths);
    if here.iter().any(|p| p.is_empty()) {
        return Some(value.clone());
    }
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, child) in map {
                let next = under_key(&here, key);
                if let Some(kept) = (!next.is_empty()).then(|| kept(child, &next)).flatten() {
                    out.insert(key.clone(), kept);
                }
            }
            (!out.is_empty()).then_some(Value::Object(out))
        }
        Value::Array(items) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                let next = under_item(&here, Some(i));
                match (!next.is_empty()).then(|| kept(item, &next)).flatten() {
                    Some(kept) => out.push(kept),
                    // An object item without the fields keeps its place, so
                    // positions and counts stay what the API said.
                    None if item.is_object() && !next.is_empty() => out.push(Value::Object(Map::new())),
                    None => {}
                }
            }
            // A list a path goes into stays, even empty: the model learns it is empty.
            Some(Value::Array(out))
        }
        _ => None,
    }
}

fn rename(value: &mut Value, path: &[Segment], name: &str) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    match (parents.first(), value) {
        (None, Value::Object(map)) => {
            let Segment::Key(old) = last else {
                return;
            };
            if map.contains_key(old) && !map.contains_key(name) {
                // Rebuilt so the renamed field keeps its place.
                let entries = std::mem::take(map);
                *map = entries
                    .into_iter()
                    .map(|(k, v)| if &k == old { (name.to_string(), v) } else { (k, v) })
                    .collect();
            }
        }
        (None, Value::Array(items)) => items.iter_mut().for_each(|item| rename(item, path, name)),
        (Some(first), Value::Object(map)) => match first {
            Segment::Key(key) => {
                if let Some(child) = map.get_mut(key) {
                    rename(child, &path[1..], name);
                }
            }
            Segment::AnyKey => map.values_mut().for_each(|child| rename(child, &path[1..], name)),
            Segment::Deep => {
                rename_here_and_below(map, path, name);
            }
            _ => {}
        },
        (Some(first), Value::Array(items)) => match first {
            Segment::AnyIndex => items.iter_mut().for_each(|item| rename(item, &path[1..], name)),
            Segment::Index(i) => {
                if let Some(item) = items.get_mut(*i) {
                    rename(item, &path[1..], name);
                }
            }
            _ => items.iter_mut().for_each(|item| rename(item, path, name)),
        },
        _ => {}
    }
}

/// `**.rest`: rename what `rest` names here, then at every level below.
fn rename_here_and_below(map: &mut Map<String, Value>, path: &[Segment], name: &str) {
    let mut here = Value::Object(std::mem::take(map));
    rename(&mut here, &path[1..], name);
    let Value::Object(renamed) = here else {
        unreachable!("an object stays one")
    };
    *map = renamed;
    for child in map.values_mut() {
        rename(child, path, name);
    }
}

/// Every list to `max` items; `at` is the JSON pointer of `value`.
fn cut_lists(value: &mut Value, max: usize, at: &mut String, cuts: &mut Cuts) {
    let len = at.len();
    match value {
        Value::Array(items) => {
            if items.len() > max {
                cuts.count += 1;
                if cuts.named.len() < NAMED_CUTS {
                    cuts.named.push((at.clone(), items.len()));
                }
                items.truncate(max);
            }
            for (i, item) in items.iter_mut().enumerate() {
                at.push('/');
                at.push_str(&i.to_string());
                cut_lists(item, max, at, cuts);
                at.truncate(len);
            }
        }
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                at.push('/');
                at.push_str(&key.replace('~', "~0").replace('/', "~1"));
                cut_lists(child, max, at, cuts);
                at.truncate(len);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn projection(keep: &[&str], rename: &[(&str, &str)], max_items: Option<usize>) -> Projection {
        Projection {
            keep: keep.iter().map(|p| FieldPath::parse(p).unwrap()).collect(),
            rename: rename
                .iter()
                .map(|(p, n)| (FieldPath::parse(p).unwrap(), n.to_string()))
                .collect(),
            max_items,
        }
    }

    fn issues() -> Value {
        json!({
            "total_count": 3,
            "incomplete_results": false,
            "items": [
                {"number": 1, "title": "a", "user": {"login": "ann", "id": 7, "avatar_url": "…"}, "body": "long"},
                {"number": 2, "title": "b", "user": {"login": "bob", "id": 8, "avatar_url": "…"}, "body": "long"},
                {"number": 3, "title": "c", "user": {"login": "cy", "id": 9, "avatar_url": "…"}, "body": "long"},
            ]
        })
    }

    #[test]
    fn only_the_named_fields_and_what_leads_to_them_are_kept() {
        let p = projection(
            &["total_count", "items[*].number", "items.title", "**.login"],
            &[],
            None,
        );
        assert_eq!(
            p.apply(&issues()),
            json!({"total_count": 3, "items": [
                {"number": 1, "title": "a", "user": {"login": "ann"}},
                {"number": 2, "title": "b", "user": {"login": "bob"}},
                {"number": 3, "title": "c", "user": {"login": "cy"}},
            ]})
        );
        // A whole subtree by its path; one item by index; nothing matched is an empty object.
        assert_eq!(
            projection(&["items[1].user"], &[], None).apply(&issues()),
            json!({"items": [{"user": {"login": "bob", "id": 8, "avatar_url": "…"}}]})
        );
        assert_eq!(projection(&["nothing"], &[], None).apply(&issues()), json!({}));
        // An item without the field keeps its place; an empty list a path goes through stays.
        assert_eq!(
            projection(&["items[*].label"], &[], None).apply(&json!({"items": [{"label": "x"}, {"id": 2}]})),
            json!({"items": [{"label": "x"}, {}]})
        );
        assert_eq!(
            projection(&["items[*].number"], &[], None).apply(&json!({"items": [], "x": 1})),
            json!({"items": []})
        );
    }

    #[test]
    fn renames_keep_places_and_lists_are_cut() {
        let p = projection(
            &["total_count", "items[*].number", "items[*].user.login"],
            &[
                ("items[*].number", "id"),
                ("**.login", "author"),
                ("total_count", "total"),
            ],
            Some(2),
        );
        assert_eq!(
            p.apply(&issues()),
            json!({"total": 3, "items": [
                {"id": 1, "user": {"author": "ann"}},
                {"id": 2, "user": {"author": "bob"}},
            ]})
        );
        let keys: Vec<String> = p.apply(&issues())["items"][0]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["id", "user"]);
        // No projection: the value as it was.
        assert_eq!(Projection::default().apply(&issues()), issues());
    }

    #[test]
    fn cut_lists_are_noted_by_pointer_and_length() {
        let p = projection(&[], &[], Some(1));
        let mut cuts = Cuts::default();
        let value = json!({"items": [{"tags": ["a", "b", "c"]}, {"tags": []}], "x/y": [1, 2]});
        assert_eq!(
            p.apply_noting(&value, &mut cuts),
            json!({"items": [{"tags": ["a"]}], "x/y": [1]})
        );
        assert_eq!(cuts.count, 3);
        assert_eq!(
            cuts.named,
            [
                ("/items".to_string(), 2),
                ("/items/0/tags".to_string(), 3),
                ("/x~1y".to_string(), 2)
            ]
        );
        let note = cuts.note(Some(1)).unwrap();
        assert!(note.starts_with("3 list(s) cut to their first 1 items"), "{note}");
        assert!(Cuts::default().note(Some(1)).is_none());
        // A model's own choice of fields: paths checked like the generator's.
        assert_eq!(
            Projection::asked(&["items[*].tags".into()]).unwrap().apply(&value),
            json!({"items": [{"tags": ["a", "b", "c"]}, {"tags": []}]})
        );
        let bad = Projection::asked(&["items[x]".into()]).unwrap_err();
        assert!(bad.contains("`items[x]`"), "{bad}");
    }
}
