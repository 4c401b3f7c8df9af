//! OpenAPI 3 parameter serialization (`style` + `explode`) for one argument value.
//!
//! Input: a `ParamSpec` and the JSON value the model passed. Output: wire text.
//! Path and query output is already percent-encoded: every character outside
//! RFC 3986 "unreserved" is escaped inside values, while the style's own
//! delimiters (`,` `.` `;` `=` `|` `[` `]`) are literal. So a value can never add a
//! path segment, a query parameter or a fragment.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use crate::spec::{ParamSpec, Style};

/// Everything but RFC 3986 unreserved characters.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// An `application/x-www-form-urlencoded` body (token and introspection requests).
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

pub fn encode(text: &str) -> String {
    utf8_percent_encode(text, COMPONENT).to_string()
}

/// A scalar as text; nested structures (which OpenAPI styles don't define) as JSON.
fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The value as `(key, value)` pieces: objects give their properties, arrays and
/// scalars give `None` keys.
enum Shape {
    Scalar(String),
    List(Vec<String>),
    Object(Vec<(String, String)>),
}

fn shape(value: &Value) -> Shape {
    match value {
        Value::Array(items) => Shape::List(items.iter().map(scalar).collect()),
        Value::Object(map) => Shape::Object(map.iter().map(|(k, v)| (k.clone(), scalar(v))).collect()),
        other => Shape::Scalar(scalar(other)),
    }
}

/// Serialize with `enc` applied to every name and value; delimiters literal.
fn join_simple(shape: &Shape, explode: bool, sep: &str, enc: &dyn Fn(&str) -> String) -> String {
    match shape {
        Shape::Scalar(s) => enc(s),
        Shape::List(items) => items.iter().map(|s| enc(s)).collect::<Vec<_>>().join(sep),
        Shape::Object(props) => props
            .iter()
            .map(|(k, v)| {
                if explode {
                    format!("{}={}", enc(k), enc(v))
                } else {
                    format!("{},{}", enc(k), enc(v))
                }
            })
            .collect::<Vec<_>>()
            .join(sep),
    }
}

/// The text that replaces `{name}` in the path template, percent-encoded.
pub fn path_value(param: &ParamSpec, value: &Value) -> String {
    if param.style == Style::Content {
        return encode(&value.to_string());
    }
    let shape = shape(value);
    let name = encode(param.name);
    match param.style {
        Style::Label => {
            let sep = if param.explode { "." } else { "," };
            format!(".{}", join_simple(&shape, param.explode, sep, &encode))
        }
        Style::Matrix => match (&shape, param.explode) {
            (Shape::List(items), true) => items.iter().map(|v| format!(";{name}={}", encode(v))).collect(),
            (Shape::Object(props), true) => props
                .iter()
                .map(|(k, v)| format!(";{}={}", encode(k), encode(v)))
                .collect(),
            _ => format!(";{name}={}", join_simple(&shape, false, ",", &encode)),
        },
        // simple, and any style not defined for paths
        _ => join_simple(&shape, param.explode, ",", &encode),
    }
}

/// `key=value` pairs for the query string, percent-encoded.
pub fn query_pairs(param: &ParamSpec, value: &Value) -> Vec<String> {
    let name = encode(param.name);
    if param.style == Style::Content {
        return vec![format!("{name}={}", encode(&value.to_string()))];
    }
    if param.style == Style::DeepObject {
        let mut pairs = Vec::new();
        deep_pairs(&name, value, &mut pairs);
        return pairs;
    }
    let shape = shape(value);
    match (param.style, &shape, param.explode) {
        (_, Shape::List(items), true) => items.iter().map(|v| format!("{name}={}", encode(v))).collect(),
        (_, Shape::Object(props), true) => props
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect(),
        (Style::SpaceDelimited, Shape::List(_), false) => {
            vec![format!("{name}={}", join_simple(&shape, false, "%20", &encode))]
        }
        (Style::PipeDelimited, Shape::List(_), false) => {
            vec![format!("{name}={}", join_simple(&shape, false, "|", &encode))]
        }
        _ => vec![format!("{name}={}", join_simple(&shape, false, ",", &encode))],
    }
}

/// deepObject: `name[key]=value`, with nested objects and arrays as further
/// brackets (`name[0][type]=eu_vat`, `name[a][b]=c`), the form Stripe-like
/// APIs (and Rails, PHP and `qs`) parse. An empty object or array sends nothing.
fn deep_pairs(prefix: &str, value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, item) in map {
                deep_pairs(&format!("{prefix}[{}]", encode(key)), item, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                deep_pairs(&format!("{prefix}[{i}]"), item, out);
            }
        }
        scalar_value => out.push(format!("{prefix}={}", encode(&scalar(scalar_value)))),
    }
}

