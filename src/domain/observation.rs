//! What the chain tracker saw of one withdrawal's transaction, as a value:
//! the tracker gathers it from the chain, `Withdrawal::observe`
//! (`tracking.rs`) applies it. Nothing here asks a chain.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::onchain::{BlockRef, TxInfo};
use super::payee::PayeeRules;

/// One thing the chain showed about a withdrawal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Observation {
    /// The first lookup of `txid` after it was broadcast: what the node
    /// knows of it (a block or the mempool), or nothing yet. Either way it
    /// is not looked up again.
    LookedUp { txid: String, found: Option<TxInfo>, tip: u64 },
    /// A transaction with its details (outcome, payments, replacement key),
    /// in a block of the best chain whose tip is `tip`, or in the mempool.
    Seen { tx: TxInfo, tip: u64 },
    /// In `block` of the best chain whose tip is `tip`, its details checked
    /// before: only confirmations follow.
    InBlock { block: BlockRef, tip: u64 },
    /// The best chain's block at `block.height` is `block.hash`, as the
    /// tracker read it.
    BestBlockAt(BlockRef),
    /// A block the tracker read left the best chain.
    LeftBestChain(BlockRef),
    /// The node knows the transaction, not in a block yet (or not final at
    /// the chain's own commitment level).
    StillPending,
    /// In a block, on a chain with its own finality (Solana, XRPL).
    Included(BlockRef),
    /// Final by the chain's own rule; with its details when the node gave
    /// them (the payee check runs on those).
    Final { tx: Option<TxInfo> },
    /// Executed and failed on chain.
    Failed,
    /// It will never be included.
    Dropped(DropReason),
    /// Discovery found `txid` paying a pending withdrawal registered
    /// without a hash.
    Discovered { txid: String },
    /// Discovery looked at the address with the chain at `tip` (only later
    /// payments can be the withdrawal's); it looks again at `next_at`.
    DiscoveryChecked { tip: u64, next_at: DateTime<Utc> },
}

/// Why a transaction will never be included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DropReason {
    /// Another transaction spent the same outputs, or used the same nonce;
    /// named when the explorer can.
    Replaced { by: Option<String> },
    /// The explorer has not known it for this long.
    Unseen { for_: Duration },
    /// Its last valid height passed (Solana, XRPL).
    Expired,
}

impl std::fmt::Display for DropReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DropReason::Replaced { by: Some(by) } => write!(f, "replaced by {by}"),
            DropReason::Replaced { by: None } => f.write_str("replaced by another transaction"),
            DropReason::Unseen { for_ } => write!(f, "not seen by the explorer for {}", humanize(*for_)),
            DropReason::Expired => f.write_str("expired before inclusion"),
        }
    }
}

/// What applying an observation needs to know about the network.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkRules {
    pub required_confirmations: u64,
    pub payee: PayeeRules,
}

fn humanize(duration: Duration) -> String {
    let minutes = duration.as_secs() / 60;
    if minutes >= 60 && minutes % 60 == 0 {
        format!("{}h", minutes / 60)
    } else if minutes > 0 {
        format!("{minutes}m")
    } else {
        format!("{}s", duration.as_secs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reasons_read_as_the_history_has_always_said_them() {
        let cases = [
            (DropReason::Replaced { by: Some("ff".into()) }, "replaced by ff"),
            (DropReason::Replaced { by: None }, "replaced by another transaction"),
            (DropReason::Unseen { for_: Duration::from_secs(7200) }, "not seen by the explorer for 2h"),
            (DropReason::Unseen { for_: Duration::from_secs(90 * 60) }, "not seen by the explorer for 90m"),
            (DropReason::Unseen { for_: Duration::from_secs(30) }, "not seen by the explorer for 30s"),
            (DropReason::Expired, "expired before inclusion"),
        ];
        for (reason, text) in cases {
            assert_eq!(reason.to_string(), text);
        }
    }
}
