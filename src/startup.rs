//! Builds the application from config: the store, the service, the HTTP
//! server bound to its listener (port 0 in tests) and the sweeper; `run`
//! serves until stopped.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer};
use sha2::{Digest, Sha256};

use crate::auth::Authenticator;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, ConfigError};
use crate::domain::escalation::EscalationPolicy;
use crate::http::{self, AppState};
use crate::service::Service;
use crate::store::{MemoryStore, RedisStore, Store, StoreError};
use crate::tickets::{build_sink, TicketSink};
use crate::tracker::sweeper::Sweeper;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot set up the store: {0}")]
    Store(#[from] StoreError),
}

pub fn build_store(config: &Config) -> Result<Arc<dyn Store>, StoreError> {
    match &config.redis_url {
        Some(url) => {
            tracing::info!(key_prefix = %config.key_prefix, "using the Redis store");
            Ok(Arc::new(RedisStore::new(url.expose(), &config.key_prefix, config.store_timeout.0)?))
        }
        None => {
            tracing::warn!("no redis_url configured: using the in-memory store; nothing persists across restarts");
            Ok(Arc::new(MemoryStore::new()))
        }
    }
}

pub struct Application {
    port: u16,
    server: Server,
    sweeper: Sweeper,
    sweep_interval: Duration,
    calendar_fingerprint: String,
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let store = build_store(&config)?;
        let sink = build_sink(&config.tickets);
        Self::build_with(config, store, sink, Arc::new(SystemClock))
    }

    /// Builds with a given store, ticket sink and clock: what tests use to
    /// control all three.
    pub fn build_with(
        config: Config,
        store: Arc<dyn Store>,
        sink: Arc<dyn TicketSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        let calendar = config.sla.build_calendar(&config.base_dir)?;
        let policy = config.sla.policy();
        let calendar_fingerprint = hex_digest(&format!("{calendar:?}{policy:?}"));
        let escalation = EscalationPolicy {
            escalate_again_after: config.sla.escalate_again_after,
            max_attempts: config.tickets.max_attempts,
            claim_lease: config.tickets.timeout.0 * 3,
            ..EscalationPolicy::default()
        };
        let service = Arc::new(Service { store, calendar: Arc::new(calendar), sla: policy, escalation, clock });
        let sweeper = Sweeper::new(service.clone(), sink);

        let addr = config.listen_addr()?;
        let bind_error = |source| StartupError::Bind { addr: config.listen.clone(), source };
        let listener = TcpListener::bind(addr).map_err(bind_error)?;
        let port = listener.local_addr().map_err(bind_error)?.port();
        let state = web::Data::new(AppState { service, auth: Authenticator::new(&config.auth) });
        let server = HttpServer::new(move || {
            App::new().app_data(state.clone()).wrap(from_fn(log_request)).configure(http::configure)
        })
        .listen(listener)
        .map_err(bind_error)?
        .run();
        tracing::info!(%addr, port, "listening");
        Ok(Application { port, server, sweeper, sweep_interval: config.sla.sweep_interval.0, calendar_fingerprint })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Lets the owner stop the server gracefully (tests restart instances).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub fn sweeper(&self) -> Sweeper {
        self.sweeper.clone()
    }

    pub fn service(&self) -> Arc<Service> {
        self.sweeper.service()
    }

    /// Serves HTTP and runs the sweeper until the server stops.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let sweeper = self.sweeper.clone();
        let fingerprint = self.calendar_fingerprint.clone();
        let interval = self.sweep_interval;
        let background = async move {
            sweeper.prepare(&fingerprint, interval).await;
            sweeper.run(interval).await;
        };
        tokio::select! {
            result = self.server => result,
            () = background => Ok(()),
        }
    }
}

fn hex_digest(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// One line per request: method, route pattern (never a raw id), status,
/// duration. Headers are not logged: they carry tokens.
async fn log_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let response = next.call(req).await?;
    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    tracing::info!(
        %method,
        route,
        status = response.status().as_u16(),
        millis = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(response)
}
