//! The chain behind the UTXO explorer fakes (Esplora, Blockbook): a best
//! chain that can be extended and reorganized, the blocks reorganized away,
//! and every transaction the node knows. Each fake renders it in its own
//! API's shapes.

use std::collections::HashMap;

#[derive(Debug, Clone)]
pub struct FakeBlock {
    pub hash: String,
    pub height: u64,
    pub prev: Option<String>,
    pub txids: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct FakeTx {
    pub txid: String,
    /// Previous outputs spent: (txid, vout).
    pub inputs: Vec<(String, u32)>,
    /// (address, sats); `None` for an OP_RETURN output.
    pub outputs: Vec<(Option<String>, u64)>,
}

/// Hashes and txids look like the real thing: 64 hex digits, all different.
pub fn fake_hash(tag: &str, n: u64) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(format!("{tag}-{n}")).iter().map(|b| format!("{b:02x}")).collect()
}

pub struct UtxoChain {
    /// The best chain, by height from its first block's.
    pub chain: Vec<FakeBlock>,
    /// Blocks that were reorganized away.
    pub stale: Vec<FakeBlock>,
    /// Every transaction the node knows (mempool and chain). Removing one is
    /// a mempool eviction.
    pub txs: HashMap<String, FakeTx>,
    /// Prefixed to every hash tag, so two fakes never share a hash.
    tag_prefix: &'static str,
    counter: u64,
}

impl UtxoChain {
    /// One block at `base_height`, holding a coinbase when `with_coinbase`.
    pub fn new(tag_prefix: &'static str, base_height: u64, with_coinbase: bool) -> UtxoChain {
        let mut ledger =
            UtxoChain { chain: Vec::new(), stale: Vec::new(), txs: HashMap::new(), tag_prefix, counter: 0 };
        let hash = ledger.next_hash("block");
        let txids = if with_coinbase { vec![fake_hash(&format!("{tag_prefix}coinbase"), base_height)] } else { vec![] };
        let prev = Some(fake_hash(&format!("{tag_prefix}before"), 0));
        ledger.chain.push(FakeBlock { hash, height: base_height, prev, txids });
        ledger
    }

    fn next_hash(&mut self, tag: &str) -> String {
        self.counter += 1;
        fake_hash(&format!("{}{tag}", self.tag_prefix), self.counter)
    }

    pub fn tip(&self) -> &FakeBlock {
        self.chain.last().expect("the chain has blocks")
    }

    /// The best-chain block holding `txid`.
    pub fn block_of(&self, txid: &str) -> Option<&FakeBlock> {
        self.chain.iter().find(|b| b.txids.iter().any(|t| t == txid))
    }

    /// How deep `txid` is in the best chain; 0 while in the mempool.
    pub fn confirmations(&self, txid: &str) -> u64 {
        self.block_of(txid).map_or(0, |block| self.tip().height - block.height + 1)
    }

    /// Puts a transaction in the mempool; returns its txid.
    pub fn broadcast(&mut self, inputs: &[(&str, u32)], outputs: &[(Option<&str>, u64)]) -> String {
        let txid = self.next_hash("tx");
        self.broadcast_as(&txid, inputs, outputs)
    }

    /// The same with a txid of the test's choosing.
    pub fn broadcast_as(&mut self, txid: &str, inputs: &[(&str, u32)], outputs: &[(Option<&str>, u64)]) -> String {
        let txid = txid.to_owned();
        let tx = FakeTx {
            txid: txid.clone(),
            inputs: inputs.iter().map(|(t, v)| (t.to_string(), *v)).collect(),
            outputs: outputs.iter().map(|(a, v)| (a.map(str::to_owned), *v)).collect(),
        };
        self.txs.insert(txid.clone(), tx);
        txid
    }

    /// Appends a block holding a coinbase and `txids`; returns it.
    pub fn mine(&mut self, txids: &[&str]) -> FakeBlock {
        let hash = self.next_hash("block");
        let tip = self.tip().clone();
        let block = FakeBlock {
            hash,
            height: tip.height + 1,
            prev: Some(tip.hash),
            txids: std::iter::once(fake_hash(&format!("{}coinbase", self.tag_prefix), tip.height + 1))
                .chain(txids.iter().map(|t| t.to_string()))
                .collect(),
        };
        self.chain.push(block.clone());
        block
    }

    /// Replaces the top `depth` blocks with `depth + 1` empty ones (the new
    /// branch is longer, so it wins). Their transactions go back to the
    /// mempool.
    pub fn reorg(&mut self, depth: usize) {
        let empty: Vec<&[&str]> = vec![&[]; depth + 1];
        self.reorg_with(depth, &empty);
    }

    /// Takes the top `depth` blocks off the best chain (they become stale,
    /// their transactions go back to the mempool) and mines `branch` in their
    /// place: one block per entry, holding a coinbase and those txids.
    /// Returns the stale blocks, tip last. A branch of `depth` blocks
    /// replaces the tip at the same height (the node switched to a competing
    /// block it heard of); a shorter one makes the tip go back (e.g. a node
    /// that invalidated its tip block).
    pub fn reorg_with(&mut self, depth: usize, branch: &[&[&str]]) -> Vec<FakeBlock> {
        assert!(depth < self.chain.len(), "the first block stays");
        let keep = self.chain.len() - depth;
        let removed: Vec<FakeBlock> = self.chain.drain(keep..).collect();
        self.stale.extend(removed.iter().cloned());
        for txids in branch {
            self.mine(txids);
        }
        removed
    }
}

/// A fake explorer that renders a [`UtxoChain`] (Esplora, Blockbook), for
/// tests that drive the chain the same way on either.
pub trait UtxoFake: super::explorer_transport::ExplorerFake {
    /// Runs `f` on the fake's chain, under its lock.
    fn with_chain<R>(&self, f: impl FnOnce(&mut UtxoChain) -> R) -> R;
}
