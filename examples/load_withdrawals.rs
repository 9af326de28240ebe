//! Loads withdrawals into Redis through the store, as the service writes
//! them, for `scripts/bench-load.sh`: pending ones (registered without a
//! hash), with `--broadcast` broadcast ones (registered with their hash), or
//! with `--looked-up` broadcast ones as they are once the tracker has found
//! their transaction in the mempool (what TronGrid's answer records).
//! With `--baseline`, writes each one's status view JSON under
//! `<prefix>:baseline:<id>` instead, for the baseline server to serve.
//!
//! Usage: load_withdrawals REDIS_URL KEY_PREFIX COUNT [--baseline | --broadcast | --looked-up]
//!
//! Ids are `w-` and 7 digits (`w-0000042`); `LOAD_ID_DIGITS=N` pads to N
//! digits instead, to measure how memory grows with the id's length.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use sha2::{Digest, Sha256};
use withdrawal_tracker::clock::SystemClock;
use withdrawal_tracker::domain::address::ValidatedAddress;
use withdrawal_tracker::domain::calendar::{CalendarConfig, WorkingCalendar};
use withdrawal_tracker::domain::escalation::EscalationPolicy;
use withdrawal_tracker::domain::message::Language;
use withdrawal_tracker::domain::observation::{NetworkRules, Observation};
use withdrawal_tracker::domain::onchain::{Asset, BaseUnits, Payment, ReplacementKey, TxInfo, TxLocation};
use withdrawal_tracker::domain::payee::PayeeRules;
use withdrawal_tracker::domain::sla::SlaPolicy;
use withdrawal_tracker::domain::{Amount, Network, Registration, TxHash, UserId, Withdrawal, WithdrawalId};
use withdrawal_tracker::metrics::Metrics;
use withdrawal_tracker::networks::NetworkBoard;
use withdrawal_tracker::service::Service;
use withdrawal_tracker::store::RedisStore;
use withdrawal_tracker::view::{ViewContext, WithdrawalView};

fn registration(i: usize, broadcast: bool, id_digits: usize) -> Registration {
    Registration {
        id: WithdrawalId::parse(&format!("w-{i:0id_digits$}")).unwrap(),
        user_id: UserId::parse(&format!("u-{}", i % 20_000)).unwrap(),
        coin: "USDT".into(),
        destination: ValidatedAddress::parse(Network::Trx, "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", None).unwrap(),
        amount: Amount::parse(&format!("{}.{:02}", 10 + i % 5000, i % 100)).unwrap(),
        requested_at: None,
        tx_hash: broadcast.then(|| TxHash::parse(Network::Trx, &random_looking_hash(i)).unwrap()),
    }
}

/// Real transaction hashes do not compress: a digest of `i`, not `i` padded
/// with zeros, so the stored record is as large as a real one.
fn random_looking_hash(i: usize) -> String {
    Sha256::digest(i.to_le_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What the chain tracker writes when its first lookup finds a TRON
/// transaction in the mempool, paying what it should.
fn seen_in_the_mempool(w: &mut Withdrawal, now: chrono::DateTime<chrono::Utc>) {
    let txid = w.tx_hash().expect("broadcast").as_str().to_owned();
    let decimals = Network::Trx.native_decimals();
    let rules = NetworkRules {
        payee: PayeeRules { native_decimals: decimals, ..PayeeRules::default() },
        ..NetworkRules::default()
    };
    let amount = BaseUnits::from_decimal(w.amount.as_str(), decimals).expect("TRX base units");
    let paid = Payment { to: w.address.clone(), amount, asset: Asset::Native, memo: None };
    let tx = TxInfo {
        txid: txid.clone(),
        location: TxLocation::Mempool,
        success: None,
        payments: vec![paid],
        conflict: ReplacementKey::Outpoints(Vec::new()),
        valid_until: None,
    };
    w.observe(&Observation::LookedUp { txid, found: Some(tx), tip: 0 }, now, &rules).expect("a broadcast withdrawal");
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (url, prefix) = (&args[1], &args[2]);
    let count: usize = args[3].parse().unwrap();
    let baseline = args.get(4).is_some_and(|a| a == "--baseline");
    let looked_up = args.get(4).is_some_and(|a| a == "--looked-up");
    let broadcast = looked_up || args.get(4).is_some_and(|a| a == "--broadcast");
    let id_digits: usize = std::env::var("LOAD_ID_DIGITS").map_or(7, |d| d.parse().expect("LOAD_ID_DIGITS: a number"));
    let calendar = WorkingCalendar::from_config(&CalendarConfig::default(), &[]).unwrap();
    let store: Arc<dyn withdrawal_tracker::store::Store> =
        Arc::new(RedisStore::new(url, prefix, Duration::from_secs(5)).unwrap());
    let (clock, metrics) = (Arc::new(SystemClock), Arc::new(Metrics::new()));
    let networks = NetworkBoard::new(store.clone(), clock.clone(), metrics.clone(), false, calendar.timezone());
    let service = Service {
        store,
        calendar: Arc::new(calendar),
        sla: SlaPolicy::default(),
        escalation: EscalationPolicy::default(),
        clock,
        metrics,
        networks: Arc::new(networks),
        eta: Default::default(),
    };
    let client = redis::Client::open(url.as_str()).unwrap();
    let redis = redis::aio::ConnectionManager::new(client).await.unwrap();
    let started = Instant::now();
    stream::iter(0..count)
        .for_each_concurrent(64, |i| {
            let (service, mut redis) = (&service, redis.clone());
            async move {
                if baseline {
                    let mut w = Withdrawal::register(registration(i, false, id_digits), service.now());
                    service.refresh(&mut w, service.now());
                    let context = ViewContext::new(service, Language::English);
                    let json = WithdrawalView::new(&w, &context).to_json().to_string();
                    let key = format!("{prefix}:baseline:{}", w.id);
                    redis::cmd("SET").arg(key).arg(json).query_async::<()>(&mut redis).await.unwrap();
                } else {
                    let registration = registration(i, broadcast, id_digits);
                    let id = registration.id.clone();
                    service.register(registration).await.unwrap();
                    if looked_up {
                        let seen = |w: &mut Withdrawal| {
                            seen_in_the_mempool(w, service.now());
                            Ok(())
                        };
                        service.modify(&id, seen).await.unwrap();
                    }
                }
            }
        })
        .await;
    eprintln!("loaded {count} in {:.1}s", started.elapsed().as_secs_f64());
}
