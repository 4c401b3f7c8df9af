//! The server's environment: declared env vars read once at start.
//!
//! Input: the `ServerSpec` and a lookup function (the process environment in
//! production, a map in tests). Output: `Config` with the parsed base URL and one
//! `Secret` per bound security scheme. Every missing or invalid variable is
//! reported at once, by name; secret values are never printed.

use std::collections::BTreeMap;
use std::fmt;

use url::Url;

use crate::spec::{ApiKeyLocation, SchemeKind, ServerSpec};

/// A credential read from the environment. `Debug` never shows it.
#[derive(Clone)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Self {
        Secret(value)
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// What the server needs from its environment, validated.
#[derive(Debug, Clone)]
pub struct Config {
    /// Base URL with a trailing slash stripped from its path.
    pub base_url: Url,
    /// Credential per security scheme name (for OAuth2: the client id).
    pub credentials: BTreeMap<&'static str, Secret>,
    /// OAuth2 client secret per security scheme name.
    pub client_secrets: BTreeMap<&'static str, Secret>,
    /// Other values to mask: secret server variables.
    pub other_secrets: Vec<Secret>,
}

/// Every problem found in the environment, reported together.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the server's environment is incomplete:")?;
        for problem in &self.problems {
            writeln!(f, "  - {problem}")?;
        }
        write!(
            f,
            "Set the variables above in the MCP host's server config (the `env` block) or the shell, then start the server again."
        )
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    pub fn from_env(spec: &ServerSpec) -> Result<Config, ConfigError> {
        Config::from_lookup(spec, |name| std::env::var(name).ok())
    }

    pub fn from_lookup(spec: &ServerSpec, lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let mut problems = Vec::new();
        let non_empty = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        let base_env = spec.base_url.env;
        let mut other_secrets = Vec::new();
        let base_url = match (non_empty(base_env), spec.base_url.default) {
            (Some(value), _) => parse_base_url(&value)
                .and_then(|url| match spec.base_url.relative {
                    Some(relative) => resolve_relative(&url, relative),
                    None => Ok(url),
                })
                .map_err(|why| {
                    format!("{base_env}: {why} (expected an absolute http(s) URL such as https://api.example.com/v1)")
                }),
            (None, Some(template)) => match fill_variables(spec, template, &non_empty, &mut other_secrets) {
                Err(missing) => Err(missing.to_string()),
                Ok(default) => parse_base_url(&default).map_err(|why| {
                    format!("{base_env} is not set and the spec's server URL `{default}` can't be used: {why}")
                }),
            },
            (None, None) => Err(format!(
                "{base_env} is not set: the base URL of the API (the spec declares no usable server URL)"
            )),
        };
        let base_url = base_url.map_err(|p| problems.push(p)).ok();

        let mut credentials = BTreeMap::new();
        let mut client_secrets = BTreeMap::new();
        for scheme in spec.security_schemes {
            if let SchemeKind::OAuth2ClientCredentials { secret_env, .. } = scheme.kind {
                match non_empty(secret_env) {
                    Some(value) => {
                        client_secrets.insert(scheme.name, Secret::new(value));
                    }
                    None => problems.push(format!(
                        "{secret_env} is not set: the OAuth2 client secret for security scheme `{}`",
                        scheme.name
                    )),
                }
            }
            match non_empty(scheme.env) {
                Some(value) => {
                    credentials.insert(scheme.name, Secret::new(value));
                }
                // Callers with OAuth tokens get theirs exchanged; the variable serves the others.
                None if scheme.token_exchange.is_some() || scheme.per_user => {}
                None => problems.push(format!(
                    "{} is not set: {} for security scheme `{}`",
                    scheme.env,
                    describe_scheme(scheme.kind),
                    scheme.name
                )),
            }
        }

        match base_url {
            Some(base_url) if problems.is_empty() => Ok(Config {
                base_url,
                credentials,
                client_secrets,
                other_secrets,
            }),
            _ => Err(ConfigError { problems }),
        }
    }
}

