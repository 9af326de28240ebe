//! A real browser for the web pages: Debian's headless Chromium driven over
//! WebDriver by `chromedriver`, which the harness starts on a free port (as
//! it starts redis-server). Missing, the test fails with the install hint.
//! One browser test runs at a time (`exclusive`): Chromium is heavy on a
//! shared two-core machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::json;

use super::tools::require;

const INSTALL: &str = "`sudo apt-get install -y chromium chromium-driver` (Debian/Ubuntu; scripts/test.sh does it)";

pub fn chromedriver_binary() -> PathBuf {
    require("chromedriver", INSTALL)
}

pub fn chromium_binary() -> PathBuf {
    require("chromium", INSTALL)
}

/// Held while a browser test runs.
pub async fn exclusive() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

pub struct ChromeDriver {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl ChromeDriver {
    pub fn start() -> ChromeDriver {
        let binary = chromedriver_binary();
        let port = super::ports::free_port();
        let dir = tempfile::tempdir().unwrap();
        let log = std::fs::File::create(dir.path().join("chromedriver.log")).unwrap();
        let child = Command::new(binary)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("chromedriver starts");
        let mut driver = ChromeDriver { child, port, _dir: dir };
        driver.wait_until_ready();
        driver
    }

    fn wait_until_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().ok().flatten() {
                panic!("chromedriver exited at start ({status}); its log:\n{}", self.log());
            }
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("chromedriver did not listen on {} within 20 s; its log:\n{}", self.port, self.log());
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self._dir.path().join("chromedriver.log")).unwrap_or_default()
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A headless Chromium window of `width` x `height` CSS pixels, and the
/// driver behind it. Close it with [`Browser::close`].
pub struct Browser {
    pub client: Client,
    _driver: ChromeDriver,
}

impl Browser {
    pub async fn start(width: u32, height: u32) -> Browser {
        Self::start_with(width, height, &[]).await
    }

    /// A phone's screen: Chromium's device emulation at `width` x `height`
    /// CSS pixels (a headless window is never narrower than 500 pixels).
    pub async fn phone(width: u32, height: u32, extra_args: &[&str]) -> Browser {
        let emulation = json!({ "deviceMetrics": { "width": width, "height": height, "pixelRatio": 2.0, "mobile": true, "touch": true } });
        Self::launch(600, height + 100, extra_args, Some(emulation)).await
    }

    /// With more Chromium flags (e.g. `--blink-settings=scriptEnabled=false`).
    pub async fn start_with(width: u32, height: u32, extra_args: &[&str]) -> Browser {
        Self::launch(width, height, extra_args, None).await
    }

    async fn launch(width: u32, height: u32, extra_args: &[&str], emulation: Option<serde_json::Value>) -> Browser {
        let driver = ChromeDriver::start();
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--no-first-run".to_owned(),
            "--lang=en-US".to_owned(),
            format!("--window-size={width},{height}"),
        ];
        args.extend(extra_args.iter().map(|a| (*a).to_owned()));
        let capabilities = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium_binary(),
                "args": args,
                "prefs": { "intl.accept_languages": "en-US,en" },
            },
        });
        let mut capabilities = capabilities;
        if let Some(emulation) = emulation {
            capabilities["goog:chromeOptions"]["mobileEmulation"] = emulation;
        }
        let serde_json::Value::Object(capabilities) = capabilities else { unreachable!() };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities)
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
            .unwrap_or_else(|e| panic!("chromedriver opens a Chromium session: {e}"));
        Browser { client, _driver: driver }
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }

    /// Saves a PNG of the window under `docs/screenshots/`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}
