//! Removing secrets and personal data from everything the server shows:
//! results, errors, logs.
//!
//! Input: the credentials from `Config` and the `RedactionSpec` from
//! mcpgen.yaml. The upstream can echo a credential back (in an error body, a
//! debug header dump), so every text the model or a log sees passes through
//! `Redactor::redact`, and every JSON result through `Redactor::redact_json`
//! (field rules first, then the text rules on every string).

use std::sync::{Arc, RwLock};

use regex::Regex;
use serde_json::Value;

use crate::config::Config;
use crate::spec::RedactionSpec;
use crate::spec::fields::{FieldPath, Segment};
use crate::style;

pub const MASK: &str = "[REDACTED]";

/// Secrets shorter than this are not masked (masking `a` would mangle every result).
const MIN_SECRET: usize = 4;

/// Forms of learned secrets (OAuth2 access tokens) kept at most.
const MAX_LEARNED: usize = 32;

/// Common secret shapes, masked unless `default_patterns: false`.
pub const DEFAULT_PATTERNS: &[&str] = &[
    // 16 characters at least: real tokens are longer, and prose ("bearer HTTP/1.1",
    // "Bearer authentication") stays readable.
    r"(?i)\bbearer\s+[a-z0-9._~+/=-]{16,}",
    r"\bsk-[A-Za-z0-9_-]{16,}",
    r"\b[rs]k_(?:live|test)_[A-Za-z0-9]{16,}",
    r"\bgh[pousr]_[A-Za-z0-9]{30,}",
    r"\bgithub_pat_[A-Za-z0-9_]{22,}",
    r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b",
    r"\bxox[abprs]-[A-Za-z0-9-]{10,}",
    r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----",
];

#[derive(Debug, Clone, Default)]
pub struct Redactor {
    rules: Arc<Rules>,
    /// Values masked for one call only (arguments sent in sensitive headers).
    extra: Vec<String>,
    /// For logs: the value after any of these names (arguments and headers
    /// the redaction rules name), however a log line quotes it.
    keyed: Option<Arc<Regex>>,
}

#[derive(Debug, Default)]
struct Rules {
    /// Secret forms to mask, longest first so a prefix never hides a longer form.
    needles: Vec<String>,
    /// Secrets learned while running (OAuth2 access tokens).
    learned: RwLock<Vec<String>>,
    /// Every pattern as one alternation: one pass per text.
    patterns: Option<Regex>,
    remove: Vec<FieldPath>,
    mask: Vec<FieldPath>,
    /// Lowercased header names whose values are masked.
    headers: Vec<String>,
    /// The needles that are numbers: JSON numbers are checked against these only.
    numeric: Vec<String>,
}

/// A redaction rule (mcpgen.yaml's `redact`) that can't be used.
#[derive(Debug, thiserror::Error)]
pub enum BadRule {
    #[error("redaction pattern `{pattern}` is invalid: {source}")]
    Pattern { pattern: String, source: regex::Error },
    /// A field path of `remove` or `mask` (the generator checked them: a table edited by hand).
    #[error("redaction field path: {0}")]
    Path(String),
}

impl Redactor {
    /// The credentials only; no patterns or field rules.
    #[cfg(any(test, feature = "testing"))]
    pub fn from_config(config: &Config) -> Redactor {
        Redactor::new(
            config,
            &RedactionSpec {
                default_patterns: false,
                ..RedactionSpec::DEFAULT
            },
        )
        .expect("no rules, nothing to get wrong")
    }

