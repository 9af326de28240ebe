//! Starts a real Ethereum node (ganache, from `node_modules/.bin/ganache`
//! under the repository) on a free port for each test, and kills it on drop.
//! Nothing is installed here: a missing ganache fails the test with the
//! command that installs it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const INSTALL_HINT: &str =
    "ganache is required by tests/it/chain_evm.rs and was not found at node_modules/.bin/ganache.\n\
     Install it from the repository root with `npm ci` (Node.js 16+; package.json pins ganache 7).";

pub struct Ganache {
    pub url: String,
    child: Child,
    http: reqwest::Client,
}

/// ganache `--wallet.deterministic` account 0: unlocked and funded with 1000 ETH.
pub const FUNDED: &str = "0x90f8bf6a479f320ead074411a4b0e7944ea8c9c1";

fn binary() -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("node_modules/.bin/ganache");
    assert!(path.is_file(), "{INSTALL_HINT}");
    path
}

impl Ganache {
    pub async fn start() -> Ganache {
        let port = crate::support::ports::free_port();
        let child = Command::new(binary())
            .args(["--server.host", "127.0.0.1", "--server.port", &port.to_string()])
            .args(["--wallet.deterministic", "--chain.chainId", "1337"])
            // Every transaction is mined into its own block as it arrives;
            // `evm_mine` adds empty blocks on top.
            .args(["--miner.blockTime", "0", "--miner.instamine", "eager", "--logging.quiet"])
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("could not start ganache ({e}).\n{INSTALL_HINT}"));
        let node = Ganache { url: format!("http://127.0.0.1:{port}"), child, http: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if node.try_rpc("eth_chainId", json!([])).await.is_some() {
                return node;
            }
            assert!(Instant::now() < deadline, "ganache did not answer on {} within 30 s", node.url);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    async fn try_rpc(&self, method: &str, params: Value) -> Option<Value> {
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let reply: Value = self.http.post(&self.url).json(&body).send().await.ok()?.json().await.ok()?;
        Some(reply)
    }

    /// A call that must succeed; its `result`.
    pub async fn rpc(&self, method: &str, params: Value) -> Value {
        let reply = self.try_rpc(method, params).await.expect("ganache answers");
        assert!(reply.get("error").is_none(), "{method} failed: {reply}");
        reply["result"].clone()
    }

    pub async fn mine(&self) {
        self.rpc("evm_mine", json!([])).await;
    }

    /// Sends from the funded account; returns the transaction hash (mined at once).
    pub async fn send(&self, to: Option<&str>, value_wei: u128, data: &str) -> String {
        let mut tx = json!({"from": FUNDED, "value": format!("{value_wei:#x}"), "data": data, "gas": "0x30d40"});
        if let Some(to) = to {
            tx["to"] = json!(to);
        }
        self.rpc("eth_sendTransaction", json!([tx])).await.as_str().unwrap().to_owned()
    }

    /// Sends `value_wei` to `to` from the funded account at a fixed legacy gas
    /// price: sent again after a revert (same nonce), it is the same signed
    /// transaction, so the same hash lands in another block. (`send` leaves
    /// the fees to ganache, which prices them from the block it builds on.)
    pub async fn send_repeatable(&self, to: &str, value_wei: u128) -> String {
        let tx = json!({"from": FUNDED, "to": to, "value": format!("{value_wei:#x}"), "gas": "0x5208", "gasPrice": "0x77359400"});
        self.rpc("eth_sendTransaction", json!([tx])).await.as_str().unwrap().to_owned()
    }

    /// `evm_snapshot`: the id of the chain as it is now, for [`Ganache::revert`].
    pub async fn snapshot(&self) -> String {
        self.rpc("evm_snapshot", json!([])).await.as_str().unwrap().to_owned()
    }

    /// `evm_revert`: the blocks mined since the snapshot leave the chain (their
    /// transactions are forgotten) and the tip goes back to the snapshot's: a
    /// reorg as clients of the node see it. Blocks mined afterwards take the
    /// same heights with other hashes.
    pub async fn revert(&self, snapshot: &str) {
        assert_eq!(self.rpc("evm_revert", json!([snapshot])).await, json!(true), "snapshot {snapshot} reverted");
    }

    /// The hash of the best chain's block at `height`.
    pub async fn block_hash(&self, height: u64) -> String {
        let block = self.rpc("eth_getBlockByNumber", json!([format!("{height:#x}"), false])).await;
        block["hash"].as_str().expect("a block at that height").to_owned()
    }

    /// Deploys `init_code`; returns the contract's address.
    pub async fn deploy(&self, init_code: &str) -> String {
        let hash = self.send(None, 0, init_code).await;
        let receipt = self.rpc("eth_getTransactionReceipt", json!([hash])).await;
        assert_eq!(receipt["status"], "0x1", "deployment failed: {receipt}");
        receipt["contractAddress"].as_str().unwrap().to_owned()
    }
}

impl Drop for Ganache {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
