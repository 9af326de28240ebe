//! What a client followed by status learned of a final transaction while
//! answering `statuses_of`, kept until the tracker asks for its details
//! (`transaction`), so the payee check costs no second request.

use std::collections::HashMap;
use std::sync::Mutex;

use super::TxInfo;

/// Final answers are never stale; this bounds memory when the tracker
/// never asks for some of them (emptied whole when full: cheap, and a miss
/// only costs the lookup again).
const KEPT: usize = 4096;

#[derive(Default)]
pub(crate) struct FinalAnswers(Mutex<HashMap<String, TxInfo>>);

impl FinalAnswers {
    pub(crate) fn keep(&self, txid: &str, info: TxInfo) {
        let mut kept = self.0.lock().expect("not poisoned");
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(txid.to_owned(), info);
    }

    /// The kept answer, handed over once.
    pub(crate) fn take(&self, txid: &str) -> Option<TxInfo> {
        self.0.lock().expect("not poisoned").remove(txid)
    }
}
