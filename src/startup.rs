//! Builds the application from config: the store, the HTTP server bound to
//! its listener (port 0 in tests), and `run` to serve until stopped.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer};

use crate::auth::Authenticator;
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::http::{self, AppState};
use crate::store::{MemoryStore, RedisStore, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
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
}

impl Application {
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let store = build_store(&config)?;
        Self::build_with(config, store, Arc::new(SystemClock))
    }

    /// Builds with a given store and clock: what tests use to control both.
    pub fn build_with(
        config: Config,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        let addr = config.listen_addr()?;
        let listener =
            TcpListener::bind(addr).map_err(|source| StartupError::Bind { addr: config.listen.clone(), source })?;
        let port =
            listener.local_addr().map_err(|source| StartupError::Bind { addr: config.listen.clone(), source })?.port();
        let state = web::Data::new(AppState { store, auth: Authenticator::new(&config.auth), clock });
        let server = HttpServer::new(move || {
            App::new().app_data(state.clone()).wrap(from_fn(log_request)).configure(http::configure)
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind { addr: config.listen.clone(), source })?
        .run();
        tracing::info!(%addr, port, "listening");
        Ok(Application { port, server })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Lets the owner stop the server gracefully (tests restart instances).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
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
