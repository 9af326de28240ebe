//! Where log lines go. Events are formatted on the thread that emits them and
//! handed to a writer thread of their own through a bounded queue
//! (`tracing-appender`'s non-blocking writer in lossy mode), so a slow or
//! stalled stderr never holds a request. A line the full queue cannot take is
//! dropped and counted: the count is the metric
//! `withdrawal_tracker_log_lines_dropped_total`, so no line is lost silently.
//! JSON lines are formatted by `json.rs`.

mod json;

use std::io::{BufWriter, Write};
use std::sync::OnceLock;

use tracing_appender::non_blocking::{ErrorCounter, NonBlocking, NonBlockingBuilder, WorkerGuard};

use crate::config::LogFormat;

/// The writer thread's buffer in front of stderr: it drains every line
/// queued, then flushes, so a burst costs a few system calls, not one a line.
const WRITE_BUFFER_BYTES: usize = 64 * 1024;

/// The process's log writer's drop count, once `init` has run.
static DROPPED: OnceLock<ErrorCounter> = OnceLock::new();

/// Keeps the writer thread; dropping it flushes the queued lines (at most a
/// second's wait), so `main` holds it until it returns.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    _worker: WorkerGuard,
}

/// Log lines dropped so far because the writer's queue was full (0 before
/// `init`, e.g. in tests that build an application without logging).
pub fn dropped_lines() -> u64 {
    DROPPED.get().map_or(0, |counter| counter.dropped_lines() as u64)
}

/// A lossy non-blocking writer in front of `writer`, queueing at most
/// `buffered_lines` lines.
pub fn non_blocking<W: Write + Send + 'static>(writer: W, buffered_lines: usize) -> (NonBlocking, WorkerGuard) {
    NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(buffered_lines)
        .thread_name("log-writer")
        .finish(writer)
}

/// Installs the process's subscriber: `RUST_LOG` (default `info`), JSON
/// lines or text to stderr through the non-blocking writer.
pub fn init(format: LogFormat, buffered_lines: usize) -> LogGuard {
    use std::io::IsTerminal;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let (writer, worker) =
        non_blocking(BufWriter::with_capacity(WRITE_BUFFER_BYTES, std::io::stderr()), buffered_lines);
    let _ = DROPPED.set(writer.error_counter());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    if json {
        builder.fmt_fields(json::JsonMembers).event_format(json::JsonLines).init();
    } else {
        builder.init();
    }
    LogGuard { _worker: worker }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    /// A sink that takes nothing until told to: a stalled stderr.
    struct Stalled(mpsc::Receiver<()>);

    impl Write for Stalled {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let _ = self.0.recv();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_stalled_sink_drops_lines_and_counts_them_instead_of_blocking() {
        let (release, stalled) = mpsc::channel();
        let (writer, guard) = non_blocking(Stalled(stalled), 4);
        let counter = writer.error_counter();
        let subscriber = tracing_subscriber::fmt().with_writer(writer).finish();
        tracing::subscriber::with_default(subscriber, || {
            for n in 0..100 {
                tracing::info!(n, "line");
            }
        });
        // The writer thread holds at most one line, the queue four: the rest
        // were dropped, and every one of them counted.
        let dropped = counter.dropped_lines();
        assert!((95..=96).contains(&dropped), "{dropped} dropped");
        drop(release);
        drop(guard);
    }
}