/// The default base URL with each `{variable}` taken from its env var (or
/// its default); every missing one is named.
fn fill_variables(
    spec: &ServerSpec,
    template: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    secrets: &mut Vec<Secret>,
) -> Result<String, MissingVariables> {
    let mut url = template.to_string();
    let mut missing = Vec::new();
    for variable in spec.base_url.variables {
        match lookup(variable.env).or_else(|| variable.default.map(str::to_string)) {
            Some(value) => {
                url = url.replace(&format!("{{{}}}", variable.name), &value);
                if variable.secret {
                    secrets.push(Secret::new(value));
                }
            }
            None => missing.push(format!("{} (server variable `{}`)", variable.env, variable.name)),
        }
    }
    if missing.is_empty() {
        Ok(url)
    } else {
        Err(MissingVariables {
            base_env: spec.base_url.env,
            template: template.to_string(),
            missing,
        })
    }
}

/// The spec's server URL needs variables nobody set.
#[derive(Debug, thiserror::Error)]
#[error("{base_env} is not set, so the spec's server URL `{template}` is used, and it needs {}", missing.join(", "))]
pub struct MissingVariables {
    base_env: &'static str,
    template: String,
    /// Each as `ENV (server variable `name`)`.
    missing: Vec<String>,
}

/// Why a base URL can't be used.
#[derive(Debug, thiserror::Error)]
pub enum UrlError {
    #[error("`{value}` is not a valid URL ({source})")]
    Invalid { value: String, source: url::ParseError },
    #[error("`{0}` must use http or https")]
    NotHttp(String),
    #[error("`{0}` must not contain a query or fragment")]
    QueryOrFragment(String),
    #[error("the spec's relative server URL `{relative}` can't be resolved against it ({source})")]
    Unresolvable { relative: String, source: url::ParseError },
}

fn describe_scheme(kind: SchemeKind) -> String {
    match kind {
        SchemeKind::ApiKey { location, name } => {
            let place = match location {
                ApiKeyLocation::Header => "header",
                ApiKeyLocation::Query => "query parameter",
                ApiKeyLocation::Cookie => "cookie",
                ApiKeyLocation::Body => "request body field",
            };
            format!("the API key sent in {place} `{name}`")
        }
        SchemeKind::Bearer => "the bearer token".to_string(),
        SchemeKind::Basic => "the `user:password` for HTTP basic auth".to_string(),
        SchemeKind::OAuth2ClientCredentials { .. } => "the OAuth2 client id".to_string(),
    }
}

/// `relative` (the spec's server URL) resolved against `base`, whose path is
/// taken as a directory; absolute paths (`/api/v3`) replace it.
pub fn resolve_relative(base: &Url, relative: &str) -> Result<Url, UrlError> {
    let mut directory = base.clone();
    if !directory.path().ends_with('/') {
        directory.set_path(&format!("{}/", directory.path()));
    }
    let joined = directory.join(relative).map_err(|source| UrlError::Unresolvable {
        relative: relative.to_string(),
        source,
    })?;
    parse_base_url(joined.as_str())
}

