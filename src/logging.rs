//! Where log lines go. Events are formatted on the thread that emits them and
//! appended to a bounded in-memory queue; a writer thread of its own takes
//! the whole queue at once and writes it to stderr, so a request never waits
//! on stderr and never wakes another thread for its line: the writer is woken
//! by the first line into an empty queue, then gathers lines for up to
//! `BATCH_WINDOW` (or `BATCH_BYTES`) and writes them with one system call.
//! (`tracing-appender`'s non-blocking writer, tried first, hands each line
//! through a channel that wakes its thread for every line: at 30,000 lines a
//! second that was a context switch and a write per request, a quarter of
//! the CPU.) A line that finds the queue full (`log_buffer_lines`), or that
//! stderr refuses, is dropped and counted: the count is the metric
//! `withdrawal_tracker_log_lines_dropped_total`, so no line is lost silently.
//! JSON lines are formatted by `json.rs`.
//!
//! With JSON lines, a request is not a `tracing` span: a span per request
//! (made, filtered, stored in the registry, entered and left on every poll,
//! closed) was a tenth of the service's CPU on a `GET`. The request's id and
//! method are kept in a task-local [`RequestScope`] instead, and the JSON
//! formatter writes them as the same `span` object (`request_id`, `method`,
//! `"name":"request"`) for any event logged inside the request. Other
//! subscribers (the text format, tests' own) still get the span.

mod json;

use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

use crate::config::LogFormat;

/// How long the writer gathers lines after the first one before writing.
const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Written at once without waiting for the window's end.
const BATCH_BYTES: usize = 64 * 1024;
/// How long a stopping process waits for the writer to write what is queued.
const FLUSH_AT_EXIT: Duration = Duration::from_secs(2);

/// The process's log writer, once `init` has run.
static PROCESS_WRITER: OnceLock<LogWriter> = OnceLock::new();

/// Whether requests are spans: false once `init` installed the JSON format,
/// which writes the task-local [`RequestScope`] as the span instead.
static REQUEST_SPANS: AtomicBool = AtomicBool::new(true);

/// Whether the request middleware makes a `request` span (else it runs the
/// request in a [`RequestScope`]).
pub fn request_spans() -> bool {
    REQUEST_SPANS.load(Ordering::Relaxed)
}

/// What the `request` span carried: the request's id and method, written by
/// the JSON formatter as the `span` of events logged inside the request.
#[derive(Clone)]
pub struct RequestScope {
    pub id: actix_web::http::header::HeaderValue,
    pub method: actix_web::http::Method,
}

tokio::task_local! {
    static REQUEST: RequestScope;
}

impl RequestScope {
    /// Runs `future` (a request) with this scope as the span of what it logs.
    pub async fn run<F: std::future::Future>(self, future: F) -> F::Output {
        REQUEST.scope(self, future).await
    }

    /// Calls `log` with this scope as the span of what it logs.
    pub fn log<R>(self, log: impl FnOnce() -> R) -> R {
        REQUEST.sync_scope(self, log)
    }
}

/// Log lines dropped so far by the process's writer (0 before `init`, e.g.
/// in tests that build an application without logging).
pub fn dropped_lines() -> u64 {
    PROCESS_WRITER.get().map_or(0, LogWriter::dropped_lines)
}

struct Queue {
    bytes: Vec<u8>,
    lines: usize,
    closed: bool,
}

struct Shared {
    queue: Mutex<Queue>,
    wake: Condvar,
    dropped: AtomicU64,
    max_lines: usize,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Queues whole lines for the writer thread; cheap to clone. Each `write`
/// call is one line (the fmt layer writes each event with one `write_all`).
#[derive(Clone)]
pub struct LogWriter(Arc<Shared>);

/// Keeps the writer thread; dropping it writes what is still queued (waiting
/// at most `FLUSH_AT_EXIT`), so `main` holds it until it returns.
#[must_use = "dropping the guard stops the log writer"]
pub struct LogGuard {
    shared: Arc<Shared>,
    finished: mpsc::Receiver<()>,
    thread: Option<JoinHandle<()>>,
}

impl LogWriter {
    /// A writer queueing at most `max_lines` lines for a thread writing them to `sink`.
    pub fn new<W: Write + Send + 'static>(sink: W, max_lines: usize) -> (LogWriter, LogGuard) {
        let shared = Arc::new(Shared {
            queue: Mutex::new(Queue { bytes: Vec::with_capacity(BATCH_BYTES), lines: 0, closed: false }),
            wake: Condvar::new(),
            dropped: AtomicU64::new(0),
            max_lines,
        });
        let (done, finished) = mpsc::channel();
        let thread = {
            let shared = shared.clone();
            std::thread::Builder::new()
                .name("log-writer".into())
                .spawn(move || {
                    write_batches(&shared, sink);
                    let _ = done.send(());
                })
                .expect("a thread for the log writer")
        };
        (LogWriter(shared.clone()), LogGuard { shared, finished, thread: Some(thread) })
    }

