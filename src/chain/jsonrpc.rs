//! The one JSON-RPC transport every JSON-RPC client uses (EVM, Solana,
//! XRPL): the envelope, ids, batches (detected once and remembered), error
//! objects read into one `RpcError` and sorted into `ChainError`s by the
//! client's own table, and the endpoint set's failover, which an error
//! object sorted as `Unavailable` (a node that is behind) also moves along.
//!
//! Two envelopes: JSON-RPC 2.0 (`{"jsonrpc":"2.0","id","method","params"}`,
//! errors in `error`) and rippled's (`{"method","params":[{...}]}`, no id,
//! errors in `result` with `status: "error"`; no batches).

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use super::http::{ClientConfig, Endpoints, Reply};
use super::ChainError;

/// JSON-RPC 2.0 codes that mean "your request is wrong or the method does
/// not exist": retrying the same thing will not help.
pub(super) const PARSE_ERROR: i64 = -32700;
pub(super) const INVALID_REQUEST: i64 = -32600;
pub(super) const METHOD_NOT_FOUND: i64 = -32601;
pub(super) const INVALID_PARAMS: i64 = -32602;
pub(super) const INTERNAL_ERROR: i64 = -32603;

/// How calls are wrapped and answers unwrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Envelope {
    /// JSON-RPC 2.0: EVM nodes, Solana.
    JsonRpc2,
    /// rippled (and Clio): no `jsonrpc`/`id`, one params object in an array,
    /// errors reported in `result`.
    Rippled,
}

/// An error object, in either envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RpcError {
    /// JSON-RPC 2.0 `code`; 0 for rippled, which names its errors instead.
    pub code: i64,
    /// rippled's `error` (`txnNotFound`); empty for JSON-RPC 2.0.
    pub name: String,
    /// `message`, or rippled's `error_message`.
    pub message: String,
    /// The error object as sent (rippled's `searched_all` is read from it).
    pub object: Value,
}

impl RpcError {
    /// A JSON-RPC 2.0 error object.
    pub fn new(code: i64, message: impl Into<String>) -> RpcError {
        RpcError { code, name: String::new(), message: message.into(), object: Value::Null }
    }

    /// What providers say in words when they throttle.
    pub fn says_rate_limited(&self) -> bool {
        let message = self.message.to_ascii_lowercase();
        message.contains("rate limit") || message.contains("too many requests")
    }

    /// The standard codes for a request that is wrong as sent.
    pub fn is_bad_request(&self) -> bool {
        matches!(self.code, PARSE_ERROR | INVALID_REQUEST | METHOD_NOT_FOUND | INVALID_PARAMS)
    }

    /// `{method}: JSON-RPC error {code}: {message}` (or `rippled error
    /// {name}: ...`), for the `ChainError` message.
    pub fn describe(&self, method: &str) -> String {
        if self.name.is_empty() {
            format!("{method}: JSON-RPC error {}: {}", self.code, self.message)
        } else {
            format!("{method}: rippled error {}: {}", self.name, self.message)
        }
    }
}

/// A call's result, or its error object for the caller to read.
pub(super) type Answer = Result<Value, RpcError>;

/// How a client sorts error objects into `ChainError`s (its API's codes).
pub(super) type Classify = fn(&RpcError, &str) -> ChainError;

/// What we learned about an optional node feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Support {
    Unknown,
    Supported,
    Unsupported,
}

pub(super) struct SupportFlag(AtomicU8);

impl SupportFlag {
    pub const fn new() -> Self {
        Self(AtomicU8::new(0))
    }

    pub fn get(&self) -> Support {
        match self.0.load(Ordering::Relaxed) {
            1 => Support::Supported,
            2 => Support::Unsupported,
            _ => Support::Unknown,
        }
    }

    pub fn set(&self, support: Support) {
        let value = match support {
            Support::Unknown => 0,
            Support::Supported => 1,
            Support::Unsupported => 2,
        };
        self.0.store(value, Ordering::Relaxed);
    }
}

pub(super) struct JsonRpc {
    api: Endpoints,
    envelope: Envelope,
    classify: Classify,
    next_id: AtomicU64,
    /// Calls per batch request; 1 sends every call on its own.
    batch_size: usize,
    batches: SupportFlag,
}

/// A batch reply: the answers in call order, or something else than an array.
enum BatchReply {
    Answers(Vec<Answer>),
    NotAnArray(Value),
}

