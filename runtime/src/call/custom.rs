//! Tools written by hand (`src/extend.rs`): validated, run and redacted like
//! generated tools.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};

use rmcp::model::{CallToolResult, ContentBlock};
use serde_json::{Map, Value, json};

use super::{Ended, Outcome, drop_null_optionals, error_result, invalid_arguments};
use crate::redact::Redactor;
use crate::upstream::hooks::BoxError;

type Handler =
    dyn Fn(Map<String, Value>) -> Pin<Box<dyn Future<Output = Result<Value, BoxError>> + Send>> + Send + Sync;

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
            Some(v) => crate::call::schema_violations(v, args),
            None => vec!["the tool's input schema does not compile".to_string()],
        }
    }
}

/// Run a hand-written tool (`src/extend.rs`): validate, call its handler,
/// shape and redact its answer like a generated tool's.
pub async fn call_custom(
    tool: &CustomTool,
    arguments: Option<Map<String, Value>>,
    redactor: &Redactor,
) -> (CallToolResult, Outcome) {
    let mut args = arguments.unwrap_or_default();
    if let Value::Object(schema) = &tool.input_schema {
        drop_null_optionals(schema, &mut args);
    }
    let violations = tool.violations(&Value::Object(args.clone()));
    if !violations.is_empty() {
        return (
            invalid_arguments(&tool.name, violations, redactor),
            Outcome::of(Ended::InvalidArguments),
        );
    }
    match (tool.handler)(args).await {
        Ok(mut value) => {
            redactor.redact_json(&mut value);
            let structured = match value {
                Value::Object(_) => value,
                other => json!({ "result": other }),
            };
            let mut result = CallToolResult::success(vec![ContentBlock::text(structured.to_string())]);
            result.structured_content = Some(structured);
            (result, Outcome::of(Ended::Ok))
        }
        Err(error) => {
            let message = redactor.redact(&error.to_string());
            (
                error_result(
                    json!({"error": "tool_failed", "tool": tool.name, "message": message}),
                    format!("Tool `{}` failed: {message}", tool.name),
                ),
                Outcome::of(Ended::ToolFailed),
            )
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
        assert!(jsonschema::validator_for(&tool.input_schema).is_ok());

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
        let call = |args: Value| call_custom(&tool, args.as_object().cloned(), &redactor);
        let (ok, _) = call(serde_json::json!({"a": 2, "b": 3})).await;
        assert_eq!(ok.is_error, Some(false));
        assert_eq!(ok.structured_content, Some(serde_json::json!({"result": 5})));
        // The schema is checked before the handler runs.
        let (bad, outcome) = call(serde_json::json!({"a": "two", "b": 3})).await;
        assert_eq!((bad.is_error, outcome.kind), (Some(true), Ended::InvalidArguments));
        let (failed, outcome) = call(serde_json::json!({"a": -1, "b": 3})).await;
        assert_eq!((failed.is_error, outcome.kind), (Some(true), Ended::ToolFailed));
        assert!(failed.structured_content.unwrap()["message"] == "no negatives");
    }
}