    pub fn dropped_lines(&self) -> u64 {
        self.0.dropped.load(Ordering::Relaxed)
    }
}

impl Write for LogWriter {
    fn write(&mut self, line: &[u8]) -> std::io::Result<usize> {
        let shared = &self.0;
        let mut queue = shared.lock();
        if queue.lines >= shared.max_lines || queue.closed {
            drop(queue);
            shared.dropped.fetch_add(1, Ordering::Relaxed);
            return Ok(line.len());
        }
        let was_empty = queue.lines == 0;
        let before = queue.bytes.len();
        queue.bytes.extend_from_slice(line);
        queue.lines += 1;
        let crossed = before < BATCH_BYTES && queue.bytes.len() >= BATCH_BYTES;
        drop(queue);
        // Only the first line of a batch, and the one that fills it, wake the writer.
        if was_empty || crossed {
            shared.wake.notify_one();
        }
        Ok(line.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for LogWriter {
    type Writer = LogWriter;

    fn make_writer(&'a self) -> LogWriter {
        self.clone()
    }
}

/// The writer thread: waits for a first line, gathers for `BATCH_WINDOW`,
/// takes the whole queue and writes it; until closed and empty.
fn write_batches<W: Write>(shared: &Shared, mut sink: W) {
    let mut batch = Vec::with_capacity(BATCH_BYTES);
    loop {
        let mut queue = shared.lock();
        while queue.lines == 0 && !queue.closed {
            queue = shared.wake.wait(queue).unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        if !queue.closed && queue.bytes.len() < BATCH_BYTES {
            queue = shared
                .wake
                .wait_timeout_while(queue, BATCH_WINDOW, |q| !q.closed && q.bytes.len() < BATCH_BYTES)
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        std::mem::swap(&mut batch, &mut queue.bytes);
        let lines = std::mem::take(&mut queue.lines);
        let closed = queue.closed;
        drop(queue);
        if lines > 0 && sink.write_all(&batch).and_then(|()| sink.flush()).is_err() {
            shared.dropped.fetch_add(lines as u64, Ordering::Relaxed);
        }
        batch.clear();
        if closed && lines == 0 {
            return;
        }
    }
}

impl Drop for LogGuard {
    fn drop(&mut self) {
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        // A stalled stderr must not hold the exit for ever.
        if self.finished.recv_timeout(FLUSH_AT_EXIT).is_ok() {
            if let Some(thread) = self.thread.take() {
                let _ = thread.join();
            }
        }
    }
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
    let (writer, guard) = LogWriter::new(std::io::stderr(), buffered_lines);
    let _ = PROCESS_WRITER.set(writer.clone());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    if json {
        builder.fmt_fields(json::JsonMembers).event_format(json::JsonLines).init();
        REQUEST_SPANS.store(false, Ordering::Relaxed);
    } else {
        builder.init();
    }
    guard
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
        let (writer, guard) = LogWriter::new(Stalled(stalled), 4);
        let subscriber = tracing_subscriber::fmt().with_writer(writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, || {
            for n in 0..100 {
                tracing::info!(n, "line");
            }
        });
        // The writer thread holds at most one batch (of up to four lines),
        // the queue four more: the rest were dropped, and every one counted.
        let dropped = writer.dropped_lines();
        assert!((92..=96).contains(&dropped), "{dropped} dropped");
        drop(release);
        drop(guard);
    }
}
