//! Removing secrets from everything the server says: results, errors, logs.
//!
//! Input: the credentials from `Config`. The upstream can echo a credential
//! back (in an error body, a debug header dump), so every text the model or a
//! log sees passes through `Redactor::redact` first.

use crate::config::Config;
use crate::style;

pub const MASK: &str = "[REDACTED]";

#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Secret forms to mask, longest first so a prefix never hides a longer form.
    needles: Vec<String>,
}

impl Redactor {
    pub fn from_config(config: &Config) -> Redactor {
        let mut needles = Vec::new();
        for secret in config.credentials.values().chain(&config.other_secrets) {
            let raw = secret.expose();
            // The raw value, its query-string form, and each half of `user:password`.
            needles.push(raw.to_string());
            needles.push(style::encode(raw));
            if let Some((_, password)) = raw.split_once(':') {
                needles.push(password.to_string());
            }
        }
        needles.retain(|n| !n.is_empty());
        needles.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        needles.dedup();
        Redactor { needles }
    }

    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for needle in &self.needles {
            if out.contains(needle.as_str()) {
                out = out.replace(needle.as_str(), MASK);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    #[test]
    fn masks_raw_and_encoded_forms() {
        let mut config = Config {
            base_url: url::Url::parse("http://x").unwrap(),
            credentials: Default::default(),
            other_secrets: vec![Secret::new("tenant-42".into())],
        };
        config.credentials.insert("k", Secret::new("a b+c".into()));
        config.credentials.insert("basic", Secret::new("user:hunter22".into()));
        let r = Redactor::from_config(&config);
        assert_eq!(
            r.redact("key=a%20b%2Bc and a b+c, pw hunter22 at tenant-42"),
            "key=[REDACTED] and [REDACTED], pw [REDACTED] at [REDACTED]"
        );
    }
}
