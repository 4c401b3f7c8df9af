//! A spec named by URL: `spec: https://…` in mcpgen.yaml.
//!
//! Only `mcpgen update` touches the network. It fetches the spec, keeps a
//! copy next to mcpgen.yaml (committed with the crate) and pins the copy in
//! mcpgen.lock by its SHA-256; `generate` (and `generate --check` in CI)
//! reads that copy offline and refuses one that no longer matches its pin,
//! since the crate would then come from a spec nobody fetched.

use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::diag::{Diagnostic, Error, error_chain};

/// The largest spec fetched (GitHub's, the largest we know, is ~12 MB).
const MAX_BYTES: u64 = 256 << 20;

/// mcpgen.lock's `spec:`: where the copy came from, where it is, what it was.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpecPin {
    pub url: String,
    /// The copy, relative to mcpgen.yaml.
    pub file: String,
    pub sha256: String,
}

/// `spec:` is a URL (else a path).
pub fn is_url(spec: &str) -> bool {
    spec.starts_with("https://") || spec.starts_with("http://")
}

pub fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The copy's file name: the URL's last segment when it names a JSON or YAML
/// file plainly, else `openapi.json` / `openapi.yaml` by what was fetched.
pub fn copy_name(url: &str, body: &[u8]) -> String {
    let last = url::Url::parse(url)
        .ok()
        .and_then(|u| u.path_segments()?.next_back().map(str::to_string))
        .unwrap_or_default();
    let plain = last
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    let spec_file = [".json", ".yaml", ".yml"].iter().any(|ext| last.ends_with(ext));
    if plain && spec_file && !last.starts_with('.') && last != "mcpgen.yaml" {
        return last;
    }
    let json = body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if json { "openapi.json" } else { "openapi.yaml" }.to_string()
}

/// GETs the spec at `url`: proxies from `HTTPS_PROXY`/`HTTP_PROXY`/`NO_PROXY`,
/// redirects followed, a success status and at most `MAX_BYTES` required.
pub fn fetch(url: &str, config_file: &str) -> Result<Vec<u8>, Error> {
    let failed = |what: String| {
        Error::one(
            Diagnostic::new(config_file, format!("can't fetch the spec {url}: {what}")).help(
                "`mcpgen update` needs the network (a proxy is taken from HTTPS_PROXY, HTTP_PROXY and NO_PROXY); \
             `mcpgen generate` needs none: it reads the copy the last update fetched",
            ),
        )
    };
    crate::install_crypto_provider();
    let client = reqwest::blocking::Client::builder()
        .connect_timeout(Duration::from_secs(20))
        .timeout(Duration::from_secs(120))
        .user_agent(concat!("mcpgen/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| failed(error_chain(&e)))?;
    let response = client.get(url).send().map_err(|e| failed(error_chain(&e)))?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!("the server answered {status}")));
    }
    if response.content_length().is_some_and(|n| n > MAX_BYTES) {
        return Err(failed(format!("it is over {} MB", MAX_BYTES >> 20)));
    }
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(response, MAX_BYTES + 1), &mut body)
        .map_err(|e| failed(format!("the download broke off: {e}")))?;
    if body.len() as u64 > MAX_BYTES {
        return Err(failed(format!("it is over {} MB", MAX_BYTES >> 20)));
    }
    Ok(body)
}

/// The copy `generate` reads for a spec named by `url`, checked against its pin.
pub fn pinned_copy(base: &Path, url: &str, pin: Option<&SpecPin>, config_file: &str) -> Result<String, Error> {
    let update = "run `mcpgen update` to fetch the spec, pin it in mcpgen.lock and regenerate";
    let Some(pin) = pin else {
        return Err(Error::one(
            Diagnostic::new(config_file, format!("the spec {url} has not been fetched yet")).help(update),
        ));
    };
    if pin.url != url {
        return Err(Error::one(
            Diagnostic::new(
                config_file,
                format!("mcpgen.lock pins the spec of {}, but `spec` is now {url}", pin.url),
            )
            .help(update),
        ));
    }
    let copy = base.join(&pin.file);
    let bytes = std::fs::read(&copy).map_err(|e| {
        Error::one(
            Diagnostic::new(
                config_file,
                format!("can't read {}, the copy of {url}: {e}", copy.display()),
            )
            .help(update),
        )
    })?;
    let digest = sha256(&bytes);
    if digest != pin.sha256 {
        return Err(Error::one(
            Diagnostic::new(
                copy.display().to_string(),
                format!(
                    "this copy of {url} changed since `mcpgen update` fetched it (SHA-256 {digest}, mcpgen.lock pins {})",
                    pin.sha256
                ),
            )
            .help(format!(
                "{update}; or, to generate from your edits, point `spec` at a file of your own"
            )),
        ));
    }
    Ok(pin.file.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_copy_is_named_after_the_url_when_that_is_a_plain_spec_file() {
        let named = |url: &str, body: &str| copy_name(url, body.as_bytes());
        assert_eq!(
            named("https://x.test/v3/api.github.com.json", "{}"),
            "api.github.com.json"
        );
        assert_eq!(named("https://x.test/spec/openapi.yml?ref=main", "a: 1"), "openapi.yml");
        assert_eq!(named("https://x.test/openapi", " {\"openapi\":1}"), "openapi.json");
        assert_eq!(named("https://x.test/openapi", "openapi: 3.0.0"), "openapi.yaml");
        // Never a hidden file, a path out of the directory, or mcpgen's own files.
        assert_eq!(named("https://x.test/.json", "{}"), "openapi.json");
        assert_eq!(named("https://x.test/a%2F..%2Fb.json", "{}"), "openapi.json");
        assert_eq!(named("https://x.test/mcpgen.yaml", "a: 1"), "openapi.yaml");
    }
}