fn parse_base_url(value: &str) -> Result<Url, UrlError> {
    let mut url = Url::parse(value.trim()).map_err(|source| UrlError::Invalid {
        value: value.to_string(),
        source,
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(UrlError::NotHttp(value.to_string()));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(UrlError::QueryOrFragment(value.to_string()));
    }
    let trimmed = url.path().trim_end_matches('/').to_string();
    url.set_path(&trimmed);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{BaseUrlSpec, SecuritySchemeSpec, ServerVariableSpec};

    static SCHEMES: &[SecuritySchemeSpec] = &[SecuritySchemeSpec {
        name: "api_key",
        env: "PET_KEY",
        kind: SchemeKind::ApiKey {
            location: ApiKeyLocation::Header,
            name: "X-API-Key",
        },
        token_exchange: None,
        per_user: false,
    }];

    fn spec(default: Option<&'static str>) -> ServerSpec {
        ServerSpec {
            name: "t",
            version: "0",
            title: None,
            instructions: None,
            base_url: BaseUrlSpec {
                env: "PET_URL",
                default,
                variables: &[],
                relative: None,
            },
            policy: crate::spec::Policy::DEFAULT,
            redaction: crate::spec::RedactionSpec::DEFAULT,
            inbound_token_env: "PET_TOKENS",
            results: mcpgen_spec::ResultsSpec::DEFAULT,
            oauth: None,
            security_schemes: SCHEMES,
            tools: &[],
            by_name: &[],
            surface: crate::spec::Surface::Tools,
            schema_profile: crate::spec::SchemaProfile::Full,
            toolsets: &[],
            search: crate::spec::search::SearchIndex::EMPTY,
            resources: &[],
            prompts: &[],
        }
    }

    #[test]
    fn reports_every_missing_variable_by_name() {
        let err = Config::from_lookup(&spec(None), |_| None).unwrap_err();
        assert_eq!(
            err.problems,
            vec![
                "PET_URL is not set: the base URL of the API (the spec declares no usable server URL)",
                "PET_KEY is not set: the API key sent in header `X-API-Key` for security scheme `api_key`",
            ]
        );
    }

    static VARIABLES: &[ServerVariableSpec] = &[
        ServerVariableSpec {
            name: "region",
            env: "PET_REGION",
            default: None,
            secret: true,
        },
        ServerVariableSpec {
            name: "version",
            env: "PET_VERSION",
            default: Some("v2"),
            secret: false,
        },
    ];

    #[test]
    fn server_variables_fill_the_default_url() {
        let mut spec = spec(Some("https://{region}.pets.example/{version}"));
        spec.base_url.variables = VARIABLES;
        let key = |name: &str| (name == "PET_KEY").then(|| "k1234".to_string());
        let err = Config::from_lookup(&spec, key).unwrap_err();
        assert_eq!(
            err.problems,
            [
                "PET_URL is not set, so the spec's server URL `https://{region}.pets.example/{version}` is used, and it needs PET_REGION (server variable `region`)"
            ]
        );
        let with_region = |name: &str| match name {
            "PET_REGION" => Some("eu".to_string()),
            other => key(other),
        };
        let config = Config::from_lookup(&spec, with_region).unwrap();
        assert_eq!(config.base_url.as_str(), "https://eu.pets.example/v2");
        assert_eq!(
            config.other_secrets.iter().map(Secret::expose).collect::<Vec<_>>(),
            ["eu"]
        );
    }

    #[test]
    fn relative_server_urls_resolve_against_the_env_url() {
        let base = Url::parse("https://api.example.com/ignored").unwrap();
        assert_eq!(
            resolve_relative(&base, "/api/v3").unwrap().as_str(),
            "https://api.example.com/api/v3"
        );
        let base = Url::parse("https://api.example.com/tenant").unwrap();
        assert_eq!(
            resolve_relative(&base, "v2").unwrap().as_str(),
            "https://api.example.com/tenant/v2"
        );
    }

    #[test]
    fn secret_values_never_print() {
        let lookup = |name: &str| match name {
            "PET_URL" => Some("ftp://nope".to_string()),
            _ => Some("s3cr3t-value".to_string()),
        };
        let err = Config::from_lookup(&spec(None), lookup).unwrap_err();
        assert!(!err.to_string().contains("s3cr3t-value"));
        assert!(err.to_string().contains("PET_URL: `ftp://nope` must use http or https"));
        let ok = Config::from_lookup(&spec(Some("http://x/v1/")), |n| {
            (n == "PET_KEY").then(|| "s3cr3t-value".to_string())
        })
        .unwrap();
        assert!(!format!("{ok:?}").contains("s3cr3t-value"));
        assert_eq!(ok.base_url.as_str(), "http://x/v1");
    }
}
