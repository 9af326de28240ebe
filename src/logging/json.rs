//! JSON lines in `tracing-subscriber`'s shape (`fmt().json()` with the
//! current span, without the span list):
//!
//! `{"timestamp":..,"level":..,"fields":{..},"target":..,"span":{..,"name":..}}`
//!
//! written straight into the line. `tracing-subscriber`'s JSON formatter
//! collects a span's fields into a map and serializes it when the span is
//! made, then parses that text back into a map for every event inside the
//! span, and formats the timestamp into a `String` of its own: at one access
//! line per request, that was allocation and parsing on every request. Here
//! a span's fields are kept as the JSON text of its members and copied into
//! each line as is. A test holds the lines equal (as JSON) to
//! `tracing-subscriber`'s.

use std::fmt::{self, Write};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_log::NormalizeEvent;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// The event format.
pub struct JsonLines;

/// A span's fields, kept as `"name":value` members separated by commas.
pub struct JsonMembers;

impl<'writer> FormatFields<'writer> for JsonMembers {
    fn format_fields<R: tracing_subscriber::field::RecordFields>(
        &self,
        mut writer: Writer<'writer>,
        fields: R,
    ) -> fmt::Result {
        let mut visitor = Members::new(&mut writer, true);
        fields.record(&mut visitor);
        visitor.result
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &tracing::span::Record<'_>,
    ) -> fmt::Result {
        let empty = current.fields.is_empty();
        let mut visitor = Members::new(&mut current.fields, empty);
        fields.record(&mut visitor);
        visitor.result
    }
}

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
    N: for<'writer> FormatFields<'writer> + 'static,
{
    fn format_event(&self, ctx: &FmtContext<'_, S, N>, mut writer: Writer<'_>, event: &Event<'_>) -> fmt::Result {
        let normalized = event.normalized_metadata();
        let meta = normalized.as_ref().unwrap_or_else(|| event.metadata());
        writer.write_str("{\"timestamp\":\"")?;
        write_timestamp(&mut writer, std::time::SystemTime::now())?;
        write!(writer, "\",\"level\":\"{}\",\"fields\":{{", meta.level())?;
        let mut visitor = Members::new(&mut writer, true);
        event.record(&mut visitor);
        visitor.result?;
        writer.write_str("},\"target\":")?;
        string(&mut writer, meta.target())?;
        let span = event.parent().and_then(|id| ctx.span(id)).or_else(|| ctx.lookup_current());
        if let Some(span) = span {
            writer.write_str(",\"span\":{")?;
            let extensions = span.extensions();
            if let Some(members) = extensions.get::<FormattedFields<N>>().filter(|f| !f.fields.is_empty()) {
                writer.write_str(&members.fields)?;
                writer.write_char(',')?;
            }
            writer.write_str("\"name\":")?;
            string(&mut writer, span.metadata().name())?;
            writer.write_char('}')?;
        } else {
            // A request without a span of its own: its scope, as the span was written.
            super::REQUEST
                .try_with(|request| -> fmt::Result {
                    writer.write_str(",\"span\":{\"request_id\":")?;
                    string(&mut writer, request.id.to_str().unwrap_or_default())?;
                    writer.write_str(",\"method\":")?;
                    string(&mut writer, request.method.as_str())?;
                    writer.write_str(",\"name\":\"request\"}")
                })
                .unwrap_or(Ok(()))?;
        }
        writer.write_str("}\n")
    }
}

/// `now` as `tracing-subscriber`'s `SystemTime` writes it
/// (`2026-12-07T00:24:39.123456Z`, always microseconds). The text up to the
/// second is made once a second per thread (by `rfc3339`'s formatter), not
/// by `tracing-subscriber`'s calendar arithmetic and `write!` for every line.
fn write_timestamp(out: &mut impl Write, now: std::time::SystemTime) -> fmt::Result {
    use std::cell::Cell;
    thread_local! {
        /// The last second written, and its text `YYYY-MM-DDTHH:MM:SS`.
        static SECOND: Cell<(u64, [u8; 19])> = const { Cell::new((u64::MAX, [0; 19])) };
    }
    let since_epoch = now.duration_since(std::time::UNIX_EPOCH).ok();
    let prefix = since_epoch.and_then(|since_epoch| {
        SECOND.with(|cached| {
            let seconds = since_epoch.as_secs();
            let (second, text) = cached.get();
            if second == seconds {
                return Some(text);
            }
            let at = chrono::DateTime::from_timestamp(i64::try_from(seconds).ok()?, 0)?;
            // `…:SSZ` for years 0-9999; anything else is left to chrono below.
            let whole = crate::domain::rfc3339::utc_text(&at);
            let text: [u8; 19] = whole.strip_suffix('Z').filter(|t| t.len() == 19)?.as_bytes().try_into().ok()?;
            cached.set((seconds, text));
            Some(text)
        })
    });
    let (Some(prefix), Some(since_epoch)) = (prefix, since_epoch) else {
        return write!(out, "{}", chrono::DateTime::<chrono::Utc>::from(now).format("%Y-%m-%dT%H:%M:%S%.6fZ"));
    };
    let micros = since_epoch.subsec_micros();
    let mut text = [0u8; 27];
    text[..19].copy_from_slice(&prefix);
    text[19] = b'.';
    let mut value = micros;
    for digit in text[20..26].iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
    text[26] = b'Z';
    out.write_str(std::str::from_utf8(&text).expect("ASCII digits"))
}

