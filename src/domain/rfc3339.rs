//! RFC 3339 times for serde, byte for byte what chrono's own serde writes
//! and reads, without its general-purpose formatter and parser.
//!
//! A stored record carries about ten times and a status view six, and
//! chrono's `Display` (one `write_char` per character through the JSON
//! escaper) and relaxed parser were about 8% of the CPU of a
//! `GET /v1/withdrawals/{id}`. The fast paths here cover the shape chrono
//! writes (`2026-11-24T09:31:07.123Z`, `+08:00` offsets); anything else
//! (leap seconds, years outside 0-9999, a relaxed input such as a space for
//! the `T`) goes to chrono, so the results never differ.
//!
//! Use with `#[serde(with = "rfc3339")]`, or `rfc3339::option` for an
//! `Option`; [`utc_text`] for text outside serde (CSV).
//!
//! On the wire every time is UTC with `Z` (the views and the overdue list
//! hold `DateTime<Utc>`); records keep the offset `requested_at` was sent with.

use std::fmt;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Offset, TimeZone, Timelike, Utc};
use serde::{de, Deserializer, Serializer};

/// The longest text the fast path writes: `9999-12-31T23:59:59.999999999+23:59`.
const MAX_LEN: usize = 35;

/// Writes `at` the way chrono's serde does (`SecondsFormat::AutoSi`, `Z` for
/// UTC) into `text` and returns its length, or `None` when only chrono's formatter can.
fn format_fast<Tz: TimeZone>(at: &DateTime<Tz>, text: &mut [u8; MAX_LEN]) -> Option<usize> {
    let local = at.naive_local();
    let offset = at.offset().fix().local_minus_utc();
    let (year, nanos) = (local.year(), local.nanosecond());
    if !(0..=9999).contains(&year) || nanos >= 1_000_000_000 || offset % 60 != 0 {
        return None;
    }
    text[..19].copy_from_slice(b"0000-00-00T00:00:00");
    write_digits(&mut text[0..4], year as u32);
    write_digits(&mut text[5..7], local.month());
    write_digits(&mut text[8..10], local.day());
    write_digits(&mut text[11..13], local.hour());
    write_digits(&mut text[14..16], local.minute());
    write_digits(&mut text[17..19], local.second());
    let mut len = 19;
    let fraction = match nanos {
        0 => None,
        n if n % 1_000_000 == 0 => Some((n / 1_000_000, 3)),
        n if n % 1_000 == 0 => Some((n / 1_000, 6)),
        n => Some((n, 9)),
    };
    if let Some((value, width)) = fraction {
        text[len] = b'.';
        write_digits(&mut text[len + 1..len + 1 + width], value);
        len += 1 + width;
    }
    if offset == 0 {
        text[len] = b'Z';
        return Some(len + 1);
    }
    let minutes = offset.unsigned_abs() / 60;
    text[len] = if offset < 0 { b'-' } else { b'+' };
    write_digits(&mut text[len + 1..len + 3], minutes / 60);
    text[len + 3] = b':';
    write_digits(&mut text[len + 4..len + 6], minutes % 60);
    Some(len + 6)
}

fn write_digits(slot: &mut [u8], mut value: u32) {
    for byte in slot.iter_mut().rev() {
        *byte = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The strict RFC 3339 shape chrono writes; `None` for anything else,
/// which chrono's relaxed parser then decides.
fn parse_fast(text: &str) -> Option<DateTime<FixedOffset>> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        b[range].iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
    };
    let date = NaiveDate::from_ymd_opt(number(0..4)? as i32, number(5..7)?, number(8..10)?)?;
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if second > 59 {
        return None; // a leap second: chrono's rules
    }
    let mut rest = &b[19..];
    let mut nanos = 0;
    if let Some(fraction) = rest.strip_prefix(b".") {
        let digits = fraction.iter().take_while(|d| d.is_ascii_digit()).count();
        if digits == 0 || digits > 9 {
            return None;
        }
        nanos = number(20..20 + digits)? * 10u32.pow(9 - digits as u32);
        rest = &fraction[digits..];
    }
    let offset_seconds = match rest {
        [b'Z'] => 0,
        [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
            let at = b.len() - 5;
            let (hours, minutes) = (number(at..at + 2)?, number(at + 3..at + 5)?);
            if hours > 23 || minutes > 59 {
                return None;
            }
            let seconds = (hours * 3600 + minutes * 60) as i32;
            if *sign == b'-' {
                -seconds
            } else {
                seconds
            }
        }
        _ => return None,
    };
    let offset = FixedOffset::east_opt(offset_seconds)?;
    let local = date.and_hms_nano_opt(hour, minute, second, nanos)?;
    offset.from_local_datetime(&local).single()
}

