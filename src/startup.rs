//! Builds the application from typed `Settings` (nothing left to parse or
//! refuse): the store, the service, the HTTP server bound to its listener
//! (port 0 in tests) and the sweeper; `run` serves until stopped.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{Server, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::{from_fn, Next};
use actix_web::{web, App, HttpServer};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::archive::build_archive;
use crate::auth::Authenticator;
use crate::chain::AntelopeClient;
use crate::chain::{AlgodClient, HederaMirrorClient};
use crate::chain::{
    ApiKey, AptosClient, BlockbookClient, BlockfrostClient, Chain, ClientConfig, EsploraClient, EvmClient, Gate,
    HorizonClient, SidecarClient, SolanaClient, SuiClient, ToncenterClient, TronClient, XrplClient,
};
use crate::chain::{CosmosClient, NearClient};
use crate::clock::{Clock, SystemClock};
use crate::config::{ChainSettings, ExplorerKind, Secret, Settings, StoreBackend, StoreSettings};
use crate::domain::escalation::EscalationPolicy;
use crate::domain::Network;
use crate::eta::EtaBook;
use crate::http::rate_limit::{BucketSpec, RateLimiter};
use crate::http::{self, AppState};
use crate::metrics::Metrics;
use crate::networks::NetworkBoard;
use crate::service::Service;
use crate::store::{layout, MemoryStore, RedisStore, Store, StoreError};
use crate::tickets::{build_sink, TicketSink};
use crate::tracker::chain::{ChainTracker, TrackerSettings};
use crate::tracker::retention::{Retention, RetentionSettings};
use crate::tracker::store_gauges::StoreGauges;
use crate::tracker::sweeper::Sweeper;

/// What can still fail once the settings are typed: the outside world.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: String, source: std::io::Error },
    #[error("cannot set up the store: {0}")]
    Store(#[from] StoreError),
}

pub fn build_store(settings: &StoreSettings) -> Result<Arc<dyn Store>, StoreError> {
    let prefix = &settings.key_prefix;
    match &settings.backend {
        StoreBackend::Cluster(nodes) => {
            let nodes: Vec<&str> = nodes.iter().map(Secret::expose).collect();
            tracing::info!(key_prefix = %prefix, seed_nodes = nodes.len(), "using the Redis store on a Redis Cluster");
            Ok(Arc::new(RedisStore::cluster(&nodes, prefix, settings.timeout)?))
        }
        StoreBackend::Redis(url) => {
            tracing::info!(key_prefix = %prefix, "using the Redis store");
            Ok(Arc::new(RedisStore::new(url.expose(), prefix, settings.timeout)?))
        }
        StoreBackend::Memory => {
            tracing::warn!("no redis_url configured: using the in-memory store; nothing persists across restarts");
            Ok(Arc::new(MemoryStore::new()))
        }
    }
}

/// How often store-wide gauges are refreshed (and the exporter lease renewed).
/// How often each replica rereads every network's status (maintenance
/// declared on another replica shows here within this).
const NETWORK_STATUS_RELOAD: Duration = Duration::from_secs(5);
const STORE_GAUGES_INTERVAL: Duration = Duration::from_secs(10);