impl JsonRpc {
    /// Sends every call on its own; see `with_batches`.
    pub fn new(config: ClientConfig, envelope: Envelope, classify: Classify) -> JsonRpc {
        JsonRpc {
            api: Endpoints::new(config),
            envelope,
            classify,
            next_id: AtomicU64::new(1),
            batch_size: 1,
            batches: SupportFlag::new(),
        }
    }

    /// Batches of up to `batch_size` calls (JSON-RPC 2.0 only), while the
    /// node accepts them.
    pub fn with_batches(mut self, batch_size: usize) -> JsonRpc {
        assert_eq!(self.envelope, Envelope::JsonRpc2, "rippled takes no batches");
        self.batch_size = batch_size.max(1);
        self
    }

    /// Whether the node has accepted (or refused) a batch request yet.
    pub fn batch_support(&self) -> Support {
        self.batches.get()
    }

    /// The client's reading of an error object.
    pub fn chain_error(&self, error: &RpcError, method: &str) -> ChainError {
        (self.classify)(error, method)
    }

    /// One call. An error object the client sorts as `Unavailable` moves on
    /// to the next URL; any other is returned for the caller to read.
    pub async fn call(&self, method: &str, params: Value) -> Result<Answer, ChainError> {
        let body = self.request_body(method, params);
        self.api
            .post(method, "", &body, |reply| {
                let response = self.parse(&reply, method)?;
                let (_, answer) = self.unwrap(response, method)?;
                self.unless_unavailable(answer, method)
            })
            .await
    }

    /// One call, its error object already sorted into a `ChainError`, its
    /// result read as `T`.
    pub async fn request<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, ChainError> {
        let result = self.call(method, params).await?.map_err(|e| self.chain_error(&e, method))?;
        from_value(result, method)
    }

    /// Answers in call order. Sent as batches of `batch_size` while the node
    /// accepts them; the first refusal switches to one request per call for
    /// the life of the client.
    pub async fn batch(&self, calls: &[(&str, Value)]) -> Result<Vec<Answer>, ChainError> {
        let mut answers = Vec::with_capacity(calls.len());
        for chunk in calls.chunks(self.batch_size) {
            if chunk.len() > 1 && self.batches.get() != Support::Unsupported {
                if let Some(chunk_answers) = self.try_batch(chunk).await? {
                    answers.extend(chunk_answers);
                    continue;
                }
            }
            for (method, params) in chunk {
                answers.push(self.call(method, params.clone()).await?);
            }
        }
        Ok(answers)
    }

    /// `Ok(None)` when the node refused the batch as such.
    async fn try_batch(&self, chunk: &[(&str, Value)]) -> Result<Option<Vec<Answer>>, ChainError> {
        let ids: Vec<u64> = chunk.iter().map(|_| self.next_id.fetch_add(1, Ordering::Relaxed)).collect();
        let bodies: Vec<Value> =
            chunk.iter().zip(&ids).map(|((method, params), id)| self.envelope(*id, method, params.clone())).collect();
        let reply = self.api.post("batch", "", &Value::Array(bodies), |reply| self.read_batch(&reply, &ids)).await;
        match reply {
            Ok(BatchReply::Answers(answers)) => {
                self.batches.set(Support::Supported);
                Ok(Some(answers))
            }
            // A single error object instead of an array: the batch was refused.
            Ok(BatchReply::NotAnArray(reply)) if self.batches.get() == Support::Unknown => {
                Ok(self.refused_batches(&reply.to_string()))
            }
            Ok(BatchReply::NotAnArray(reply)) => {
                Err(ChainError::BadResponse(format!("batch answered with a non-array: {:.80}", reply.to_string())))
            }
            // Some gateways answer a batch with HTTP 400/405/413.
            Err(ChainError::BadResponse(why)) if self.batches.get() == Support::Unknown => {
                Ok(self.refused_batches(&why))
            }
            Err(error) => Err(error),
        }
    }

    fn read_batch(&self, reply: &Reply, ids: &[u64]) -> Result<BatchReply, ChainError> {
        let replies = match self.parse(reply, "batch")? {
            Value::Array(replies) => replies,
            other => return Ok(BatchReply::NotAnArray(other)),
        };
        let mut by_id: Vec<Option<Answer>> = vec![None; ids.len()];
        for response in replies {
            let (id, answer) = self.unwrap(response, "batch")?;
            let Some(index) = id.and_then(|id| ids.iter().position(|&i| i == id)) else {
                return Err(ChainError::BadResponse(format!("batch answer with unknown id {id:?}")));
            };
            by_id[index] = Some(self.unless_unavailable(answer, "batch")?);
        }
        let answers: Option<Vec<Answer>> = by_id.into_iter().collect();
        answers
            .map(BatchReply::Answers)
            .ok_or_else(|| ChainError::BadResponse("batch answer is missing some ids".into()))
    }

