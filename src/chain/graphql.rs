//! The one GraphQL transport (Sui GraphQL RPC; any GraphQL explorer): a POST
//! of `{"query", "variables"}` to the configured URL as it is, over the
//! endpoint set's failover. An answer with `errors[]` is an error as a whole
//! (no partial data is used), sorted by what it says: throttling, a server
//! that timed out or failed inside (another URL may answer: `Unavailable`,
//! which the failover loop moves along), or a query the server refuses
//! (`BadResponse`). GraphQL servers answer errors with 200 or 4xx alike; both
//! are read here.
//!
//! The response format: <https://spec.graphql.org/October2021/#sec-Response-Format>
//! (`data`, `errors` with `message`, `locations`, `path`, `extensions`).

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{ClientConfig, Endpoints, Reply};
use super::jsonrpc::from_value;
use super::ChainError;

/// One GraphQL endpoint set.
pub(super) struct GraphQl {
    api: Endpoints,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    data: Value,
    #[serde(default)]
    errors: Vec<GraphQlError>,
}

/// An entry of `errors[]`.
#[derive(Debug, Deserialize)]
struct GraphQlError {
    #[serde(default)]
    message: String,
    #[serde(default)]
    extensions: Option<Extensions>,
}

#[derive(Debug, Deserialize)]
struct Extensions {
    code: Option<String>,
}

impl GraphQlError {
    fn code(&self) -> &str {
        self.extensions.as_ref().and_then(|e| e.code.as_deref()).unwrap_or("")
    }
}

/// What `errors[]` means for the caller: the first error decides.
fn classify(errors: &[GraphQlError], what: &str) -> ChainError {
    let first = &errors[0];
    let message = first.message.to_ascii_lowercase();
    let code = first.code();
    let describe = || format!("{what}: GraphQL error {}: {}", if code.is_empty() { "-" } else { code }, first.message);
    if message.contains("rate limit") || message.contains("too many requests") || code == "TOO_MANY_REQUESTS" {
        ChainError::RateLimited { retry_after: None }
    } else if matches!(code, "INTERNAL_SERVER_ERROR" | "REQUEST_TIMEOUT" | "SERVICE_UNAVAILABLE")
        || message.contains("timed out")
        || message.contains("timeout")
    {
        ChainError::Unavailable(describe())
    } else {
        ChainError::BadResponse(describe())
    }
}

impl GraphQl {
    pub fn new(config: ClientConfig) -> GraphQl {
        GraphQl { api: Endpoints::new(config) }
    }

    /// Runs `query` with `variables`; `data` read as `T`. `what` names the
    /// query in errors and logs.
    pub async fn query<T: DeserializeOwned>(&self, what: &str, query: &str, variables: Value) -> Result<T, ChainError> {
        let body = json!({ "query": query, "variables": variables });
        let data = self.api.post(what, "", &body, |reply| read(&reply, what)).await?;
        from_value(data, what)
    }
}

/// A reply's `data`, or its `errors[]` as a `ChainError`.
fn read(reply: &Reply, what: &str) -> Result<Value, ChainError> {
    let response: Response = match serde_json::from_str::<Response>(&reply.body) {
        Ok(response) => response,
        Err(_) if !reply.status.is_success() => return Err(reply.unexpected_status()),
        Err(error) => {
            return Err(ChainError::BadResponse(format!("{what}: not a GraphQL response: {error}")));
        }
    };
    if !response.errors.is_empty() {
        return Err(classify(&response.errors, what));
    }
    if !reply.status.is_success() {
        return Err(reply.unexpected_status());
    }
    if response.data.is_null() {
        return Err(ChainError::BadResponse(format!("{what}: a GraphQL response without data or errors")));
    }
    Ok(response.data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn reply(status: u16, body: &str) -> Reply {
        Reply { status: StatusCode::from_u16(status).unwrap(), body: body.to_owned() }
    }

    #[test]
    fn answers_and_errors_are_read_into_data_or_chain_errors() {
        let ok = read(&reply(200, r#"{"data":{"checkpoint":{"sequenceNumber":5}}}"#), "q").unwrap();
        assert_eq!(ok["checkpoint"]["sequenceNumber"], 5);
        let cases = [
            (
                200,
                r#"{"data":null,"errors":[{"message":"Unknown field \"x\"","extensions":{"code":"GRAPHQL_VALIDATION_FAILED"}}]}"#,
                "bad",
            ),
            (400, r#"{"errors":[{"message":"Invalid value","extensions":{"code":"BAD_USER_INPUT"}}]}"#, "bad"),
            (
                200,
                r#"{"data":null,"errors":[{"message":"Request timed out. Limit: 40s","extensions":{"code":"REQUEST_TIMEOUT"}}]}"#,
                "unavailable",
            ),
            (200, r#"{"errors":[{"message":"boom","extensions":{"code":"INTERNAL_SERVER_ERROR"}}]}"#, "unavailable"),
            (200, r#"{"errors":[{"message":"Rate limit exceeded"}]}"#, "limited"),
            (200, r#"{"data":{"a":1},"errors":[{"message":"partial"}]}"#, "bad"),
            (200, "<html>", "bad"),
            (200, "{}", "bad"),
            (404, "not here", "bad"),
        ];
        for (status, body, kind) in cases {
            let got = read(&reply(status, body), "q").unwrap_err();
            let matches = match kind {
                "bad" => matches!(got, ChainError::BadResponse(_)),
                "unavailable" => matches!(got, ChainError::Unavailable(_)),
                _ => matches!(got, ChainError::RateLimited { .. }),
            };
            assert!(matches, "{status} {body}: {got:?}");
        }
    }
}
