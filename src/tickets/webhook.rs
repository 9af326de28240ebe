//! A signed JSON POST per event; receivers deduplicate on `Idempotency-Key`.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use super::{check_status, transport_failure, IncidentRequest, TicketRequest, TicketSink};
use crate::config::Secret;
use crate::domain::escalation::SendOutcome;
use crate::view::IncidentView;

pub struct WebhookSink {
    client: reqwest::Client,
    url: String,
    secret: String,
}

impl WebhookSink {
    pub fn new(client: reqwest::Client, url: &str, secret: &Secret) -> Self {
        WebhookSink { client, url: url.to_owned(), secret: secret.expose().to_owned() }
    }
}

/// `sha256=<hex HMAC-SHA256 of the raw body>`, what receivers verify.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    mac.update(body);
    let hex: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256={hex}")
}

#[async_trait]
impl TicketSink for WebhookSink {
    fn name(&self) -> &'static str {
        "webhook"
    }

    async fn send(&self, request: &TicketRequest<'_>) -> SendOutcome {
        let claimed = request.claimed;
        let body = json!({
            "event": claimed.event.wire_name(),
            "idempotency_key": claimed.idempotency_key,
            "reason": claimed.reason.as_str(),
            "level": claimed.level,
            "withdrawal": request.view,
        });
        self.post(&claimed.idempotency_key, body.to_string()).await
    }

    async fn send_incident(&self, request: &IncidentRequest<'_>) -> SendOutcome {
        let body = json!({
            "event": request.claim.event.wire_name(),
            "idempotency_key": request.claim.idempotency_key,
            "incident": IncidentView::new(request.incident),
        });
        self.post(&request.claim.idempotency_key, body.to_string()).await
    }
}

impl WebhookSink {
    /// One signed POST; receivers deduplicate on the key.
    async fn post(&self, idempotency_key: &str, body: String) -> SendOutcome {
        let sent = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .header("idempotency-key", idempotency_key)
            .header("x-tracker-signature", signature(&self.secret, body.as_bytes()))
            .body(body)
            .send()
            .await;
        match sent {
            Err(error) => transport_failure(error).into(),
            Ok(response) => match check_status(response).await {
                Ok(_) => SendOutcome::Delivered { ticket_id: None },
                Err(failure) => failure.into(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signature_matches_a_known_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            super::signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