/// A header value (style `simple`), not encoded: header rules are checked when sent.
pub fn header_value(param: &ParamSpec, value: &Value) -> String {
    if param.style == Style::Content {
        return value.to_string();
    }
    join_simple(&shape(value), param.explode, ",", &|s: &str| s.to_string())
}

/// A `name=value` cookie pair (style `form`); the value is percent-encoded
/// so `;` and `,` can't start another cookie.
pub fn cookie_pair(param: &ParamSpec, value: &Value) -> String {
    if param.style == Style::Content {
        return format!("{}={}", param.name, encode(&value.to_string()));
    }
    format!("{}={}", param.name, join_simple(&shape(value), false, ",", &encode))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Location;
    use serde_json::json;

    fn param(style: Style, explode: bool) -> ParamSpec {
        ParamSpec {
            arg: "color",
            name: "color",
            location: Location::Query,
            style,
            explode,
            fixed: None,
            default: None,
        }
    }

    // The examples of the OpenAPI 3.0.3 "Style Examples" table.
    #[test]
    fn path_styles_match_the_spec_table() {
        let list = json!(["blue", "black", "brown"]);
        let obj = json!({"R": 100, "G": 200, "B": 150});
        assert_eq!(path_value(&param(Style::Simple, false), &list), "blue,black,brown");
        assert_eq!(path_value(&param(Style::Simple, true), &obj), "R=100,G=200,B=150");
        assert_eq!(path_value(&param(Style::Simple, false), &obj), "R,100,G,200,B,150");
        assert_eq!(path_value(&param(Style::Label, false), &list), ".blue,black,brown");
        assert_eq!(path_value(&param(Style::Label, true), &list), ".blue.black.brown");
        assert_eq!(path_value(&param(Style::Matrix, false), &json!("blue")), ";color=blue");
        assert_eq!(
            path_value(&param(Style::Matrix, true), &list),
            ";color=blue;color=black;color=brown"
        );
        assert_eq!(path_value(&param(Style::Matrix, true), &obj), ";R=100;G=200;B=150");
    }

    #[test]
    fn query_styles_match_the_spec_table() {
        let list = json!(["blue", "black", "brown"]);
        let obj = json!({"R": 100, "G": 200, "B": 150});
        assert_eq!(
            query_pairs(&param(Style::Form, true), &list),
            ["color=blue", "color=black", "color=brown"]
        );
        assert_eq!(
            query_pairs(&param(Style::Form, false), &list),
            ["color=blue,black,brown"]
        );
        assert_eq!(
            query_pairs(&param(Style::Form, true), &obj),
            ["R=100", "G=200", "B=150"]
        );
        assert_eq!(
            query_pairs(&param(Style::SpaceDelimited, false), &list),
            ["color=blue%20black%20brown"]
        );
        assert_eq!(
            query_pairs(&param(Style::PipeDelimited, false), &list),
            ["color=blue|black|brown"]
        );
        assert_eq!(
            query_pairs(&param(Style::DeepObject, true), &obj),
            ["color[R]=100", "color[G]=200", "color[B]=150"]
        );
    }

    #[test]
    fn deep_objects_nest_with_brackets_at_any_depth() {
        let deep = |value: Value| query_pairs(&param(Style::DeepObject, true), &value);
        assert_eq!(deep(json!(["a", "b"])), ["color[0]=a", "color[1]=b"]);
        assert_eq!(
            deep(json!([{"type": "eu_vat", "value": "FR1"}])),
            ["color[0][type]=eu_vat", "color[0][value]=FR1"]
        );
        assert_eq!(
            deep(json!({"a": {"b": [1, true, null]}})),
            ["color[a][b][0]=1", "color[a][b][1]=true", "color[a][b][2]="]
        );
        assert_eq!(deep(json!("x")), ["color=x"]);
        assert!(deep(json!({})).is_empty() && deep(json!([])).is_empty());
        // Keys and values are encoded; only the brackets are delimiters.
        assert_eq!(deep(json!({"a]&b": "c[d"})), ["color[a%5D%26b]=c%5Bd"]);
    }

    #[test]
    fn values_cannot_escape_their_component() {
        assert_eq!(
            path_value(&param(Style::Simple, false), &json!("../a/b%2F?x#y")),
            "..%2Fa%2Fb%252F%3Fx%23y"
        );
        assert_eq!(
            query_pairs(&param(Style::Form, true), &json!("a&b=c d")),
            ["color=a%26b%3Dc%20d"]
        );
        assert_eq!(
            cookie_pair(&param(Style::Form, true), &json!("a; b=c")),
            "color=a%3B%20b%3Dc"
        );
    }
}
