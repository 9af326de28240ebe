//! Starts real `redis-server` processes on free ports for the tests, so they
//! can also be killed and restarted for fault tests.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const INSTALL_HINT: &str =
    "redis-server and redis-cli are required by the test suite and were not found on PATH.\n\
     Install them with `sudo apt-get install -y redis-server` (Debian/Ubuntu) or `brew install redis` (macOS).";

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: tempfile::TempDir,
    extra_args: Vec<String>,
}

pub fn redis_server_binary() -> PathBuf {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("redis-server"))
        .chain([PathBuf::from("/usr/bin/redis-server"), PathBuf::from("/usr/sbin/redis-server")])
        .find(|p| p.is_file());
    found.unwrap_or_else(|| panic!("{INSTALL_HINT}"))
}

impl RedisServer {
    /// A new server of our own on a free port, without persistence.
    pub fn start() -> RedisServer {
        Self::start_with(&[])
    }

    pub fn start_with(extra_args: &[&str]) -> RedisServer {
        let mut server = RedisServer {
            port: super::ports::free_port(),
            child: None,
            dir: tempfile::tempdir().unwrap(),
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
        };
        server.launch();
        server
    }

    /// One server shared by all tests in this binary; each test uses its own
    /// key prefix.
    pub fn shared() -> &'static RedisServer {
        static SHARED: OnceLock<RedisServer> = OnceLock::new();
        SHARED.get_or_init(RedisServer::start)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn launch(&mut self) {
        let mut command = Command::new(redis_server_binary());
        command
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", self.dir.path().to_str().unwrap(), "--logfile", "redis.log"])
            .args(&self.extra_args)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = command.spawn().unwrap_or_else(|e| panic!("cannot start redis-server: {e}\n{INSTALL_HINT}"));
        watch_for_test_exit(child.id());
        self.child = Some(child);
        self.wait_until_ready();
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!(
                    "redis-server on port {} exited at start ({status}); its log:\n{}",
                    self.port,
                    log_tail(&self.dir.path().join("redis.log"))
                );
            }
            if let Ok(client) = redis::Client::open(self.url()) {
                if let Ok(mut conn) = client.get_connection() {
                    if redis::cmd("PING").query::<String>(&mut conn).is_ok() {
                        return;
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "redis-server on port {} did not become ready; its log:\n{}",
            self.port,
            log_tail(&self.dir.path().join("redis.log"))
        );
    }

    /// SIGKILL: the server vanishes as in a crash.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again on the same port and directory.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url()).unwrap().get_connection().unwrap()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Statics are never dropped, so a watchdog kills the server once this test
/// process is gone; no redis-server outlives the test run.
pub fn watch_for_test_exit(redis_pid: u32) {
    let script =
        format!("while kill -0 {} 2>/dev/null; do sleep 1; done; kill -9 {redis_pid} 2>/dev/null", std::process::id());
    let _ = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
}

/// A key prefix no other test uses.
pub fn unique_prefix(name: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name: String = name.chars().filter(|c| c.is_ascii_alphanumeric()).take(12).collect();
    format!("t{}-{}-{name}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The end of a server's log, for a failure message that says why it failed.
pub fn log_tail(path: &std::path::Path) -> String {
    let log = std::fs::read_to_string(path).unwrap_or_else(|e| format!("(no log at {}: {e})", path.display()));
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