    /// Fails on an invalid pattern or field path, naming it.
    pub fn new(config: &Config, spec: &RedactionSpec) -> Result<Redactor, BadRule> {
        let mut needles = Vec::new();
        for secret in config
            .credentials
            .values()
            .chain(config.client_secrets.values())
            .chain(&config.other_secrets)
        {
            needles.extend(secret_forms(secret.expose()));
        }
        // `https://user:password@host` becomes a Basic header: its echo is a secret too.
        if let Some(password) = config.base_url.password() {
            let decode = |s: &str| percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned();
            let (user, password) = (decode(config.base_url.username()), decode(password));
            needles.extend(secret_forms(&format!("{user}:{password}")));
        }
        // A secret of a few characters can't be masked without mangling every
        // result that happens to contain them: it is left out, and said so.
        let short = needles.iter().filter(|n| n.chars().count() < MIN_SECRET).count();
        if short > 0 {
            tracing::warn!(
                "{short} configured secret value(s) are shorter than {MIN_SECRET} characters: \
                 too short to mask in results and logs without mangling them, so they are not masked"
            );
        }
        needles.retain(|n| n.chars().count() >= MIN_SECRET);
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();

        let defaults = if spec.default_patterns { DEFAULT_PATTERNS } else { &[] };
        let mut sources = Vec::new();
        for pattern in defaults.iter().chain(spec.patterns) {
            Regex::new(pattern).map_err(|source| BadRule::Pattern {
                pattern: pattern.to_string(),
                source,
            })?;
            sources.push(format!("(?:{pattern})"));
        }
        let patterns = (!sources.is_empty())
            .then(|| Regex::new(&sources.join("|")).expect("each alternative compiled on its own"));
        let paths = |list: &[&str]| list.iter().map(|p| FieldPath::parse(p)).collect::<Result<Vec<_>, _>>();
        Ok(Redactor {
            rules: Arc::new(Rules {
                learned: RwLock::default(),
                patterns,
                remove: paths(spec.remove).map_err(BadRule::Path)?,
                mask: paths(spec.mask).map_err(BadRule::Path)?,
                headers: spec.headers.iter().map(|h| h.to_ascii_lowercase()).collect(),
                numeric: needles.iter().filter(|n| n.parse::<f64>().is_ok()).cloned().collect(),
                needles,
            }),
            extra: Vec::new(),
            keyed: None,
        })
    }

    /// A copy for logs that also masks whatever follows one of `names`
    /// (`"name": "value"`, `name: String("value")`, `name=value`): values of
    /// sensitive headers reach debug lines (a request's arguments, the
    /// headers sent) before any call knows them.
    pub fn masking_keys(&self, names: &[&str]) -> Redactor {
        let alternation: Vec<String> = names.iter().map(|n| regex::escape(n)).collect();
        let keyed = (!alternation.is_empty()).then(|| {
            let pattern = format!(
                r#"(?i)((?:{})\\?"?\s*[:=]\s*(?:String\()?\\?"?)[^"\\\s,(){{}}\[\]]+"#,
                alternation.join("|")
            );
            Arc::new(Regex::new(&pattern).expect("escaped names"))
        });
        Redactor { keyed, ..self.clone() }
    }

    /// Mask `secret` from now on, in every copy of this redactor.
    pub fn learn(&self, secret: &str) {
        let mut learned = self.rules.learned.write().expect("not poisoned");
        for form in secret_forms(secret) {
            if !learned.contains(&form) {
                learned.push(form);
            }
        }
        // The most recent only: a token is replaced on expiry, and every
        // redaction pays for each form kept.
        let excess = learned.len().saturating_sub(MAX_LEARNED);
        learned.drain(..excess);
    }

    /// Whether values sent in the header `name` are masked.
    pub fn is_sensitive_header(&self, name: &str) -> bool {
        self.rules.headers.iter().any(|h| h.eq_ignore_ascii_case(name))
    }

