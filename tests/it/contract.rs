//! `openapi.yaml` is the contract: the routes the server mounts and the spec's
//! paths must be the same set, and what the live server answers must be a
//! response the spec declares.

use std::collections::BTreeSet;

use serde_json::json;
use serde_yaml_ng::Value;
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

/// Every declared operation, called on the live server: the status it
/// answers must be one the spec lists for it.
#[tokio::test]
async fn live_answers_are_declared_in_the_spec() {
    let spec = spec();
    let app = TestApp::memory().await;
    app.register(&withdrawal("w-1", json!({}))).await;
    let mut checked = 0;
    for (method, path) in spec_operations(&spec) {
        let concrete = path.replace("{id}", "w-1").replace("{withdrawal_id}", "w-1");
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
