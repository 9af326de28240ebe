//! What every REST explorer client does with a misbehaving server: a hang
//! is `Unavailable`, throttling is an answer (no failover), and an outage
//! or a dead URL fails over to the next URL in order. Written once, run
//! against each explorer's fake (Esplora, Blockbook, TronGrid, Horizon,
//! toncenter, Blockfrost, Sidecar, Sui, algod with its indexer, the Hedera
//! mirror node).
//! toncenter, Blockfrost, Sidecar, Sui, Octez, Lotus).

use std::time::{Duration, Instant};

use withdrawal_tracker::chain::AntelopeClient;
use withdrawal_tracker::chain::{AlgodClient, HederaMirrorClient};
use withdrawal_tracker::chain::{
    AptosClient, BlockChain, BlockRef, BlockbookClient, BlockfrostClient, ChainError, EsploraClient, HorizonClient,
    SidecarClient, StatusChain, SuiClient, ToncenterClient, TronClient,
};
use withdrawal_tracker::chain::{CosmosClient, NearClient};

use super::fake_algod::{self, FakeAlgod};
use super::fake_antelope::{self, FakeAntelope};
use super::fake_blockbook::FakeBlockbook;
use super::fake_esplora::{self, FakeEsplora};
use super::fake_hedera_mirror::{self, FakeMirror};
use super::fake_horizon::{self, FakeHorizon};
use super::fake_lotus::{self, FakeLotus};
use super::fake_octez::{self, FakeOctez};
use super::fake_toncenter::{self, FakeToncenter};
use super::fake_tron::{self, FakeTron};
use withdrawal_tracker::chain::{LotusClient, OctezClient};

/// What these checks ask of a client, whichever trait it fills in: its tip.
pub trait Tip {
    fn tip_now(&self) -> impl std::future::Future<Output = Result<BlockRef, ChainError>>;
}

macro_rules! tip_through {
    ($trait:ident: $($client:ty),+) => {$(
        impl Tip for $client {
            async fn tip_now(&self) -> Result<BlockRef, ChainError> {
                $trait::tip(self).await
            }
        }
    )+};
}

tip_through!(BlockChain: EsploraClient, BlockbookClient, TronClient, HorizonClient, BlockfrostClient, SidecarClient);
tip_through!(StatusChain: ToncenterClient, SuiClient, AptosClient);
tip_through!(BlockChain: AntelopeClient);
tip_through!(BlockChain: AlgodClient);
tip_through!(StatusChain: HederaMirrorClient);
tip_through!(StatusChain: NearClient, CosmosClient);
tip_through!(BlockChain: OctezClient);
tip_through!(StatusChain: LotusClient);

/// A URL where nothing listens.
pub fn dead_url() -> String {
    let port = crate::support::ports::free_port();
    format!("http://127.0.0.1:{port}")
}

/// How a fake explorer answers its next requests, in the terms every fake shares.
pub enum Behaviour {
    Normal,
    /// Its outage status (a gateway's 502 or 503).
    Down,
    /// 429 with `Retry-After: <seconds>`.
    RateLimited(u64),
    /// Never answers in time.
    Hang,
}

pub trait ExplorerFake {
    fn base_url(&self) -> &str;
    fn requests(&self) -> usize;
    fn behave(&self, behaviour: Behaviour);
}

fn esplora_mode(behaviour: Behaviour) -> fake_esplora::Mode {
    match behaviour {
        Behaviour::Normal => fake_esplora::Mode::Normal,
        Behaviour::Down => fake_esplora::Mode::Down,
        Behaviour::RateLimited(seconds) => fake_esplora::Mode::RateLimited(seconds),
        Behaviour::Hang => fake_esplora::Mode::Hang,
    }
}

impl ExplorerFake for FakeEsplora {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeEsplora::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(esplora_mode(behaviour));
    }
}

impl ExplorerFake for FakeBlockbook {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeBlockbook::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(esplora_mode(behaviour));
    }
}

impl ExplorerFake for FakeTron {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeTron::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => fake_tron::Mode::Normal,
            Behaviour::Down => fake_tron::Mode::Down,
            Behaviour::RateLimited(seconds) => fake_tron::Mode::RateLimited(seconds),
            Behaviour::Hang => fake_tron::Mode::Hang,
        });
    }
}

impl ExplorerFake for FakeHorizon {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeHorizon::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => fake_horizon::Mode::Normal,
            Behaviour::Down => fake_horizon::Mode::Down,
            Behaviour::RateLimited(seconds) => fake_horizon::Mode::RateLimited(seconds),
            Behaviour::Hang => fake_horizon::Mode::Hang,
        });
    }
}

impl ExplorerFake for FakeToncenter {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeToncenter::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => fake_toncenter::Mode::Normal,
            Behaviour::Down => fake_toncenter::Mode::Down,
            Behaviour::RateLimited(seconds) => fake_toncenter::Mode::RateLimited(seconds),
            Behaviour::Hang => fake_toncenter::Mode::Hang,
        });
    }
}

