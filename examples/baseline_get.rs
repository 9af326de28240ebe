//! The baseline for `scripts/bench-load.sh`: the least an actix-web service
//! can do to answer `GET /v1/withdrawals/{id}` from Redis: one `GET` of a
//! stored JSON value, returned as is. No auth, no parsing, no views.
//!
//! Usage: baseline_get REDIS_URL KEY_PREFIX LISTEN

use actix_web::{web, App, HttpResponse, HttpServer};
use redis::aio::ConnectionManager;

struct State {
    redis: ConnectionManager,
    prefix: String,
}

async fn get(state: web::Data<State>, id: web::Path<String>) -> HttpResponse {
    let mut redis = state.redis.clone();
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
    let client = redis::Client::open(url).expect("a redis URL");
    let redis = ConnectionManager::new(client).await.expect("redis is up");
    let state = web::Data::new(State { redis, prefix });
    HttpServer::new(move || App::new().app_data(state.clone()).route("/v1/withdrawals/{id}", web::get().to(get)))
        .bind(listen)?
        .run()
        .await
}