    /// A copy that also masks `values` (for one call).
    pub fn with_values(&self, values: Vec<String>) -> Redactor {
        let mut extra = self.extra.clone();
        extra.extend(values.iter().flat_map(|v| secret_forms(v)));
        extra.sort_by_key(|b| std::cmp::Reverse(b.len()));
        Redactor {
            rules: self.rules.clone(),
            extra,
            keyed: self.keyed.clone(),
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = std::borrow::Cow::Borrowed(text);
        let learned = self.rules.learned.read().expect("not poisoned");
        for needle in self.extra.iter().chain(&self.rules.needles).chain(learned.iter()) {
            if out.contains(needle.as_str()) {
                out = std::borrow::Cow::Owned(out.replace(needle.as_str(), MASK));
            }
        }
        if let Some(patterns) = &self.rules.patterns
            && let std::borrow::Cow::Owned(masked) = patterns.replace_all(&out, MASK)
        {
            out = std::borrow::Cow::Owned(masked);
        }
        if let Some(keyed) = &self.keyed
            && let std::borrow::Cow::Owned(masked) = keyed.replace_all(&out, format!("${{1}}{MASK}").as_str())
        {
            return masked;
        }
        out.into_owned()
    }

    /// `redact` for text cut at a size cap: a secret the cut split in two
    /// is no longer a whole needle, so a trailing start of one (3 characters
    /// or more) is masked too.
    pub fn redact_cut(&self, text: &str) -> String {
        let mut out = self.redact(text);
        let learned = self.rules.learned.read().expect("not poisoned");
        let partial = self
            .extra
            .iter()
            .chain(&self.rules.needles)
            .chain(learned.iter())
            .filter_map(|needle| {
                (3..needle.len())
                    .rev()
                    .filter(|&n| needle.is_char_boundary(n))
                    .find(|&n| out.ends_with(&needle[..n]))
            })
            .max();
        if let Some(n) = partial {
            out.truncate(out.len() - n);
            out.push_str(MASK);
        }
        out
    }

    /// Apply the field rules, then mask every string (keys included).
    pub fn redact_json(&self, value: &mut Value) {
        self.apply_field_rules(value);
        self.redact_strings(value);
    }

    /// Remove and mask the fields the rules name.
    pub fn apply_field_rules(&self, value: &mut Value) {
        for path in &self.rules.remove {
            apply(value, &path.0, Action::Remove);
        }
        for path in &self.rules.mask {
            apply(value, &path.0, Action::Mask);
        }
    }

    fn redact_strings(&self, value: &mut Value) {
        match value {
            Value::String(s) => {
                let masked = self.redact(s);
                if masked != *s {
                    *s = masked;
                }
            }
            // A numeric credential comes back as a JSON number.
            Value::Number(n) if !self.rules.numeric.is_empty() => {
                let text = n.to_string();
                if self.rules.numeric.iter().any(|secret| text.contains(secret.as_str())) {
                    *value = Value::String(MASK.to_string());
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_strings(v)),
            Value::Object(map) => {
                let keys: Vec<String> = map.keys().cloned().collect();
                for key in keys {
                    let masked = self.redact(&key);
                    // shift_remove: keys keep their order (swap_remove would shuffle them).
                    let mut child = map.shift_remove(&key).expect("key listed above");
                    self.redact_strings(&mut child);
                    map.insert(masked, child);
                }
            }
            _ => {}
        }
    }
}

/// The raw value, its query-string and base64 forms (as in a `Basic` header),
/// and the secret half of `user:password`.
fn secret_forms(raw: &str) -> Vec<String> {
    use base64::Engine;
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut forms = vec![raw.to_string(), style::encode(raw)];
    // As it reads inside JSON text that is itself a string (a request body echoed back, a log line).
    let escaped = serde_json::to_string(raw).expect("strings serialize");
    forms.push(escaped[1..escaped.len() - 1].to_string());
    if raw.len() >= 4 {
        // Padded or not, standard or URL-safe alphabet: echoes use all four.
        forms.extend([STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].map(|engine| engine.encode(raw)));
    }
    if let Some((_, password)) = raw.split_once(':') {
        forms.push(password.to_string());
    }
    forms.retain(|f| !f.is_empty());
    forms
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Remove,
    Mask,
}

fn apply(value: &mut Value, path: &[Segment], action: Action) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if *first == Segment::Deep {
        apply(value, rest, action);
        match value {
            Value::Object(map) => map.values_mut().for_each(|v| apply(v, path, action)),
            Value::Array(items) => items.iter_mut().for_each(|v| apply(v, path, action)),
            _ => {}
        }
        return;
    }
    match (first, value) {
        (Segment::Key(key), Value::Object(map)) => {
            if rest.is_empty() {
                act_on_key(map, key, action);
            } else if let Some(child) = map.get_mut(key) {
                apply(child, rest, action);
            }
        }
        (Segment::AnyKey, Value::Object(map)) => {
            if rest.is_empty() {
                let keys: Vec<String> = map.keys().cloned().collect();
                keys.iter().for_each(|k| act_on_key(map, k, action));
            } else {
                map.values_mut().for_each(|v| apply(v, rest, action));
            }
        }
        (Segment::AnyIndex, Value::Array(items)) => {
            if rest.is_empty() {
                match action {
                    Action::Remove => items.clear(),
                    Action::Mask => items.iter_mut().for_each(|v| *v = Value::String(MASK.into())),
                }
            } else {
                items.iter_mut().for_each(|v| apply(v, rest, action));
            }
        }
        (Segment::Index(i), Value::Array(items)) if *i < items.len() => {
            if rest.is_empty() {
                match action {
                    Action::Remove => {
                        items.remove(*i);
                    }
                    Action::Mask => items[*i] = Value::String(MASK.into()),
                }
            } else {
                apply(&mut items[*i], rest, action);
            }
        }
        _ => {}
    }
}

fn act_on_key(map: &mut serde_json::Map<String, Value>, key: &str, action: Action) {
    match action {
        Action::Remove => {
            map.shift_remove(key);
        }
        Action::Mask => {
            if let Some(v) = map.get_mut(key) {
                *v = Value::String(MASK.into());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;
    use serde_json::json;

    fn config() -> Config {
        let mut config = Config {
            base_url: url::Url::parse("http://x").unwrap(),
            credentials: Default::default(),
            client_secrets: Default::default(),
            other_secrets: vec![Secret::new("tenant-42".into())],
        };
        config.credentials.insert("k", Secret::new("a b+c".into()));
        config.credentials.insert("basic", Secret::new("user:hunter22".into()));
        config
    }

    #[test]
    fn a_log_copy_masks_what_follows_the_sensitive_names_however_quoted() {
        let logs = Redactor::from_config(&config()).masking_keys(&["X-Request-Tag", "tag_arg"]);
        for (line, value) in [
            (
                r#"arguments: {"X-Request-Tag": "tag-secret-1", "id": "q1"}"#,
                "tag-secret-1",
            ),
            (
                r#"arguments: Some({"tag_arg": String("s3cr3t"), "id": String("q1")})"#,
                "s3cr3t",
            ),
            (r#"headers: {"x-request-tag": "abc-123"}"#, "abc-123"),
            (r#"{\"X-Request-Tag\":\"esc4ped\"}"#, "esc4ped"),
            ("x-request-tag=plain9 next", "plain9"),
        ] {
            let masked = logs.redact(line);
            assert!(!masked.contains(value), "{masked}");
            assert!(masked.contains(MASK), "{masked}");
        }
        // Elsewhere, and a schema naming the header, stay as they are.
        let schema = r#"{"X-Request-Tag":{"type":"string"},"id":"q1"}"#;
        assert_eq!(logs.redact(schema), schema);
        // The copies a call makes keep masking.
        assert!(
            !logs
                .with_values(vec![])
                .redact(r#""tag_arg": "s3cr3t""#)
                .contains("s3cr3t")
        );
    }

    #[test]
    fn masks_raw_and_encoded_forms() {
        let r = Redactor::from_config(&config());
        assert_eq!(
            r.redact("key=a%20b%2Bc and a b+c, pw hunter22 at tenant-42"),
            "key=[REDACTED] and [REDACTED], pw [REDACTED] at [REDACTED]"
        );
        r.learn("tok-fetched-later");
        assert_eq!(r.clone().redact("got tok-fetched-later"), "got [REDACTED]");
    }

    #[test]
    fn every_echoed_form_of_a_secret_is_masked() {
        use base64::Engine;
        use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
        let mut config = config();
        config.credentials.insert("k", Secret::new("s3cr3t?>k3y".into()));
        config.credentials.insert("pin", Secret::new("73914285".into()));
        config.base_url = url::Url::parse("https://ann:pa%24%24word@api.example.com/v1").unwrap();
        let r = Redactor::from_config(&config);
        for form in [URL_SAFE.encode("s3cr3t?>k3y"), URL_SAFE_NO_PAD.encode("s3cr3t?>k3y")] {
            assert_eq!(r.redact(&format!("x{form}x")), "x[REDACTED]x", "{form}");
        }
        // The Basic header reqwest makes from the URL's userinfo, echoed back.
        let basic = base64::engine::general_purpose::STANDARD.encode("ann:pa$$word");
        assert_eq!(
            r.redact(&format!("Authorization: Basic {basic}")),
            "Authorization: Basic [REDACTED]"
        );
        // A numeric credential as a JSON number.
        let mut value = serde_json::json!({"pin": 73914285, "count": 3, "pins": [73914285.0]});
        r.redact_json(&mut value);
        assert_eq!(
            value,
            serde_json::json!({"pin": "[REDACTED]", "count": 3, "pins": ["[REDACTED]"]})
        );
        assert_eq!(
            value.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["pin", "count", "pins"],
            "keys keep their order"
        );
    }

    #[test]
    fn secrets_too_short_to_mask_are_left_alone() {
        let mut config = config();
        config.credentials.insert("k", Secret::new("a".into()));
        let r = Redactor::from_config(&config);
        // Masking `a` would turn every result into noise (and break JSON keys).
        assert_eq!(r.redact(r#"{"name":"a cat"}"#), r#"{"name":"a cat"}"#);
    }

    #[test]
    fn learned_secrets_are_bounded_and_the_latest_kept() {
        let r = Redactor::from_config(&config());
        for i in 0..1000 {
            r.learn(&format!("access-token-number-{i:04}"));
            r.learn(&format!("access-token-number-{i:04}"));
        }
        assert!(r.rules.learned.read().unwrap().len() <= MAX_LEARNED);
        assert_eq!(r.redact("t=access-token-number-0999"), "t=[REDACTED]");
    }

    #[test]
    fn the_bearer_pattern_spares_prose() {
        let r = Redactor::new(&config(), &RedactionSpec::DEFAULT).unwrap();
        for prose in ["sent bearer HTTP/1.1 headers", "uses Bearer authentication here"] {
            assert_eq!(r.redact(prose), prose);
        }
        assert_eq!(r.redact("Bearer eyJhbGciOiJIUzI1NiJ9x"), "[REDACTED]");
    }

    #[test]
    fn a_secret_cut_by_the_size_cap_is_masked_too() {
        let r = Redactor::from_config(&config());
        // The body was cut 8 characters into `user:hunter22`'s password.
        assert_eq!(r.redact_cut("echo: hunter"), "echo: [REDACTED]");
        assert_eq!(r.redact_cut("echo: hunter22 and more"), "echo: [REDACTED] and more");
        assert_eq!(r.redact_cut("a b"), "[REDACTED]", "3 characters of `a b+c`");
        assert_eq!(r.redact_cut("ends in hu"), "ends in hu", "2 characters say nothing");
    }

    #[test]
    fn default_patterns_catch_common_secret_shapes() {
        let r = Redactor::new(&config(), &RedactionSpec::DEFAULT).unwrap();
        for secret in [
            "Authorization: Bearer abcdefgh12345678",
            "sk-proj-ABCDEFGHIJKLMNOP1234",
            "ghp_0123456789abcdefghijABCDEFGHIJ012345",
            "AKIAIOSFODNN7EXAMPLE",
            "sk_live_51HxYzABCDEFGHIJKLMN",
        ] {
            let out = r.redact(&format!("x {secret} y"));
            assert!(
                out.contains(MASK) && !out.contains(&secret[secret.len() - 6..]),
                "{secret}: {out}"
            );
        }
        assert_eq!(r.redact("ordinary text, id 12345"), "ordinary text, id 12345");
    }

    #[test]
    fn field_rules_remove_and_mask_by_path() {
        let spec = RedactionSpec {
            remove: &["**.password", "$.users[*].email"],
            mask: &["owner.phone", "tokens[0]"],
            patterns: &[r"\d{3}-\d{2}-\d{4}"],
            ..RedactionSpec::DEFAULT
        };
        let r = Redactor::new(&config(), &spec).unwrap();
        let mut value = json!({
            "password": "p0",
            "users": [{"name": "a", "email": "a@x", "auth": {"password": "p1"}}, {"email": "b@x"}],
            "owner": {"phone": 5551234, "email": "kept@x", "note": "ssn 123-45-6789"},
            "tokens": ["t1", "t2"],
        });
        r.redact_json(&mut value);
        assert_eq!(
            value,
            json!({
                "users": [{"name": "a", "auth": {}}, {}],
                "owner": {"phone": MASK, "email": "kept@x", "note": format!("ssn {MASK}")},
                "tokens": [MASK, "t2"],
            })
        );
    }

    #[test]
    fn bad_patterns_are_named() {
        let spec = RedactionSpec {
            patterns: &["(unclosed"],
            ..RedactionSpec::DEFAULT
        };
        assert!(
            Redactor::new(&config(), &spec)
                .unwrap_err()
                .to_string()
                .contains("(unclosed")
        );
    }

    mod property {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

            /// Whatever an API answers around a credential, and wherever a
            /// size cap cuts it, no credential survives redaction, in text or
            /// in JSON (strings, keys or numbers).
            #[test]
            fn no_credential_survives(
                secret in "[A-Za-z0-9_:.+/=-]{4,24}",
                pin in 1000u64..u64::MAX,
                before in ".{0,40}",
                after in ".{0,40}",
                cut in 0usize..120,
            ) {
                prop_assume!(!secret.contains("REDACTED") && !MASK.contains(secret.as_str()));
                let mut config = Config {
                    base_url: url::Url::parse("http://x").unwrap(),
                    credentials: Default::default(),
                    client_secrets: Default::default(),
                    other_secrets: Vec::new(),
                };
                config.credentials.insert("key", Secret::new(secret.clone()));
                config.credentials.insert("pin", Secret::new(pin.to_string()));
                let redactor = Redactor::from_config(&config);
                let pin = pin.to_string();
                let text = format!("{before}{secret}{after} {pin}");
                let whole = redactor.redact(&text);
                prop_assert!(!whole.contains(&secret) && !whole.contains(&pin), "{}", whole);
                let end = (0..=cut.min(text.len())).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
                let cut_text = redactor.redact_cut(&text[..end]);
                // A cut keeps at most 2 characters of a secret's start (3 or more are masked).
                for n in 3..=secret.len() {
                    prop_assert!(!cut_text.ends_with(&secret[..n]), "{}", cut_text);
                }
                prop_assert!(!cut_text.contains(&secret), "{}", cut_text);
                let mut value = json!({ before.clone(): [secret.clone(), {"n": pin.parse::<u64>().unwrap()}], "s": text });
                redactor.redact_json(&mut value);
                let json = value.to_string();
                prop_assert!(!json.contains(&secret) && !json.contains(&pin), "{}", json);
            }
        }
    }
}