fn parse(text: &str) -> Result<DateTime<FixedOffset>, chrono::ParseError> {
    match parse_fast(text) {
        Some(at) => Ok(at),
        None => text.parse(),
    }
}

/// The time zones records and views use: each is read from the parsed
/// `FixedOffset` time the way chrono's serde does.
pub trait FromRfc3339: TimeZone + Sized {
    fn from_fixed(at: DateTime<FixedOffset>) -> DateTime<Self>;
}

impl FromRfc3339 for Utc {
    fn from_fixed(at: DateTime<FixedOffset>) -> DateTime<Utc> {
        at.with_timezone(&Utc)
    }
}

impl FromRfc3339 for FixedOffset {
    fn from_fixed(at: DateTime<FixedOffset>) -> DateTime<FixedOffset> {
        at
    }
}

/// `at` as a JSON string, appended to `out`: what [`serialize`] writes
/// through serde_json, without a serializer (RFC 3339 text needs no escaping).
pub fn push_json(at: &DateTime<Utc>, out: &mut Vec<u8>) {
    let mut buffer = [0u8; MAX_LEN];
    match format_fast(at, &mut buffer) {
        Some(len) => {
            out.push(b'"');
            out.extend_from_slice(&buffer[..len]);
            out.push(b'"');
        }
        None => serde_json::to_writer(out, at).expect("chrono writes any time"),
    }
}

/// `at` as the API writes it: `2026-11-24T09:31:07.123Z`, what
/// [`serialize`] writes for a UTC time.
pub fn utc_text(at: &DateTime<Utc>) -> String {
    let mut buffer = [0u8; MAX_LEN];
    match format_fast(at, &mut buffer) {
        Some(len) => std::str::from_utf8(&buffer[..len]).expect("ASCII digits and signs").to_owned(),
        None => at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    }
}

pub fn serialize<S: Serializer, Tz: TimeZone>(at: &DateTime<Tz>, serializer: S) -> Result<S::Ok, S::Error> {
    let mut buffer = [0u8; MAX_LEN];
    match format_fast(at, &mut buffer) {
        Some(len) => serializer.serialize_str(std::str::from_utf8(&buffer[..len]).expect("ASCII digits and signs")),
        None => serde::Serialize::serialize(at, serializer),
    }
}

pub fn deserialize<'de, D: Deserializer<'de>, Tz: FromRfc3339>(deserializer: D) -> Result<DateTime<Tz>, D::Error> {
    deserializer.deserialize_str(TimeVisitor).map(Tz::from_fixed)
}

struct TimeVisitor;

impl de::Visitor<'_> for TimeVisitor {
    type Value = DateTime<FixedOffset>;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an RFC 3339 formatted date and time string")
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        parse(value).map_err(E::custom)
    }
}

