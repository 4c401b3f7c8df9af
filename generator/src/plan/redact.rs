//! Output schemas follow the redaction rules: a removed field leaves the
//! schema, a masked one becomes `{"description": "Redacted."}`, so what
//! `tools/list` promises is what results hold after redaction.

use mcpgen_spec::fields::{FieldPath, Segment};
use serde_json::Value;

use crate::select::Redaction;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Remove,
    Mask,
}

/// Apply `rules` (checked by `select`) to an output schema.
pub fn adjust_schema(schema: &mut Value, rules: &Redaction) {
    for (paths, action) in [(&rules.remove, Action::Remove), (&rules.mask, Action::Mask)] {
        for path in paths {
            if let Ok(FieldPath(segments)) = FieldPath::parse(path) {
                adjust(schema, &segments, action);
            }
        }
    }
}

/// `apply`, on the schema that describes the value: properties for keys, items for indexes.
fn adjust(schema: &mut Value, path: &[Segment], action: Action) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    let Value::Object(map) = schema else {
        return;
    };
    if *first == Segment::Deep {
        adjust(schema, rest, action);
        let Value::Object(map) = schema else {
            return;
        };
        if let Some(Value::Object(props)) = map.get_mut("properties") {
            props.values_mut().for_each(|p| adjust(p, path, action));
        }
        if let Some(items) = map.get_mut("items") {
            adjust(items, path, action);
        }
        return;
    }
    match first {
        Segment::Key(key) => {
            let Some(Value::Object(props)) = map.get_mut("properties") else {
                return;
            };
            if rest.is_empty() {
                match action {
                    Action::Remove => {
                        props.shift_remove(key.as_str());
                    }
                    Action::Mask => {
                        if let Some(p) = props.get_mut(key.as_str()) {
                            *p = serde_json::json!({"description": "Redacted."});
                        }
                    }
                }
            } else if let Some(child) = props.get_mut(key.as_str()) {
                adjust(child, rest, action);
            }
        }
        Segment::AnyKey => {
            if let Some(Value::Object(props)) = map.get_mut("properties") {
                for p in props.values_mut() {
                    if rest.is_empty() {
                        *p = serde_json::json!({"description": "Redacted."});
                    } else {
                        adjust(p, rest, action);
                    }
                }
            }
        }
        Segment::AnyIndex | Segment::Index(_) => {
            if let Some(items) = map.get_mut("items") {
                if rest.is_empty() {
                    *items = serde_json::json!({"description": "Redacted."});
                } else {
                    adjust(items, rest, action);
                }
            }
        }
        Segment::Deep => unreachable!("handled above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn output_schemas_follow_the_field_rules() {
        let rules = Redaction {
            remove: vec!["**.password".into(), "$.users[*].email".into()],
            mask: vec!["owner.phone".into()],
            ..Redaction::default()
        };
        let mut schema = json!({"type": "object", "properties": {
            "password": {"type": "string"},
            "users": {"type": "array", "items": {"type": "object", "properties": {
                "email": {"type": "string"}, "name": {"type": "string"}, "password": {"type": "string"}}}},
            "owner": {"type": "object", "properties": {"phone": {"type": "integer"}}}
        }});
        adjust_schema(&mut schema, &rules);
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {
                "users": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
                "owner": {"type": "object", "properties": {"phone": {"description": "Redacted."}}}
            }})
        );
    }
}