pub struct Application {
    chain_trackers: Vec<ChainTracker>,
    port: u16,
    metrics_port: Option<u16>,
    server: Server,
    metrics_server: Option<Server>,
    sweeper: Sweeper,
    retention: Retention,
    store_gauges: StoreGauges,
    sweep_interval: Duration,
    calendar_fingerprint: String,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let store = build_store(&settings.store)?;
        let sink = build_sink(&settings.tickets);
        Self::build_with(settings, store, sink, Arc::new(SystemClock))
    }

    /// Builds with a given store, ticket sink and clock: what tests use to
    /// control all three.
    pub fn build_with(
        settings: Settings,
        store: Arc<dyn Store>,
        sink: Arc<dyn TicketSink>,
        clock: Arc<dyn Clock>,
    ) -> Result<Application, StartupError> {
        let calendar = settings.sla.calendar.clone();
        let policy = settings.sla.policy.clone();
        let calendar_fingerprint = hex_digest(&format!("{calendar:?}{policy:?}"));
        let escalation = EscalationPolicy {
            escalate_again_after: settings.sla.escalate_again_after,
            max_attempts: settings.tickets.max_attempts,
            claim_lease: settings.tickets.timeout * 3,
            ..EscalationPolicy::default()
        };
        let metrics = Arc::new(Metrics::new());
        let networks = Arc::new(NetworkBoard::new(
            store.clone(),
            clock.clone(),
            metrics.clone(),
            settings.sla.pause_during_maintenance,
            calendar.timezone(),
        ));
        let required = settings.networks.iter().map(|(n, c)| (*n, c.required_confirmations)).collect();
        let eta = Arc::new(EtaBook::new(required));
        let service = Arc::new(Service {
            store,
            calendar: Arc::new(calendar),
            sla: policy,
            escalation,
            clock,
            metrics,
            networks,
            eta,
        });
        let sweeper = Sweeper::new(service.clone(), sink, settings.incidents);
        let store_gauges = StoreGauges::new(service.clone(), sweeper.owner().to_owned(), STORE_GAUGES_INTERVAL);
        let retention = Retention::new(
            service.clone(),
            build_archive(settings.retention.archive.as_ref()),
            RetentionSettings {
                terminal_for: settings.retention.terminal_for,
                tombstone_for: settings.retention.tombstone_for,
                interval: settings.retention.interval,
            },
        );
        let chain_trackers = build_chain_trackers(&settings, &service, sweeper.owner());
        let limits = &settings.rate_limit;
        let rate_limiter = RateLimiter::new(
            BucketSpec { rate: limits.per_token_per_second, burst: f64::from(limits.per_token_burst) },
            BucketSpec {
                rate: f64::from(limits.failed_auth_per_ip_per_minute) / 60.0,
                burst: f64::from(limits.failed_auth_per_ip_per_minute),
            },
        );
        let explorers =
            settings.networks.iter().map(|(n, c)| (*n, (c.explorer.as_str(), c.required_confirmations))).collect();
        let state = web::Data::new(AppState {
            service,
            auth: Authenticator::new(&settings.auth),
            rate_limiter,
            explorers,
            console: settings.console.clone(),
        });

        let (listener, port) = bind(settings.listen)?;
        let with_metrics = settings.metrics_listen.is_none();
        let main_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(main_state.clone())
                .wrap(from_fn(observe_request))
                .configure(|cfg| http::configure(cfg, with_metrics))
        })
        .listen(listener)
        .map_err(run_error(settings.listen))?
        .run();
        let (metrics_server, metrics_port) = match settings.metrics_listen {
            Some(addr) => {
                let (listener, port) = bind(addr)?;
                let server =
                    HttpServer::new(move || App::new().app_data(state.clone()).configure(http::configure_metrics_only))
                        .workers(1)
                        .listen(listener)
                        .map_err(run_error(addr))?
                        .run();
                (Some(server), Some(port))
            }
            None => (None, None),
        };
        Ok(Application {
            chain_trackers,
            port,
            metrics_port,
            server,
            metrics_server,
            sweeper,
            retention,
            store_gauges,
            sweep_interval: settings.sla.sweep_interval,
            calendar_fingerprint,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The port of the separate metrics listener, when `metrics_listen` is set.
    pub fn metrics_port(&self) -> Option<u16> {
        self.metrics_port
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

    /// One per configured network; tests drive `tick` themselves.
    pub fn chain_trackers(&self) -> Vec<ChainTracker> {
        self.chain_trackers.clone()
    }

    /// Tests run `expire_once` themselves.
    pub fn retention(&self) -> Retention {
        self.retention.clone()
    }

    pub fn store_gauges(&self) -> StoreGauges {
        self.store_gauges.clone()
    }

    /// Serves HTTP and runs the background jobs until the server stops.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let sweeper = self.sweeper.clone();
        let fingerprint = self.calendar_fingerprint.clone();
        let interval = self.sweep_interval;
        let sweeping = async move {
            sweeper.prepare(&fingerprint, interval).await;
            sweeper.run(interval).await;
        };
        let metrics_server = async move {
            match self.metrics_server {
                Some(server) => server.await,
                None => std::future::pending().await,
            }
        };
        // Trackers run forever; with none configured this must not end the select.
        let service = self.sweeper.service();
        let store = service.store.clone();
        let networks: Vec<_> = self.chain_trackers.iter().map(ChainTracker::network).collect();
        let estimating = service.eta.clone().run(store.clone(), networks, service.clock.clone());
        let chain_trackers = self.chain_trackers;
        let retention = self.retention;
        let trackers = async move {
            upgrade_index_layout(store.as_ref(), interval).await;
            // Retention reads the terminal index, complete only after the upgrade.
            let jobs =
                chain_trackers.into_iter().map(|t| Box::pin(t.run()) as futures_util::future::BoxFuture<'static, ()>);
            futures_util::future::join_all(jobs.chain([Box::pin(retention.run()) as _])).await;
            std::future::pending::<()>().await
        };
        let board = self.sweeper.service().networks.clone();
        let network_status = async move {
            loop {
                if let Err(error) = board.reload().await {
                    tracing::warn!(%error, "cannot read the networks' status");
                }
                tokio::time::sleep(NETWORK_STATUS_RELOAD).await;
            }
        };
        tokio::select! {
            result = self.server => result,
            () = network_status => Ok(()),
            _ = trackers => Ok(()),
            result = metrics_server => result,
            () = sweeping => Ok(()),
            () = self.store_gauges.clone().run() => Ok(()),
            () = estimating => Ok(()),
        }
    }
}

/// Brings the store's indexes to this version's layout before any tracker
/// reads them, retrying while the store is unreachable.
async fn upgrade_index_layout(store: &dyn Store, retry_every: Duration) {
    loop {
        match layout::upgrade(store).await {
            Ok(restored) => {
                if restored > 0 {
                    tracing::info!(restored, layout = layout::CURRENT, "index layout upgraded");
                }
                return;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot check the index layout yet");
                tokio::time::sleep(retry_every).await;
            }
        }
    }
}

fn build_chain_trackers(settings: &Settings, service: &Arc<Service>, owner: &str) -> Vec<ChainTracker> {
    settings.networks.iter().map(|(&network, chain)| build_chain_tracker(network, chain, service, owner)).collect()
}

fn build_chain_tracker(network: Network, chain: &ChainSettings, service: &Arc<Service>, owner: &str) -> ChainTracker {
    let gate =
        Arc::new(Gate::new(network, chain.explorer.as_str(), chain.requests_per_second, service.metrics.clone()));
    let config = ClientConfig::new(chain.urls.clone(), chain.request_timeout).with_gate(gate);
    // The key goes to the REST explorers only (TRON's in its own header);
    // JSON-RPC providers take theirs in the URL.
    let rest_key = chain.api_key.clone();
    let client = match chain.explorer {
        ExplorerKind::Esplora => Chain::Blocks(Arc::new(EsploraClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::Blockbook => Chain::Blocks(Arc::new(BlockbookClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::Tron => {
            let header = crate::chain::tron::API_KEY_HEADER.to_owned();
            let key = chain.api_key.as_ref().map(|key| ApiKey { header, value: key.value.clone() });
            Chain::Blocks(Arc::new(TronClient::new(config.with_api_key(key))))
        }
        ExplorerKind::Evm => Chain::Blocks(Arc::new(EvmClient::new(config, chain.batch_size))),
        ExplorerKind::Solana => Chain::Statuses(Arc::new(SolanaClient::new(config))),
        ExplorerKind::Xrpl => Chain::Statuses(Arc::new(XrplClient::new(config))),
        ExplorerKind::Blockfrost => Chain::Blocks(Arc::new(BlockfrostClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::Aptos => {
            let assets = chain.tokens.values().map(|t| t.contract.clone());
            Chain::Statuses(Arc::new(AptosClient::new(config.with_api_key(rest_key), assets)))
        }
        ExplorerKind::Sidecar => Chain::Blocks(Arc::new(SidecarClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::SuiGraphql => Chain::Statuses(Arc::new(SuiClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::Horizon => Chain::Blocks(Arc::new(HorizonClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::Toncenter => Chain::Statuses(Arc::new(ToncenterClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::Antelope => Chain::Blocks(Arc::new(AntelopeClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::Algod => {
            let indexer = ClientConfig { base_urls: chain.indexer_urls.clone(), ..config.clone() };
            let key = rest_key.clone();
            Chain::Blocks(Arc::new(AlgodClient::new(config.with_api_key(key), indexer.with_api_key(rest_key))))
        }
        ExplorerKind::HederaMirror => Chain::Statuses(Arc::new(HederaMirrorClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::NearRpc => Chain::Statuses(Arc::new(NearClient::new(config, chain.senders.clone()))),
        ExplorerKind::CosmosRest => Chain::Statuses(Arc::new(CosmosClient::new(
            config.with_api_key(rest_key),
            crate::chain::cosmos::ATOM_DENOM,
        ))),
        ExplorerKind::Octez => Chain::Blocks(Arc::new(crate::chain::OctezClient::new(config.with_api_key(rest_key)))),
        ExplorerKind::Lotus => Chain::Statuses(Arc::new(crate::chain::LotusClient::new(config.with_api_key(rest_key)))),
    };
    let settings = TrackerSettings {
        required_confirmations: chain.required_confirmations,
        poll_interval: chain.poll_interval,
        drop_after: chain.drop_after,
        native_decimals: network.native_decimals(),
        tokens: chain.tokens.iter().map(|(coin, t)| (coin.clone(), (t.contract.clone(), t.decimals))).collect(),
        discover: chain.discover,
        discover_interval: chain.discover_interval,
        halted_after: chain.halted_after,
    };
    ChainTracker::new(network, client, service.clone(), owner.to_owned(), settings)
}

fn bind(addr: SocketAddr) -> Result<(TcpListener, u16), StartupError> {
    let bind_error = |source| StartupError::Bind { addr: addr.to_string(), source };
    let listener = TcpListener::bind(addr).map_err(bind_error)?;
    let port = listener.local_addr().map_err(bind_error)?.port();
    tracing::info!(%addr, port, "listening");
    Ok((listener, port))
}

fn run_error(addr: SocketAddr) -> impl Fn(std::io::Error) -> StartupError {
    move |source| StartupError::Bind { addr: addr.to_string(), source }
}

fn hex_digest(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's request id if it is a sane one (shared with the request's
/// header, not copied), else a fresh one.
fn request_id(req: &ServiceRequest) -> HeaderValue {
    let sane = |id: &&HeaderValue| {
        let id = id.as_bytes();
        !id.is_empty() && id.len() <= 64 && id.iter().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
    };
    match req.headers().get(&REQUEST_ID).filter(sane) {
        Some(id) => id.clone(),
        None => {
            let mut hex = [0u8; 16];
            let digits = rand::random::<u64>().to_be_bytes();
            for (pair, byte) in hex.chunks_exact_mut(2).zip(digits) {
                pair[0] = HEX_DIGITS[usize::from(byte >> 4)];
                pair[1] = HEX_DIGITS[usize::from(byte & 0xf)];
            }
            HeaderValue::from_bytes(&hex).expect("hex digits are a valid header value")
        }
    }
}

const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// One span per request carrying its id (echoed as `X-Request-Id`), one log
/// line and the HTTP metrics per request, by route pattern (never a raw id).
/// Headers are not logged: they carry tokens. With JSON lines the "span" is
/// a task-local `RequestScope` the formatter writes as the span (see
/// `logging`): the same lines without a `tracing` span per request.
async fn observe_request(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let metrics = req.app_data::<web::Data<AppState>>().map(|state| state.service.metrics.clone());
    // Checked by `request_id`: a sane id or hex digits, so always text.
    let id_text = id.to_str().unwrap_or_default();
    let span = crate::logging::request_spans()
        .then(|| tracing::info_span!("request", request_id = id_text, method = method.as_str()));
    // As the span would have been: only when it would have been enabled.
    let scope = (span.is_none() && tracing::span_enabled!(tracing::Level::INFO))
        .then(|| crate::logging::RequestScope { id: id.clone(), method: method.clone() });
    let mut response = match (&span, &scope) {
        (Some(span), _) => next.call(req).instrument(span.clone()).await?,
        (None, Some(scope)) => scope.clone().run(next.call(req)).await?,
        (None, None) => next.call(req).await?,
    };
    let route = http::RoutePattern::of(response.request());
    let status = response.status();
    let elapsed = started.elapsed();
    if let Some(metrics) = metrics {
        metrics.http_requests.with_label_values(&[method.as_str(), route, status.as_str()]).inc();
        metrics.http_request_duration.with_label_values(&[method.as_str(), route]).observe(elapsed.as_secs_f64());
    }
    let log = || tracing::info!(route, status = status.as_u16(), millis = elapsed.as_millis() as u64, "request");
    match (&span, scope) {
        (Some(span), _) => span.in_scope(log),
        (None, Some(scope)) => scope.log(log),
        (None, None) => log(),
    }
    response.headers_mut().insert(REQUEST_ID.clone(), id);
    Ok(response)
}