/// The same for an `Option` (`null` for `None`).
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer, Tz: TimeZone>(at: &Option<DateTime<Tz>>, serializer: S) -> Result<S::Ok, S::Error> {
        match at {
            Some(at) => serializer.serialize_some(&Wrapped(at)),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, Tz: FromRfc3339>(
        deserializer: D,
    ) -> Result<Option<DateTime<Tz>>, D::Error> {
        deserializer.deserialize_option(OptionVisitor).map(|at| at.map(Tz::from_fixed))
    }

    struct Wrapped<'a, Tz: TimeZone>(&'a DateTime<Tz>);

    impl<Tz: TimeZone> serde::Serialize for Wrapped<'_, Tz> {
        fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            super::serialize(self.0, serializer)
        }
    }

    struct OptionVisitor;

    impl<'de> de::Visitor<'de> for OptionVisitor {
        type Value = Option<DateTime<FixedOffset>>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            formatter.write_str("an RFC 3339 formatted date and time string or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_str(TimeVisitor).map(Some)
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::SecondsFormat;
    use proptest::prelude::*;

    use super::*;

    fn fast_text<Tz: TimeZone>(at: &DateTime<Tz>) -> Option<String> {
        let mut buffer = [0u8; MAX_LEN];
        format_fast(at, &mut buffer).map(|len| String::from_utf8(buffer[..len].to_vec()).unwrap())
    }

    #[test]
    fn writes_what_chrono_writes() {
        for text in [
            "2026-11-24T09:31:07Z",
            "2026-11-24T09:31:07.120Z",
            "2026-11-24T09:31:07.123456Z",
            "2026-11-24T09:31:07.000000001Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999999Z",
            "2026-02-28T23:59:59+08:00",
            "2026-02-28T23:59:59.5-03:30",
        ] {
            let at: DateTime<FixedOffset> = text.parse().unwrap();
            assert_eq!(fast_text(&at), Some(serde_json::to_value(at).unwrap().as_str().unwrap().to_owned()));
        }
    }

    #[test]
    fn leaves_what_it_does_not_cover_to_chrono() {
        let leap: DateTime<Utc> = "2016-12-31T23:59:60.5Z".parse().unwrap();
        assert_eq!(fast_text(&leap), None);
        assert_eq!(parse_fast("2016-12-31T23:59:60Z"), None);
        for relaxed in
            ["2026-11-24 09:31:07Z", "2026-11-24T09:31:07UTC", "2026-11-24T09:31:07+0800", "+12026-01-01T00:00:00Z"]
        {
            assert_eq!(parse_fast(relaxed), None, "{relaxed}");
            assert_eq!(parse(relaxed).ok(), relaxed.parse().ok(), "{relaxed}");
        }
        assert!(parse("2026-02-30T00:00:00Z").is_err());
        assert!(parse("2026-11-24T24:00:00Z").is_err());
    }

    fn any_time() -> impl Strategy<Value = DateTime<FixedOffset>> {
        let seconds = -62_167_219_200i64..253_402_300_800; // years 0 to 9999
        let nanos = prop_oneof![Just(0u32), (0u32..1000).prop_map(|n| n * 1_000_000), 0u32..1_000_000_000];
        let offset_minutes = prop_oneof![Just(0i32), -(23 * 60 + 59)..=(23 * 60 + 59)];
        (seconds, nanos, offset_minutes).prop_map(|(s, n, m)| {
            let offset = FixedOffset::east_opt(m * 60).unwrap();
            DateTime::from_timestamp(s, n).unwrap().with_timezone(&offset)
        })
    }

    proptest! {
        #[test]
        fn format_and_parse_agree_with_chrono(at in any_time()) {
            let text = fast_text(&at).expect("in the fast path's range");
            prop_assert_eq!(&text, &at.to_rfc3339_opts(SecondsFormat::AutoSi, true));
            let parsed = parse_fast(&text).expect("its own output");
            prop_assert_eq!(parsed, at);
            prop_assert_eq!(parsed.offset(), at.offset());
            prop_assert_eq!(Some(parsed), text.parse::<DateTime<FixedOffset>>().ok());
        }

        #[test]
        fn parse_never_disagrees_with_chrono(text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{0,11})?(Z|[+-][0-9]{2}:[0-9]{2}|)") {
            prop_assert_eq!(parse(&text).ok(), text.parse::<DateTime<FixedOffset>>().ok());
        }
    }

    proptest! {
        #[test]
        fn utc_text_is_what_serde_writes_and_ends_in_z(at in any_time()) {
            let at = at.to_utc();
            let text = utc_text(&at);
            prop_assert!(text.ends_with('Z'), "{}", text);

            prop_assert_eq!(serde_json::to_value(at).unwrap(), serde_json::Value::String(text));
        }
    }
}
