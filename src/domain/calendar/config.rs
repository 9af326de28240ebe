//! Typed `[sla]` configuration, calendar-file parsing and validation errors.
//!
//! Dates and names are kept as strings in the serde structs so that a bad entry
//! can be reported with its exact key (`sla.holidays[3]`) instead of a generic
//! deserializer message.

use chrono::{NaiveDate, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use thiserror::Error;

pub(super) const SECONDS_PER_DAY: i64 = 86_400;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CalendarError {
    /// `key` is the dotted config path of the offending value, e.g. `sla.holidays[3]`
    /// (calendar files use file-relative keys such as `holidays[3]`).
    #[error("invalid `{key}`: {reason}")]
    Invalid { key: String, reason: String },
    #[error("calendar file is not valid: {0}")]
    Syntax(String),
}

impl CalendarError {
    pub(super) fn invalid(key: impl Into<String>, reason: impl Into<String>) -> Self {
        CalendarError::Invalid { key: key.into(), reason: reason.into() }
    }

    /// The config key the error is about, if it is about a single key.
    pub fn key(&self) -> Option<&str> {
        match self {
            CalendarError::Invalid { key, .. } => Some(key),
            CalendarError::Syntax(_) => None,
        }
    }
}

/// The `[sla]` section. Every field has a default so an empty section is valid
/// (UTC, Sat/Sun weekend, whole-day windows, no holidays).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarConfig {
    /// IANA zone name; default `"UTC"`.
    pub timezone: String,
    /// Day names `mon`..`sun`; default `["sat", "sun"]`.
    pub weekend: Vec<String>,
    /// `"HH:MM-HH:MM"`, end after start, `24:00` only as end; default `"00:00-24:00"`.
    pub working_hours: String,
    /// `YYYY-MM-DD` dates.
    pub holidays: Vec<String>,
    /// `YYYY-MM-DD` dates that are working days even on a weekend or holiday.
    pub make_up_workdays: Vec<String>,
}

impl Default for CalendarConfig {
    fn default() -> Self {
        CalendarConfig {
            timezone: "UTC".to_owned(),
            weekend: vec!["sat".to_owned(), "sun".to_owned()],
            working_hours: "00:00-24:00".to_owned(),
            holidays: Vec::new(),
            make_up_workdays: Vec::new(),
        }
    }
}

/// A parsed calendar file (e.g. `calendars/cn-2026.toml`), merged into the config
/// by `WorkingCalendar::from_config`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CalendarFile {
    pub name: Option<String>,
    pub source: Option<String>,
    pub holidays: Vec<NaiveDate>,
    pub make_up_workdays: Vec<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendarFile {
    name: Option<String>,
    source: Option<String>,
    #[serde(default)]
    holidays: Vec<String>,
    #[serde(default)]
    make_up_workdays: Vec<String>,
}

/// Parses calendar-file text; the caller does the I/O and can prefix error keys
/// with the file path, since only it knows where the text came from.
pub fn load_calendar_file(text: &str) -> Result<CalendarFile, CalendarError> {
    let raw: RawCalendarFile = toml::from_str(text).map_err(|e| CalendarError::Syntax(e.message().to_owned()))?;
    Ok(CalendarFile {
        name: raw.name,
        source: raw.source,
        holidays: parse_dates("holidays", &raw.holidays)?,
        make_up_workdays: parse_dates("make_up_workdays", &raw.make_up_workdays)?,
    })
}

pub(super) fn parse_dates(key: &str, items: &[String]) -> Result<Vec<NaiveDate>, CalendarError> {
    items
        .iter()
        .enumerate()
        .map(|(i, s)| {
            parse_date(s)
                .ok_or_else(|| CalendarError::invalid(format!("{key}[{i}]"), format!("{s:?} is not a YYYY-MM-DD date")))
        })
        .collect()
}

fn parse_date(s: &str) -> Option<NaiveDate> {
    // chrono accepts single-digit months/days; the spec format is strictly zero-padded.
    let b = s.as_bytes();
    let shape_ok = b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
    if !shape_ok {
        return None;
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

pub(super) fn parse_timezone(key: &str, s: &str) -> Result<Tz, CalendarError> {
    s.parse::<Tz>().map_err(|_| CalendarError::invalid(key, format!("{s:?} is not an IANA time zone name")))
}

pub(super) fn parse_weekday(key: &str, s: &str) -> Result<Weekday, CalendarError> {
    let day = match s.to_ascii_lowercase().as_str() {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return Err(CalendarError::invalid(key, format!("{s:?} is not one of mon..sun"))),
    };
    Ok(day)
}

/// Returns the window as (start, end) seconds after local midnight.
pub(super) fn parse_working_hours(key: &str, s: &str) -> Result<(i64, i64), CalendarError> {
    let bad = |why: &str| CalendarError::invalid(key, format!("{s:?}: {why}"));
    let (a, b) = s.split_once('-').ok_or_else(|| bad("expected \"HH:MM-HH:MM\""))?;
    let start = parse_hhmm(a.trim()).ok_or_else(|| bad("start is not HH:MM"))?;
    let end = parse_hhmm(b.trim()).ok_or_else(|| bad("end is not HH:MM"))?;
    if start >= SECONDS_PER_DAY {
        return Err(bad("24:00 is only allowed as the end"));
    }
    if end <= start {
        return Err(bad("end must be after start"));
    }
    Ok((start, end))
}

fn parse_hhmm(s: &str) -> Option<i64> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(SECONDS_PER_DAY),
        (0..=23, 0..=59) => Some(h * 3600 + m * 60),
        _ => None,
    }
}