/// Writes each recorded field as a JSON member. Values are written as
/// `tracing-subscriber` writes them: numbers and booleans as such, `Debug`
/// and `Display` values (and 128-bit integers) as strings.
struct Members<'a, W: Write> {
    out: &'a mut W,
    first: bool,
    result: fmt::Result,
}

impl<'a, W: Write> Members<'a, W> {
    fn new(out: &'a mut W, first: bool) -> Self {
        Members { out, first, result: Ok(()) }
    }

    fn member(&mut self, field: &Field, value: impl FnOnce(&mut W) -> fmt::Result) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        let name = name.strip_prefix("r#").unwrap_or(name);
        let opening = if self.first { "\"" } else { ",\"" };
        self.first = false;
        self.result = self
            .out
            .write_str(opening)
            .and_then(|()| Escaped(&mut *self.out).write_str(name))
            .and_then(|()| self.out.write_str("\":"))
            .and_then(|()| value(self.out));
    }
}

impl<W: Write> Visit for Members<'_, W> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        // serde_json's choice: no NaN or infinity in JSON.
        self.member(field, |out| if value.is_finite() { write!(out, "{value:?}") } else { out.write_str("null") });
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.member(field, |out| out.write_str(itoa::Buffer::new().format(value)));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.member(field, |out| out.write_str(itoa::Buffer::new().format(value)));
    }

    // tracing-serde writes 128-bit integers as strings (JSON readers
    // often hold numbers in an f64).
    fn record_i128(&mut self, field: &Field, value: i128) {
        self.member(field, |out| write!(out, "\"{value}\""));
    }

    fn record_u128(&mut self, field: &Field, value: u128) {
        self.member(field, |out| write!(out, "\"{value}\""));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.member(field, |out| write!(out, "{value}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.member(field, |out| string(out, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.member(field, |out| {
            out.write_char('"')?;
            write!(Escaped(&mut *out), "{value:?}")?;
            out.write_char('"')
        });
    }
}

/// `text` as a JSON string.
fn string(out: &mut impl Write, text: &str) -> fmt::Result {
    out.write_char('"')?;
    Escaped(&mut *out).write_str(text)?;
    out.write_char('"')
}

/// Escapes what it is given as serde_json does inside a string.
struct Escaped<'a, W: Write>(&'a mut W);

impl<W: Write> Write for Escaped<'_, W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        if !crate::json::needs_escaping(text) {
            return self.0.write_str(text);
        }
        let mut start = 0;
        for (at, byte) in text.bytes().enumerate() {
            let escape = match byte {
                b'"' => "\\\"",
                b'\\' => "\\\\",
                b'\n' => "\\n",
                b'\r' => "\\r",
                b'\t' => "\\t",
                0x08 => "\\b",
                0x0c => "\\f",
                0..=0x1f => "",
                _ => continue,
            };
            self.0.write_str(&text[start..at])?;
            if escape.is_empty() {
                write!(self.0, "\\u{byte:04x}")?;
            } else {
                self.0.write_str(escape)?;
            }
            start = at + 1;
        }
        self.0.write_str(&text[start..])
    }
}

#[cfg(test)]
mod tests {
    use std::io;
    use std::sync::{Arc, Mutex};

    use serde_json::Value;
    use tracing_subscriber::fmt::MakeWriter;

    use super::*;

