//! External programs some tests need. A missing one fails the test with how
//! to install it; it is never skipped.

use std::path::PathBuf;

pub fn require(program: &str, install: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!("`{program}` is required by this test and was not found on PATH. Install it: {install}")
        })
}

pub fn promtool() -> PathBuf {
    require("promtool", "`sudo apt-get install -y prometheus` (Debian/Ubuntu; it ships promtool)")
}

pub fn prometheus() -> PathBuf {
    require("prometheus", "`sudo apt-get install -y prometheus` (Debian/Ubuntu)")
}
