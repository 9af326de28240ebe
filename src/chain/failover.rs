//! Several clients of one network (one per configured URL) as one: each in
//! turn until one answers something other than `Unavailable`. Budget and
//! metrics are per HTTP request, in `http::Gate`.

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;

use super::{Block, BlockRef, ChainClient, ChainError, ConflictKey, PendingTx, Replaced, Strategy, TxInfo, TxStatus};

pub struct Failover {
    clients: Vec<Arc<dyn ChainClient>>,
}

impl Failover {
    pub fn new(clients: Vec<Arc<dyn ChainClient>>) -> Failover {
        assert!(!clients.is_empty(), "at least one client");
        Failover { clients }
    }

    async fn call<T, F, Fut>(&self, mut request: F) -> Result<T, ChainError>
    where
        F: FnMut(Arc<dyn ChainClient>) -> Fut + Send,
        Fut: Future<Output = Result<T, ChainError>> + Send,
        T: Send,
    {
        let mut last = Err(ChainError::Unavailable("no client".into()));
        for client in &self.clients {
            last = request(client.clone()).await;
            if !matches!(last, Err(ChainError::Unavailable(_))) {
                break;
            }
        }
        last
    }
}

#[async_trait]
impl ChainClient for Failover {
    fn name(&self) -> &'static str {
        self.clients[0].name()
    }

    fn strategy(&self) -> Strategy {
        self.clients[0].strategy()
    }

    async fn statuses(&self, txids: &[String]) -> Result<Vec<TxStatus>, ChainError> {
        self.call(|c| async move { c.statuses(txids).await }).await
    }

    async fn statuses_of(&self, txs: &[PendingTx]) -> Result<Vec<TxStatus>, ChainError> {
        self.call(|c| async move { c.statuses_of(txs).await }).await
    }

    async fn tip(&self) -> Result<BlockRef, ChainError> {
        self.call(|c| async move { c.tip().await }).await
    }

    fn tip_carries_block(&self) -> bool {
        self.clients[0].tip_carries_block()
    }

    async fn tip_block(&self) -> Result<Block, ChainError> {
        self.call(|c| async move { c.tip_block().await }).await
    }

    async fn block_at(&self, height: u64) -> Result<Block, ChainError> {
        self.call(|c| async move { c.block_at(height).await }).await
    }

    async fn is_in_best_chain(&self, block: &BlockRef) -> Result<bool, ChainError> {
        self.call(|c| async move { c.is_in_best_chain(block).await }).await
    }

    async fn transaction(&self, txid: &str) -> Result<Option<TxInfo>, ChainError> {
        self.call(|c| async move { c.transaction(txid).await }).await
    }

    async fn transactions_in_block(&self, block: &Block, txids: &[String]) -> Result<Vec<TxInfo>, ChainError> {
        self.call(|c| async move { c.transactions_in_block(block, txids).await }).await
    }

    async fn payments_to(&self, address: &str) -> Result<Vec<TxInfo>, ChainError> {
        self.call(|c| async move { c.payments_to(address).await }).await
    }

    async fn replacement(&self, txid: &str, conflict: &ConflictKey) -> Result<Option<Replaced>, ChainError> {
        self.call(|c| async move { c.replacement(txid, conflict).await }).await
    }
}