    #[derive(Clone, Default)]
    struct Lines(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Lines {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Lines {
        type Writer = Lines;
        fn make_writer(&'a self) -> Lines {
            self.clone()
        }
    }

    #[derive(Debug)]
    #[allow(dead_code)] // read through Debug
    struct Thing {
        name: &'static str,
    }

    fn emit() {
        tracing::info!("starting");
        tracing::warn!(count = 3, negative = -4, ratio = 0.25, not_a_number = f64::NAN, yes = true, "odd \"quoted\"");
        let span = tracing::info_span!("request", request_id = %"abc-1", method = %"GET", r#type = "x");
        span.in_scope(|| {
            tracing::info!(route = "/v1/withdrawals/{id}", status = 200u16, millis = 0u64, "request");
            tracing::error!(error = %"line\nbreak\ttab\u{1}\u{7f} é", thing = ?Thing { name: "a\\b" }, "failed");
        });
        tracing::info!(parent: &span, big = u128::MAX, small = i128::MIN, "outside, with a parent");
        let empty = tracing::info_span!("empty");
        empty.in_scope(|| tracing::debug!(target: "custom::target", "in an empty span"));
    }

    fn lines(output: &Lines) -> Vec<Value> {
        let text = String::from_utf8(output.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|line| {
                let mut value: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
                let timestamp = value.as_object_mut().unwrap().remove("timestamp").expect("a timestamp");
                chrono::DateTime::parse_from_rfc3339(timestamp.as_str().unwrap()).expect("an RFC 3339 timestamp");
                value
            })
            .collect()
    }

    #[test]
    fn timestamps_are_what_tracing_subscribers_system_time_writes() {
        use std::time::{Duration, UNIX_EPOCH};
        for (seconds, micros) in [(0, 0), (1_796_000_000, 7), (1_796_000_000, 999_999), (1_796_000_001, 120_000)] {
            let at = UNIX_EPOCH + Duration::new(seconds, micros * 1000 + 321);
            let mut ours = String::new();
            write_timestamp(&mut ours, at).unwrap();
            let expected =
                chrono::DateTime::<chrono::Utc>::from(at).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            assert_eq!(ours, expected);
            // The same second again comes from the cache.
            let mut again = String::new();
            write_timestamp(&mut again, at).unwrap();
            assert_eq!(again, expected);
        }
        let mut now = String::new();
        write_timestamp(&mut now, std::time::SystemTime::now()).unwrap();
        let mut theirs = String::new();
        tracing_subscriber::fmt::time::FormatTime::format_time(
            &tracing_subscriber::fmt::time::SystemTime,
            &mut Writer::new(&mut theirs),
        )
        .unwrap();
        assert_eq!((now.len(), &now[..10]), (theirs.len(), &theirs[..10]), "{now} / {theirs}");
    }

    #[test]
    fn a_request_scope_is_written_as_the_request_span_was() {
        let ours = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(ours.clone())
            .fmt_fields(JsonMembers)
            .event_format(JsonLines)
            .finish();
        let scope = crate::logging::RequestScope {
            id: actix_web::http::header::HeaderValue::from_static("abc-1"),
            method: actix_web::http::Method::GET,
        };
        tracing::subscriber::with_default(subscriber, || {
            scope.log(|| tracing::info!(status = 200u16, "request"));
        });
        let with_span = || {
            let span = tracing::info_span!("request", request_id = "abc-1", method = "GET");
            tracing::info!(parent: &span, status = 200u16, "request");
        };
        // What this formatter wrote with the request span: the same bytes.
        let spanned = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(spanned.clone())
            .fmt_fields(JsonMembers)
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, with_span);
        let text = |lines: &Lines| String::from_utf8(lines.0.lock().unwrap().clone()).unwrap();
        let after_timestamp = |line: String| line.split_once("\",\"level\"").unwrap().1.to_owned();
        assert_eq!(after_timestamp(text(&ours)), after_timestamp(text(&spanned)));
        // And what tracing-subscriber's JSON format writes, as JSON.
        let theirs = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(theirs.clone())
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .finish();
        tracing::subscriber::with_default(subscriber, with_span);
        assert_eq!(lines(&ours), lines(&theirs));
    }

    #[test]
    fn lines_are_what_tracing_subscribers_json_format_writes() {
        let ours = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(ours.clone())
            .fmt_fields(JsonMembers)
            .event_format(JsonLines)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let theirs = Lines::default();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_writer(theirs.clone())
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .finish();
        tracing::subscriber::with_default(subscriber, emit);
        let (ours, theirs) = (lines(&ours), lines(&theirs));
        assert_eq!(ours.len(), 6);
        assert_eq!(ours, theirs);
    }
}
