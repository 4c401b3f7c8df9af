//! The user's extension point: hand-written tools, and hooks that adjust
//! every request to the API and every response from it.
//!
//! A generated crate has one user-owned module (`src/extend.rs`, created once
//! by `mcpgen generate` and never overwritten) whose `extensions()` returns an
//! [`Extensions`]; `main` hands it to [`crate::run_with`].
//!
//! Invariants: request hooks run on every attempt (retries and pages
//! included), after credentials are added, so a signature covers the final
//! request; response hooks run once per response the API gave (each page),
//! before redaction, so redaction rules still apply to what they produce.
//! Hand-written tools get their arguments validated against their schema and
//! their results redacted like generated tools.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use crate::upstream::UpstreamResponse;

/// What a hook knows about the call it runs in.
#[derive(Debug, Clone, Copy)]
pub struct Call<'a> {
    /// The tool's name (as in tools/list).
    pub tool: &'a str,
    /// 1 for the first request of a response, 2 for its first retry, ...
    pub attempt: u32,
}

/// What hooks and hand-written tools fail with: any error (`?` converts
/// `String`, `&str`, I/O errors, `anyhow::Error`, …). Its text, redacted, is
/// what the model sees.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

type RequestHook = dyn Fn(&Call<'_>, &mut reqwest::Request) -> Result<(), BoxError> + Send + Sync;
type ResponseHook = dyn Fn(&Call<'_>, &mut UpstreamResponse) + Send + Sync;
type Handler =
    dyn Fn(Map<String, Value>) -> Pin<Box<dyn Future<Output = Result<Value, BoxError>> + Send>> + Send + Sync;

/// Everything a crate adds to its generated tools. `Extensions::default()` adds nothing.
#[derive(Default, Clone)]
pub struct Extensions {
    pub(crate) tools: Vec<Arc<CustomTool>>,
    pub(crate) hooks: Hooks,
}

/// The request and response hooks, shared by every call.
#[derive(Default, Clone)]
pub struct Hooks {
    request: Vec<Arc<RequestHook>>,
    response: Vec<Arc<ResponseHook>>,
}

impl Extensions {
    pub fn new() -> Extensions {
        Extensions::default()
    }

    /// Add a hand-written tool.
    pub fn tool(mut self, tool: CustomTool) -> Extensions {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Adjust each request before it is sent: add a header, sign it. An
    /// `Err` stops the call with that message (redacted) as a tool error.
    /// Bodies of `multipart/form-data` requests are streams, not bytes.
    pub fn on_request(
        mut self,
        hook: impl Fn(&Call<'_>, &mut reqwest::Request) -> Result<(), BoxError> + Send + Sync + 'static,
    ) -> Extensions {
        self.hooks.request.push(Arc::new(hook));
        self
    }

    /// Post-process each response before it is shaped for the model:
    /// [`UpstreamResponse::json`] and [`UpstreamResponse::set_json`] edit a JSON body.
    pub fn on_response(
        mut self,
        hook: impl Fn(&Call<'_>, &mut UpstreamResponse) + Send + Sync + 'static,
    ) -> Extensions {
        self.hooks.response.push(Arc::new(hook));
        self
    }

    /// Start-up check: valid, unique names that don't shadow generated tools,
    /// and input schemas that compile.
    pub fn check(&self, generated: &[&str]) -> Result<(), String> {
        let mut seen: Vec<&str> = generated.to_vec();
        for tool in &self.tools {
            let name = tool.name.as_str();
            if !crate::spec::is_valid_tool_name(name) {
                return Err(format!("extension tool `{name}`: names are 1 to 64 of A-Z a-z 0-9 _ -"));
            }
            if crate::discovery::NAMES.contains(&name) {
                return Err(format!(
                    "extension tool `{name}`: the discovery surface has a tool of that name; rename it in src/extend.rs"
                ));
            }
            if seen.contains(&name) {
                return Err(format!(
                    "extension tool `{name}`: a tool of that name already exists; rename it in src/extend.rs"
                ));
            }
            seen.push(name);
            if !tool.input_schema.is_object() {
                return Err(format!(
                    "extension tool `{name}`: its input schema must be a JSON object"
                ));
            }
            if let Err(e) = jsonschema::validator_for(&tool.input_schema) {
                return Err(format!("extension tool `{name}`: its input schema is invalid: {e}"));
            }
        }
        Ok(())
    }
}

impl Hooks {
    pub(crate) fn on_request(&self, call: &Call<'_>, request: &mut reqwest::Request) -> Result<(), BoxError> {
        self.request.iter().try_for_each(|hook| hook(call, request))
    }

    pub(crate) fn on_response(&self, call: &Call<'_>, response: &mut UpstreamResponse) {
        for hook in &self.response {
            hook(call, response);
        }
    }
}

/// A tool written by hand: name, description, input schema and an async handler.
pub struct CustomTool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
    pub read_only: bool,
    pub(crate) handler: Box<Handler>,
    validator: OnceLock<Option<jsonschema::Validator>>,
}

impl CustomTool {
    /// `input_schema` must be a JSON object schema (`{"type": "object", ...}`).
    /// The handler gets the validated arguments; `Ok` becomes the result
    /// (objects as `structuredContent`), `Err` a tool error the model sees.
    pub fn new<F, Fut>(name: &str, description: &str, input_schema: Value, handler: F) -> CustomTool
    where
        F: Fn(Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, BoxError>> + Send + 'static,
    {
        CustomTool {
            name: name.to_string(),
            description: description.to_string(),
            input_schema,
            read_only: false,
            handler: Box::new(move |args| Box::pin(handler(args))),
            validator: OnceLock::new(),
        }
    }

    /// A tool whose arguments are a Rust type: the input schema is derived
    /// from `Args` (schemars), and the handler gets the arguments already
    /// validated and deserialized; its `Ok` value is serialized as the result.
    ///
    /// ```ignore
    /// #[derive(serde::Deserialize, schemars::JsonSchema)]
    /// struct Sum { a: i64, b: i64 }
    /// CustomTool::typed("sum", "Add a and b.", |args: Sum| async move { Ok::<_, BoxError>(args.a + args.b) })
    /// ```
    /// (`serde` and `schemars` are re-exported by this crate: without
    /// dependencies of your own, add `#[serde(crate = "mcpgen_runtime::serde")]`
    /// and `#[schemars(crate = "mcpgen_runtime::schemars")]`.)
    pub fn typed<Args, R, F, Fut>(name: &str, description: &str, handler: F) -> CustomTool
    where
        Args: serde::de::DeserializeOwned + schemars::JsonSchema + Send + 'static,
        R: serde::Serialize,
        F: Fn(Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<R, BoxError>> + Send + 'static,
    {
        let schema = schemars::SchemaGenerator::new(schemars::generate::SchemaSettings::draft2020_12())
            .into_root_schema_for::<Args>();
        let mut input_schema = serde_json::to_value(schema).expect("schemas serialize");
        // Like generated tools': the 2020-12 dialect is MCP's default, and some clients refuse a `$schema`.
        if let Value::Object(map) = &mut input_schema {
            map.remove("$schema");
        }
        let handler = Arc::new(handler);
        CustomTool::new(name, description, input_schema, move |args| {
            let handler = handler.clone();
            async move {
                // Already checked against the schema derived from `Args`.
                let args: Args = serde_json::from_value(Value::Object(args))?;
                Ok(serde_json::to_value(handler(args).await?)?)
            }
        })
    }

    /// Mark the tool as only reading (hosts may call it without asking).
    pub fn read_only(mut self) -> CustomTool {
        self.read_only = true;
        self
    }

    /// Schema violations of `args`, as messages; empty when valid.
    pub(crate) fn violations(&self, args: &Value) -> Vec<String> {
        let validator = self
            .validator
            .get_or_init(|| jsonschema::validator_for(&self.input_schema).ok());
        match validator {
            Some(v) => crate::tools::schema_violations(v, args),
            None => vec!["the tool's input schema does not compile".to_string()],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::redact::Redactor;

    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Sum {
        /// The first addend.
        a: i64,
        b: i64,
        #[serde(default)]
        negate: bool,
    }

    #[tokio::test]
    async fn typed_tools_derive_their_schema_and_get_their_arguments() {
        let tool = CustomTool::typed("sum", "Add a and b.", |args: Sum| async move {
            if args.a < 0 {
                return Err("no negatives".into());
            }
            let sum = args.a + args.b;
            Ok::<_, BoxError>(if args.negate { -sum } else { sum })
        });
        assert_eq!(tool.input_schema["type"], "object");
        assert_eq!(tool.input_schema["required"], serde_json::json!(["a", "b"]));
        assert_eq!(tool.input_schema["properties"]["a"]["description"], "The first addend.");
        assert!(tool.input_schema.get("$schema").is_none());
        assert!(Extensions::new().tool(tool).check(&[]).is_ok());

        let tool = CustomTool::typed("sum", "Add a and b.", |args: Sum| async move {
            if args.a < 0 {
                return Err("no negatives".into());
            }
            Ok::<_, BoxError>(args.a + args.b)
        });
        let config = Config {
            base_url: url::Url::parse("http://127.0.0.1:9").unwrap(),
            credentials: Default::default(),
            client_secrets: Default::default(),
            other_secrets: Vec::new(),
        };
        let redactor = Redactor::new(&config, &crate::spec::RedactionSpec::DEFAULT).unwrap();
        let call = |args: Value| crate::tools::call_custom(&tool, args.as_object().cloned(), &redactor);
        let (ok, _) = call(serde_json::json!({"a": 2, "b": 3})).await;
        assert_eq!(ok.is_error, Some(false));
        assert_eq!(ok.structured_content, Some(serde_json::json!({"result": 5})));
        // The schema is checked before the handler runs.
        let (bad, outcome) = call(serde_json::json!({"a": "two", "b": 3})).await;
        assert_eq!((bad.is_error, outcome.kind), (Some(true), "invalid_arguments"));
        let (failed, outcome) = call(serde_json::json!({"a": -1, "b": 3})).await;
        assert_eq!((failed.is_error, outcome.kind), (Some(true), "tool_failed"));
        assert!(failed.structured_content.unwrap()["message"] == "no negatives");
    }
}
