//! The baseline for `scripts/bench-load.sh`: the least an actix-web service
//! can do to answer `GET /v1/withdrawals/{id}` from Redis: one `GET` of a
//! stored JSON value, returned as is. No auth, no parsing, no views.
//!
//! By default it shares one `ConnectionManager` across the HTTP workers, as
//! the redis crate's documentation does. With `--connection-per-worker` each
//! worker connects its own (as the service's Redis store does), the stricter
//! reference: no command wakes another thread.
//!
//! Usage: baseline_get REDIS_URL KEY_PREFIX LISTEN [--connection-per-worker]

use std::cell::RefCell;

use actix_web::{web, App, HttpResponse, HttpServer};
use redis::aio::ConnectionManager;

struct State {
    client: redis::Client,
    shared: Option<ConnectionManager>,
    prefix: String,
}

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

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (url, prefix, listen) = (args[1].clone(), args[2].clone(), args[3].clone());
    let per_worker = args.get(4).is_some_and(|a| a == "--connection-per-worker");
    let client = redis::Client::open(url).expect("a redis URL");
    let shared =
        if per_worker { None } else { Some(ConnectionManager::new(client.clone()).await.expect("redis is up")) };
    let state = web::Data::new(State { client, shared, prefix });
    HttpServer::new(move || App::new().app_data(state.clone()).route("/v1/withdrawals/{id}", web::get().to(get)))
        .bind(listen)?
        .run()
        .await
}
