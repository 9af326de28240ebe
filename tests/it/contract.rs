//! `openapi.yaml` is the contract: the routes the server mounts and the spec's
//! paths must be the same set, and what the live server answers must be a
//! response the spec declares.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;
use serde_yaml_ng::Value;
use withdrawal_tracker::http::error::Code;
use withdrawal_tracker::http::ROUTES;

use crate::support::app::{withdrawal, TestApp, INGEST_TOKEN, SUPPORT_TOKEN};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn spec() -> Value {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.yaml")).unwrap();
    serde_yaml_ng::from_str(&text).expect("openapi.yaml is valid YAML")
}

fn spec_operations(spec: &Value) -> BTreeSet<(String, String)> {
    let paths = spec["paths"].as_mapping().expect("paths");
    let mut operations = BTreeSet::new();
    for (path, item) in paths {
        for method in METHODS {
            if item.get(method).is_some() {
                operations.insert((method.to_uppercase(), path.as_str().unwrap().to_owned()));
            }
        }
    }
    operations
}

#[test]
fn mounted_routes_and_spec_paths_are_the_same() {
    let served: BTreeSet<(String, String)> = ROUTES.iter().map(|r| (r.method.to_string(), r.path.to_owned())).collect();
    let documented = spec_operations(&spec());
    let undocumented: Vec<_> = served.difference(&documented).collect();
    let unserved: Vec<_> = documented.difference(&served).collect();
    assert!(undocumented.is_empty(), "served but not in openapi.yaml: {undocumented:?}");
    assert!(unserved.is_empty(), "in openapi.yaml but not served: {unserved:?}");
}

#[test]
fn every_operation_documents_auth_and_the_error_shape() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."));
    assert!(spec["components"]["securitySchemes"]["bearer"].is_mapping());
    assert!(spec["components"]["schemas"]["Error"].is_mapping());
    let public = ["/healthz", "/readyz", "/metrics"];
    for (method, path) in spec_operations(&spec) {
        let operation = &spec["paths"][path.as_str()][method.to_lowercase().as_str()];
        assert!(operation["operationId"].is_string(), "{method} {path} has an operationId");
        let responses = operation["responses"].as_mapping().unwrap();
        if public.contains(&path.as_str()) {
            assert_eq!(operation["security"], Value::Sequence(vec![]), "{method} {path} is public");
        } else {
            assert!(responses.contains_key("401"), "{method} {path} documents 401");
            assert!(responses.contains_key("503"), "{method} {path} documents 503");
            assert!(responses.contains_key("429"), "{method} {path} documents 429");
        }
        if method != "GET" {
            assert!(
                responses.contains_key("400") && responses.contains_key("413"),
                "{method} {path} documents bad bodies"
            );
        }
    }
}

/// The codes `Error.code` lists in the spec are exactly the service's table,
/// and each response the spec describes names only codes the table gives the
/// status it is declared under, and every such code is named there.
#[test]
fn the_spec_lists_exactly_the_error_codes_of_the_table() {
    let spec = spec();
    let listed: BTreeSet<String> = spec["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]
        ["enum"]
        .as_sequence()
        .expect("Error.code is an enum")
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    let table: BTreeMap<String, u16> = Code::ALL.iter().map(|c| (c.as_str().to_owned(), c.status().as_u16())).collect();
    let keys: BTreeSet<String> = table.keys().cloned().collect();
    assert_eq!(listed.len(), Code::ALL.len(), "openapi.yaml lists a code twice");
    assert!(keys.difference(&listed).next().is_none(), "missing from openapi.yaml: {:?}", keys.difference(&listed));
    assert!(listed.difference(&keys).next().is_none(), "not in the table: {:?}", listed.difference(&keys));

    // Which statuses each shared response is declared under.
    let mut statuses: BTreeMap<String, BTreeSet<u16>> = BTreeMap::new();
    for (method, path) in spec_operations(&spec) {
        let responses = spec["paths"][path.as_str()][method.to_lowercase().as_str()]["responses"].as_mapping().unwrap();
        for (status, response) in responses {
            if let Some(name) = response["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/responses/")) {
                let status: u16 = status.as_str().unwrap().parse().unwrap();
                statuses.entry(name.to_owned()).or_default().insert(status);
            }
        }
    }
    let mut described: BTreeMap<u16, BTreeSet<String>> = BTreeMap::new();
    for (name, response) in spec["components"]["responses"].as_mapping().unwrap() {
        let name = name.as_str().unwrap();
        let description = response["description"].as_str().unwrap();
        let named = description.split('`').skip(1).step_by(2).filter(|word| table.contains_key(*word));
        for code in named {
            let status = table[code];
            let declared = statuses.get(name).cloned().unwrap_or_default();
            assert!(declared.contains(&status), "{name} names `{code}` ({status}) but is declared under {declared:?}");
            described.entry(status).or_default().insert(code.to_owned());
        }
    }
    let declared_statuses: BTreeSet<u16> = statuses.values().flatten().copied().collect();
    for (code, status) in &table {
        if declared_statuses.contains(status) {
            assert!(
                described.get(status).is_some_and(|codes| codes.contains(code)),
                "`{code}` ({status}) is named by no response declared under {status}"
            );
        }
    }
}

/// Every declared operation, called on the live server: the status it
/// answers must be one the spec lists for it.
#[tokio::test]
async fn live_answers_are_declared_in_the_spec() {
    let spec = spec();
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let mut checked = 0;
    for (method, path) in spec_operations(&spec) {
        let concrete = path.replace("{id}", "w-1").replace("{withdrawal_id}", "w-1").replace("{network}", "TRX");
        let url = app.url(&concrete);
        let calls =
            [(SUPPORT_TOKEN, "{}"), (INGEST_TOKEN, "{}"), ("not-a-token-0123456789", "{}"), (INGEST_TOKEN, "{")];
        for (token, body) in calls {
            let request = app
                .client
                .request(method.parse().unwrap(), &url)
                .bearer_auth(token)
                .header("content-type", "application/json");
            let request = if method == "GET" { request } else { request.body(body) };
            let status = request.send().await.unwrap().status().as_u16().to_string();
            let declared = &spec["paths"][path.as_str()][method.to_lowercase().as_str()]["responses"];
            assert!(declared.get(status.as_str()).is_some(), "{method} {path} answered {status}, not in the spec");
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * 4);
}