    fn refused_batches(&self, why: &str) -> Option<Vec<Answer>> {
        tracing::info!(why = %why.chars().take(120).collect::<String>(), "node refuses JSON-RPC batches; sending single requests");
        self.batches.set(Support::Unsupported);
        None
    }

    fn request_body(&self, method: &str, params: Value) -> Value {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.envelope(id, method, params)
    }

    fn envelope(&self, id: u64, method: &str, params: Value) -> Value {
        match self.envelope {
            Envelope::JsonRpc2 => json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
            Envelope::Rippled => json!({"method": method, "params": [params]}),
        }
    }

    /// What the envelope calls a well-formed answer, for error messages.
    fn kind(&self) -> &'static str {
        match self.envelope {
            Envelope::JsonRpc2 => "not a JSON-RPC response",
            Envelope::Rippled => "not a rippled JSON-RPC answer",
        }
    }

    /// The reply as JSON; an HTTP status other than 2xx is a `BadResponse`.
    fn parse(&self, reply: &Reply, method: &str) -> Result<Value, ChainError> {
        if !reply.status.is_success() {
            return Err(reply.unexpected_status());
        }
        let mut deserializer = serde_json::Deserializer::from_str(&reply.body);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            ChainError::BadResponse(format!("{method}: {}: at `{}`: {}", self.kind(), e.path(), e.inner()))
        })
    }

    /// One response object: its id (JSON-RPC 2.0) and the result or the
    /// error object.
    fn unwrap(&self, response: Value, method: &str) -> Result<(Option<u64>, Answer), ChainError> {
        let bad = |e: serde_path_to_error::Error<serde_json::Error>| {
            ChainError::BadResponse(format!("{method}: {}: at `{}`: {}", self.kind(), e.path(), e.inner()))
        };
        match self.envelope {
            Envelope::JsonRpc2 => {
                #[derive(Deserialize)]
                struct Response {
                    id: Option<Value>,
                    #[serde(default)]
                    result: Value,
                    error: Option<ErrorObject>,
                }
                #[derive(Deserialize)]
                struct ErrorObject {
                    code: i64,
                    #[serde(default)]
                    message: String,
                }
                let error_object = response.get("error").cloned().unwrap_or(Value::Null);
                let response: Response = serde_path_to_error::deserialize(response).map_err(bad)?;
                let id = response.id.as_ref().and_then(Value::as_u64);
                Ok(match response.error {
                    Some(error) => {
                        (id, Err(RpcError { object: error_object, ..RpcError::new(error.code, error.message) }))
                    }
                    None => (id, Ok(response.result)),
                })
            }
            Envelope::Rippled => {
                #[derive(Deserialize)]
                struct Response {
                    result: Value,
                }
                #[derive(Deserialize)]
                struct Status {
                    status: Option<String>,
                    error: Option<String>,
                    error_message: Option<String>,
                }
                let response: Response = serde_path_to_error::deserialize(response).map_err(bad)?;
                let status: Status = from_value(response.result.clone(), method)?;
                if status.status.as_deref() == Some("success") {
                    return Ok((None, Ok(response.result)));
                }
                let Some(name) = status.error else {
                    return Err(ChainError::BadResponse(format!("{method}: at `error`: missing field `error`")));
                };
                let message = status.error_message.unwrap_or_default();
                Ok((None, Err(RpcError { code: 0, name, message, object: response.result })))
            }
        }
    }

    /// An error object that means "ask another node" becomes `Unavailable`,
    /// which the failover loop moves along.
    fn unless_unavailable(&self, answer: Answer, method: &str) -> Result<Answer, ChainError> {
        match answer {
            Err(error) => match self.chain_error(&error, method) {
                unavailable @ ChainError::Unavailable(_) => Err(unavailable),
                _ => Ok(Err(error)),
            },
            ok => Ok(ok),
        }
    }
}

/// A result read as `T`, or a `BadResponse` naming the call and the path
/// inside the result where it went wrong.
pub(super) fn from_value<T: DeserializeOwned>(value: Value, what: &str) -> Result<T, ChainError> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| ChainError::BadResponse(format!("{what}: at `{}`: {}", e.path(), e.inner())))
}