impl ExplorerFake for FakeAntelope {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeAntelope::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => fake_antelope::Mode::Normal,
            Behaviour::Down => fake_antelope::Mode::Down,
            Behaviour::RateLimited(seconds) => fake_antelope::Mode::RateLimited(seconds),
            Behaviour::Hang => fake_antelope::Mode::Hang,
        });
    }
}

impl ExplorerFake for FakeAlgod {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeAlgod::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => fake_algod::Mode::Normal,
            Behaviour::Down => fake_algod::Mode::Down,
            Behaviour::RateLimited(seconds) => fake_algod::Mode::RateLimited(seconds),
            Behaviour::Hang => fake_algod::Mode::Hang,
        });
    }
}

impl ExplorerFake for FakeMirror {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeMirror::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => fake_hedera_mirror::Mode::Normal,
            Behaviour::Down => fake_hedera_mirror::Mode::Down,
            Behaviour::RateLimited(seconds) => fake_hedera_mirror::Mode::RateLimited(seconds),
            Behaviour::Hang => fake_hedera_mirror::Mode::Hang,
        });
    }
}

/// `client` builds the explorer's client over some URLs, with a 500 ms timeout.
pub async fn a_hanging_server_times_out_as_unavailable<C: Tip>(
    fake: &impl ExplorerFake,
    client: impl Fn(&[&str]) -> C,
) {
    let explorer = client(&[fake.base_url()]);
    fake.behave(Behaviour::Hang);
    let started = Instant::now();
    assert_eq!(explorer.tip_now().await, Err(ChainError::Unavailable("timed out".to_owned())));
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

/// `fake` is throttled; `second`, listed after it, must never be asked.
pub async fn throttling_is_rate_limited_with_retry_after<C: Tip>(
    fake: &impl ExplorerFake,
    second: &impl ExplorerFake,
    client: impl Fn(&[&str]) -> C,
) {
    fake.behave(Behaviour::RateLimited(7));
    assert_eq!(
        client(&[fake.base_url()]).tip_now().await,
        Err(ChainError::RateLimited { retry_after: Some(Duration::from_secs(7)) })
    );
    let both = client(&[fake.base_url(), second.base_url()]);
    assert!(matches!(both.tip_now().await, Err(ChainError::RateLimited { .. })), "429 is an answer, not an outage");
    assert_eq!(second.requests(), 0);
}

/// `first`'s tip is at `base_height`, `second`'s one block higher, so each
/// answer tells which server gave it. `down_status` is what `first` answers
/// when down.
pub async fn fails_over_to_the_next_url_in_order<C: Tip>(
    first: &impl ExplorerFake,
    second: &impl ExplorerFake,
    base_height: u64,
    down_status: &str,
    client: impl Fn(&[&str]) -> C,
) {
    let explorer = client(&[&dead_url(), second.base_url()]);
    assert_eq!(explorer.tip_now().await.unwrap().height, base_height + 1, "connection refused → second");

    first.behave(Behaviour::Down);
    let explorer = client(&[first.base_url(), second.base_url()]);
    assert_eq!(explorer.tip_now().await.unwrap().height, base_height + 1, "{down_status} → second");
    assert!(first.requests() > 0);

    first.behave(Behaviour::Normal);
    assert_eq!(explorer.tip_now().await.unwrap().height, base_height, "the first is preferred again once it is back");

    let nothing = client(&[&dead_url(), &dead_url()]);
    assert!(matches!(nothing.tip_now().await, Err(ChainError::Unavailable(_))));
    first.behave(Behaviour::Down);
    assert!(
        matches!(client(&[first.base_url()]).tip_now().await, Err(ChainError::Unavailable(m)) if m.contains(down_status))
    );
}

impl ExplorerFake for FakeOctez {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeOctez::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => fake_octez::Mode::Normal,
            Behaviour::Down => fake_octez::Mode::Down,
            Behaviour::RateLimited(seconds) => fake_octez::Mode::RateLimited(seconds),
            Behaviour::Hang => fake_octez::Mode::Hang,
        });
    }
}

impl ExplorerFake for FakeLotus {
    fn base_url(&self) -> &str {
        &self.base_url
    }
    fn requests(&self) -> usize {
        FakeLotus::requests(self)
    }
    fn behave(&self, behaviour: Behaviour) {
        self.set_mode(match behaviour {
            Behaviour::Normal => fake_lotus::Mode::Normal,
            Behaviour::Down => fake_lotus::Mode::Down,
            Behaviour::RateLimited(seconds) => fake_lotus::Mode::RateLimited(seconds),
            Behaviour::Hang => fake_lotus::Mode::Hang,
        });
    }
}
