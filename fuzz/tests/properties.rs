//! The fuzz targets' invariants as property tests, run by `cargo test` on
//! every machine (no fuzzer needed): arguments of every shape for every
//! upstream-lab tool (each parameter style and body type) never move a
//! request off the API, and nothing panics.

use proptest::prelude::*;
use serde_json::Value;

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-1e6f64..1e6).prop_map(Value::from),
        // Separators, encodings and traversal the serializers must escape.
        prop_oneof![".{0,12}", "[/?#&=;,.%\\[\\] :@]{0,8}", Just("../../admin".to_string())].prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Every argument name some lab tool takes, and a few it doesn't.
const NAMES: &[&str] = &[
    "simple",
    "label",
    "matrix",
    "form",
    "flat",
    "spaced",
    "piped",
    "filter",
    "X-Request-Tag",
    "session",
    "id",
    "id_header",
    "id_query",
    "name",
    "email",
    "expand",
    "tax_id_data",
    "metadata",
    "file",
    "text",
    "kind",
    "cursor",
    "limit",
    "after",
    "page",
    "per_page",
    "offset",
    "starting_after",
    "body",
    "unknown",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arguments_of_any_shape_stay_on_the_api(
        pick in any::<u8>(),
        args in prop::collection::btree_map(prop::sample::select(NAMES), json(), 0..6),
    ) {
        let args: serde_json::Map<String, Value> = args.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        let mut input = vec![pick];
        input.extend(serde_json::to_vec(&Value::Object(args)).unwrap());
        mcpgen_fuzz::arguments(&input);
    }
}
