//! Starts a real Redis Cluster for the tests: three masters on loopback, no
//! replicas, created with `redis-cli --cluster create`, killed on drop (and by
//! a watchdog once the test process is gone).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::ports::free_port;
use super::redis::{redis_server_binary, unique_prefix, watch_for_test_exit, INSTALL_HINT};

const MASTERS: usize = 3;

pub struct ClusterNode {
    pub port: u16,
    bus_port: u16,
    child: Option<Child>,
}

impl ClusterNode {
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }
}

pub struct ClusterServer {
    pub nodes: Vec<ClusterNode>,
    /// Slot ranges and the index in `nodes` of the master serving them.
    slots: Vec<(u16, u16, usize)>,
    dir: tempfile::TempDir,
}

fn redis_cli_binary() -> PathBuf {
    let mut path = redis_server_binary();
    path.set_file_name("redis-cli");
    if path.is_file() {
        return path;
    }
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("redis-cli"))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("redis-cli was not found on PATH.\n{INSTALL_HINT}"))
}

impl ClusterServer {
    /// One cluster shared by all tests in this binary; each test uses its own
    /// key prefix (see `prefix`).
    pub fn shared() -> &'static ClusterServer {
        static SHARED: OnceLock<ClusterServer> = OnceLock::new();
        SHARED.get_or_init(ClusterServer::start)
    }

    pub fn start() -> ClusterServer {
        let ports: Vec<(u16, u16)> = (0..MASTERS).map(|_| (free_port(), free_port())).collect();
        Self::start_on(&ports)
    }

    /// Nodes on the given (client port, cluster bus port) pairs, so a test can
    /// point a service at a cluster before it exists.
    pub fn start_on(ports: &[(u16, u16)]) -> ClusterServer {
        let started = Instant::now();
        let mut cluster = ClusterServer {
            nodes: ports.iter().map(|&(port, bus_port)| ClusterNode { port, bus_port, child: None }).collect(),
            slots: Vec::new(),
            dir: tempfile::tempdir().unwrap(),
        };
        for i in 0..cluster.nodes.len() {
            cluster.launch(i);
        }
        cluster.create();
        cluster.wait_until_ok();
        cluster.slots = cluster.read_slots();
        eprintln!("redis cluster on ports {:?} ready in {:?}", cluster.ports(), started.elapsed());
        cluster
    }

    pub fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|n| n.port).collect()
    }

    /// The seed list for `redis_url` with `redis_cluster = true`.
    pub fn seeds(&self) -> String {
        self.nodes.iter().map(ClusterNode::url).collect::<Vec<_>>().join(",")
    }

    pub fn seed_urls(&self) -> Vec<String> {
        self.nodes.iter().map(ClusterNode::url).collect()
    }

    fn launch(&mut self, i: usize) {
        let node_dir = self.dir.path().join(format!("node-{i}"));
        std::fs::create_dir_all(&node_dir).unwrap();
        let node = &mut self.nodes[i];
        let child = Command::new(redis_server_binary())
            .args(["--port", &node.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"])
            .args(["--cluster-port", &node.bus_port.to_string(), "--cluster-node-timeout", "2000"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", node_dir.to_str().unwrap(), "--logfile", "redis.log"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server: {e}\n{INSTALL_HINT}"));
        watch_for_test_exit(child.id());
        node.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let ping = redis::Client::open(node.url())
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c));
            if ping.is_ok() {
                return;
            }
            let exited = node.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            if exited.is_some() || Instant::now() >= deadline {
                panic!(
                    "cluster node on port {} did not start ({exited:?}); its log:\n{}",
                    node.port,
                    super::redis::log_tail(&node_dir.join("redis.log"))
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn create(&self) {
        let output = Command::new(redis_cli_binary())
            .arg("--cluster")
            .arg("create")
            .args(self.nodes.iter().map(|n| format!("127.0.0.1:{}", n.port)))
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("cannot run redis-cli: {e}\n{INSTALL_HINT}"));
        assert!(
            output.status.success(),
            "redis-cli --cluster create failed:\n{}\n{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn wait_until_ok(&self) {
        let deadline = Instant::now() + Duration::from_secs(15);
        for node in &self.nodes {
            loop {
                let info: String = redis::cmd("CLUSTER").arg("INFO").query(&mut node.connection()).unwrap();
                if info.contains("cluster_state:ok") {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "cluster node {} never reached cluster_state:ok:\n{info}",
                    node.port
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    fn read_slots(&self) -> Vec<(u16, u16, usize)> {
        let slots: Vec<(u16, u16, Vec<redis::Value>)> =
            redis::cmd("CLUSTER").arg("SLOTS").query(&mut self.nodes[0].connection()).unwrap();
        slots
            .into_iter()
            .map(|(start, end, master)| {
                let port: u16 = redis::from_redis_value(master[1].clone()).unwrap();
                (start, end, self.nodes.iter().position(|n| n.port == port).unwrap())
            })
            .collect()
    }

    /// The index in `nodes` of the master serving `key`.
    pub fn master_of(&self, key: &str) -> usize {
        let slot: u16 = redis::cmd("CLUSTER").arg("KEYSLOT").arg(key).query(&mut self.nodes[0].connection()).unwrap();
        self.slots.iter().find(|(start, end, _)| (*start..=*end).contains(&slot)).unwrap().2
    }

    /// A key prefix no other test uses, served by the masters in turn, so a
    /// suite's tests spread over every master.
    pub fn prefix(&self, name: &str) -> String {
        static NEXT_MASTER: AtomicUsize = AtomicUsize::new(0);
        let wanted = NEXT_MASTER.fetch_add(1, Ordering::Relaxed) % self.nodes.len();
        self.prefix_on(name, wanted)
    }

    /// A fresh key prefix whose hash tag is served by master `wanted`.
    pub fn prefix_on(&self, name: &str, wanted: usize) -> String {
        loop {
            let prefix = unique_prefix(name);
            if self.master_of(&prefix) == wanted {
                return prefix;
            }
        }
    }
}

impl Drop for ClusterServer {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            if let Some(mut child) = node.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
