//! How large the records under each key prefix would be, stored with each
//! given compression dictionary: how `record_dictionary_v2.json` was chosen
//! (docs/PERFORMANCE.md). Reads every 37th of the first 20,000 withdrawals
//! `load_withdrawals` wrote. The sizes include the version prefix and the
//! format tag, as in Redis; 314 bytes is the most that fits a 320-byte
//! allocation, 252 a 256-byte one.
//!
//! Usage: record_sizes REDIS_URL PREFIX,PREFIX... DICTIONARY_FILE...

use std::time::Duration;

use withdrawal_tracker::domain::WithdrawalId;
use withdrawal_tracker::store::{RedisStore, Store};

/// `<version>:` (one digit for these records) and the format tag.
const FRAMING_BYTES: usize = 3;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dictionaries: Vec<Vec<u8>> = args[3..].iter().map(|path| std::fs::read(path).unwrap()).collect();
    for prefix in args[2].split(',') {
        let store = RedisStore::new(&args[1], prefix, Duration::from_secs(5)).unwrap();
        let mut sizes = vec![Vec::new(); dictionaries.len()];
        for i in (0..20_000).step_by(37) {
            let id = WithdrawalId::parse(&format!("w-{i:07}")).unwrap();
            let Some(record) = store.get(&id).await.unwrap() else { continue };
            let json = serde_json::to_vec(&record).unwrap();
            for (sizes, dictionary) in sizes.iter_mut().zip(&dictionaries) {
                let compressed = lz4_flex::block::compress_prepend_size_with_dict(&json, dictionary);
                sizes.push(compressed.len() + FRAMING_BYTES);
            }
        }
        for (sizes, path) in sizes.iter_mut().zip(&args[3..]) {
            sizes.sort_unstable();
            let n = sizes.len().max(1);
            let within = |limit: usize| sizes.iter().filter(|&&size| size <= limit).count();
            println!(
                "{prefix} {path}: median {} p90 {} max {}; <=252: {}, <=314: {} of {n}",
                sizes.get(n / 2).unwrap_or(&0),
                sizes.get(n * 9 / 10).unwrap_or(&0),
                sizes.last().unwrap_or(&0),
                within(252),
                within(314),
            );
        }
    }
}
