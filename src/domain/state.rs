//! The withdrawal state machine: which state may follow which, and nothing else.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Requested; the exchange is still reviewing or signing it.
    Pending,
    /// A transaction hash is known, not yet in a block.
    Broadcast,
    /// In a block, fewer confirmations than the network requires.
    Confirming,
    /// Enough confirmations on the best chain.
    Completed,
    /// The transaction failed on chain (e.g. reverted).
    Failed,
    /// The transaction vanished or was replaced.
    Dropped,
    /// The exchange cancelled or rejected it.
    Cancelled,
}

impl State {
    pub const ALL: [State; 7] = [
        State::Pending,
        State::Broadcast,
        State::Confirming,
        State::Completed,
        State::Failed,
        State::Dropped,
        State::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Broadcast => "broadcast",
            State::Confirming => "confirming",
            State::Completed => "completed",
            State::Failed => "failed",
            State::Dropped => "dropped",
            State::Cancelled => "cancelled",
        }
    }

    pub fn parse(raw: &str) -> Option<State> {
        State::ALL.into_iter().find(|s| s.as_str() == raw)
    }

    pub fn is_terminal(self) -> bool {
        matches!(self, State::Completed | State::Cancelled)
    }

    /// The only transitions a withdrawal may take. `Confirming -> Confirming`
    /// is a reorg that moved the transaction into another block. Cancelling
    /// after broadcast is refused: the money may already be on its way.
    pub fn can_become(self, next: State) -> bool {
        use State::*;
        matches!(
            (self, next),
            (Pending, Broadcast | Cancelled)
                | (Broadcast, Confirming | Completed | Failed | Dropped)
                | (Confirming, Broadcast | Confirming | Completed | Failed | Dropped)
                | (Failed | Dropped, Broadcast | Cancelled)
        )
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::State::{self, *};

    /// Every allowed transition, written out by hand so the test does not
    /// restate the implementation.
    const ALLOWED: &[(State, State)] = &[
        (Pending, Broadcast),
        (Pending, Cancelled),
        (Broadcast, Confirming),
        (Broadcast, Completed),
        (Broadcast, Failed),
        (Broadcast, Dropped),
        (Confirming, Broadcast),
        (Confirming, Confirming),
        (Confirming, Completed),
        (Confirming, Failed),
        (Confirming, Dropped),
        (Failed, Broadcast),
        (Failed, Cancelled),
        (Dropped, Broadcast),
        (Dropped, Cancelled),
    ];

    #[test]
    fn every_pair_of_states_is_allowed_exactly_when_listed() {
        let mut checked = 0;
        for from in State::ALL {
            for to in State::ALL {
                let expected = ALLOWED.contains(&(from, to));
                assert_eq!(from.can_become(to), expected, "{from} -> {to}");
                checked += 1;
            }
        }
        assert_eq!(checked, 49);
    }

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in State::ALL.into_iter().filter(|s| s.is_terminal()) {
            assert!(State::ALL.into_iter().all(|to| !from.can_become(to)), "{from}");
        }
        assert_eq!(State::ALL.into_iter().filter(|s| s.is_terminal()).count(), 2);
    }

    #[test]
    fn names_round_trip() {
        for s in State::ALL {
            assert_eq!(State::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{s}\""));
        }
        assert_eq!(State::parse("Pending"), None);
    }
}
