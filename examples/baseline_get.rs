//! The baseline for `scripts/bench-load.sh`: the least an actix-web service
//! can do to answer `GET /v1/withdrawals/{id}` from Redis: one `GET` of a
//! stored JSON value, returned as is. No auth, no parsing, no views.
//!
//! By default it shares one `ConnectionManager` across the HTTP workers, as
//! the redis crate's documentation does. With `--connection-per-worker` each
//! worker connects its own (as the service's Redis store does), the stricter
//! reference: no command wakes another thread.
//!
//! With `--in-memory` it reads every stored value into a map at start and
//! answers from the map (no lock, no copy: the body shares the map's bytes):
//! the baseline for the service on its in-memory store.
//!
//! Built like the service: the release profile (fat LTO, one codegen unit)
//! and the same global allocator (mimalloc).
//!
//! Usage: baseline_get REDIS_URL KEY_PREFIX LISTEN [--connection-per-worker | --in-memory]

use std::cell::RefCell;
use std::collections::HashMap;

use actix_web::web::Bytes;
use actix_web::{web, App, HttpResponse, HttpServer};
use redis::aio::ConnectionManager;

struct State {
    client: redis::Client,
    shared: Option<ConnectionManager>,
    prefix: String,
}

/// The service's allocator, so the comparison is of the work per request,
/// not of two allocators.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

thread_local! {
    static WORKER_CONNECTION: RefCell<Option<ConnectionManager>> = const { RefCell::new(None) };
}

impl State {
    async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        if let Some(shared) = &self.shared {
            return Ok(shared.clone());
        }
        if let Some(existing) = WORKER_CONNECTION.with(|c| c.borrow().clone()) {
            return Ok(existing);
        }
        let connection = ConnectionManager::new(self.client.clone()).await?;
        WORKER_CONNECTION.with(|c| *c.borrow_mut() = Some(connection.clone()));
        Ok(connection)
    }
}

async fn get(state: web::Data<State>, id: web::Path<String>) -> HttpResponse {
    let Ok(mut redis) = state.connection().await else { return HttpResponse::ServiceUnavailable().finish() };
    let key = format!("{}:baseline:{id}", state.prefix);
    match redis::cmd("GET").arg(key).query_async::<Option<String>>(&mut redis).await {
        Ok(Some(json)) => HttpResponse::Ok().content_type("application/json").body(json),
        Ok(None) => HttpResponse::NotFound().finish(),
        Err(_) => HttpResponse::ServiceUnavailable().finish(),
    }
}

async fn get_in_memory(views: web::Data<HashMap<String, Bytes>>, id: web::Path<String>) -> HttpResponse {
    match views.get(id.as_str()) {
        Some(json) => HttpResponse::Ok().content_type("application/json").body(json.clone()),
        None => HttpResponse::NotFound().finish(),
    }
}

/// Every `<prefix>:baseline:<id>` value, by id.
async fn load_views(client: &redis::Client, prefix: &str) -> HashMap<String, Bytes> {
    let mut redis = ConnectionManager::new(client.clone()).await.expect("redis is up");
    let pattern = format!("{prefix}:baseline:");
    let mut views = HashMap::new();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{pattern}*"))
            .arg("COUNT")
            .arg(1000)
            .query_async(&mut redis)
            .await
            .expect("SCAN");
        if !keys.is_empty() {
            let values: Vec<Vec<u8>> = redis::cmd("MGET").arg(&keys).query_async(&mut redis).await.expect("MGET");
            for (key, value) in keys.iter().zip(values) {
                views.insert(key[pattern.len()..].to_owned(), Bytes::from(value));
            }
        }
        if next == 0 {
            return views;
        }
        cursor = next;
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (url, prefix, listen) = (args[1].clone(), args[2].clone(), args[3].clone());
    let per_worker = args.get(4).is_some_and(|a| a == "--connection-per-worker");
    let client = redis::Client::open(url).expect("a redis URL");
    if args.get(4).is_some_and(|a| a == "--in-memory") {
        let views = web::Data::new(load_views(&client, &prefix).await);
        return HttpServer::new(move || {
            App::new().app_data(views.clone()).route("/v1/withdrawals/{id}", web::get().to(get_in_memory))
        })
        .bind(listen)?
        .run()
        .await;
    }
    let shared =
        if per_worker { None } else { Some(ConnectionManager::new(client.clone()).await.expect("redis is up")) };
    let state = web::Data::new(State { client, shared, prefix });
    HttpServer::new(move || App::new().app_data(state.clone()).route("/v1/withdrawals/{id}", web::get().to(get)))
        .bind(listen)?
        .run()
        .await
}
