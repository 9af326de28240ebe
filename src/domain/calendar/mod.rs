//! Working-day calendar for SLA deadlines ("one to two working days").
//!
//! All accrual happens in local wall-clock time: a working day contributes its
//! full window length even when a DST change makes the real day 23 or 25 hours
//! long. Instants in and out of the API are UTC.
//!
//! Unreachable deadlines: a search gives up after [`MAX_IDLE_DAYS`] consecutive
//! non-working days (or when chrono's date range is exceeded). The checked API
//! returns `None`; the plain API saturates to `DateTime::<Utc>::MAX_UTC`, which a
//! caller can treat as "never due". Validation already rejects calendars that can
//! never accrue time (every weekday a weekend day and no make-up days), so this is
//! reached only by absurd holiday lists or absurd amounts of working time.

mod config;
mod tz;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, Days, Duration, NaiveDate, NaiveDateTime, Timelike, Utc, Weekday};
use chrono_tz::Tz;

pub use self::config::{load_calendar_file, CalendarConfig, CalendarError, CalendarFile};
use self::config::{parse_dates, parse_timezone, parse_weekday, parse_working_hours};

/// Consecutive non-working days after which a deadline search gives up.
pub const MAX_IDLE_DAYS: u32 = 3660;

const NANOS_PER_SEC: i64 = 1_000_000_000;

#[derive(Debug, Clone)]
pub struct WorkingCalendar {
    tz: Tz,
    /// Window bounds in nanoseconds after local midnight; nanoseconds so that
    /// sub-second start instants round-trip exactly.
    win_start: i64,
    win_end: i64,
    /// Indexed by `Weekday::num_days_from_monday`.
    weekend: [bool; 7],
    working_weekdays: i64,
    /// Only dates whose status differs from the weekday rule, so that week-sized
    /// jumps and range counts need to look at exceptions alone.
    exceptions: BTreeMap<NaiveDate, bool>,
}

impl WorkingCalendar {
    pub fn from_config(config: &CalendarConfig, extra_files: &[CalendarFile]) -> Result<Self, CalendarError> {
        let tz = parse_timezone("sla.timezone", &config.timezone)?;
        let (start, end) = parse_working_hours("sla.working_hours", &config.working_hours)?;
        let mut weekend = [false; 7];
        for (i, name) in config.weekend.iter().enumerate() {
            let day = parse_weekday(&format!("sla.weekend[{i}]"), name)?;
            weekend[day.num_days_from_monday() as usize] = true;
        }
        let mut holidays: BTreeSet<NaiveDate> = parse_dates("sla.holidays", &config.holidays)?.into_iter().collect();
        let mut make_ups: BTreeSet<NaiveDate> =
            parse_dates("sla.make_up_workdays", &config.make_up_workdays)?.into_iter().collect();
        for file in extra_files {
            holidays.extend(file.holidays.iter().copied());
            make_ups.extend(file.make_up_workdays.iter().copied());
        }
        let working_weekdays = weekend.iter().filter(|w| !**w).count() as i64;
        if working_weekdays == 0 && make_ups.is_empty() {
            return Err(CalendarError::invalid(
                "sla.weekend",
                "every day of the week is a weekend day and there are no make_up_workdays, so no working time can ever accrue",
            ));
        }
        let mut cal = WorkingCalendar {
            tz,
            win_start: start * NANOS_PER_SEC,
            win_end: end * NANOS_PER_SEC,
            weekend,
            working_weekdays,
            exceptions: BTreeMap::new(),
        };
        for &d in holidays.iter().chain(make_ups.iter()) {
            let by_weekday = !cal.is_weekend(d.weekday());
            let working = make_ups.contains(&d) || (by_weekday && !holidays.contains(&d));
            if working != by_weekday {
                cal.exceptions.insert(d, working);
            }
        }
        Ok(cal)
    }

    pub fn timezone(&self) -> Tz {
        self.tz
    }

    /// Length of one working day's window, i.e. one "working day" of working time.
    pub fn window_seconds(&self) -> i64 {
        (self.win_end - self.win_start) / NANOS_PER_SEC
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.exceptions.get(&date) {
            Some(&working) => working,
            None => !self.is_weekend(date.weekday()),
        }
    }

    /// `days` whole windows of working time after `start`; see [`Self::add_working_time`].
    pub fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        self.add_working_time(start, i64::from(days).saturating_mul(self.window_seconds()))
    }

    /// The earliest instant at which `working_seconds` of working time has accrued
    /// since `start`, so a deadline that uses up a window exactly is that window's
    /// end. Zero or negative amounts return `start` unchanged. Saturates to
    /// `DateTime::<Utc>::MAX_UTC` when unreachable (see module docs).
    pub fn add_working_time(&self, start: DateTime<Utc>, working_seconds: i64) -> DateTime<Utc> {
        self.checked_add_working_time(start, working_seconds).unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Like [`Self::add_working_time`] but `None` when no deadline is found.
    pub fn checked_add_working_time(&self, start: DateTime<Utc>, working_seconds: i64) -> Option<DateTime<Utc>> {
        if working_seconds <= 0 {
            return Some(start);
        }
        let local = tz::to_local(&self.tz, start);
        let deadline = self.add_local(local, i128::from(working_seconds) * i128::from(NANOS_PER_SEC))?;
        tz::to_utc(&self.tz, deadline)
    }

    /// Working time accrued from `start` to `end`, in window-length units; 0 if
    /// `end <= start`. Measured between local wall-clock readings, so an interval
    /// inside a DST fall-back overlap that reads backwards counts as 0.
    pub fn working_days_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
        self.working_nanos_between(start, end) as f64 / self.window_nanos() as f64
    }

    /// Working time accrued from `start` to `end`, in whole seconds.
    pub fn working_seconds_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        i64::try_from(self.working_nanos_between(start, end) / i128::from(NANOS_PER_SEC)).unwrap_or(i64::MAX)
    }

    fn working_nanos_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i128 {
        if end <= start {
            return 0;
        }
        let (a, b) = (tz::to_local(&self.tz, start), tz::to_local(&self.tz, end));
        if b <= a {
            return 0;
        }
        let (da, db) = (a.date(), b.date());
        if da == db {
            self.accrued_by(db, tod_nanos(b)) - self.accrued_by(da, tod_nanos(a))
        } else {
            let first = self.day_total(da) - self.accrued_by(da, tod_nanos(a));
            let middle = self.count_working_days(da.succ_opt().unwrap_or(db), db) * self.window_nanos();
            first + middle + self.accrued_by(db, tod_nanos(b))
        }
    }

    fn is_weekend(&self, day: Weekday) -> bool {
        self.weekend[day.num_days_from_monday() as usize]
    }

    fn window_nanos(&self) -> i128 {
        i128::from(self.win_end - self.win_start)
    }

    fn day_total(&self, date: NaiveDate) -> i128 {
        if self.is_working_day(date) {
            self.window_nanos()
        } else {
            0
        }
    }

    /// Working time accrued on `date` by local time-of-day `tod`.
    fn accrued_by(&self, date: NaiveDate, tod: i64) -> i128 {
        if !self.is_working_day(date) {
            return 0;
        }
        i128::from(tod.clamp(self.win_start, self.win_end) - self.win_start)
    }

    /// Working days in `[from, to)`, by week arithmetic plus the exceptions in range.
    fn count_working_days(&self, from: NaiveDate, to: NaiveDate) -> i128 {
        let n = (to - from).num_days();
        if n <= 0 {
            return 0;
        }
        let mut count = i128::from(n / 7) * i128::from(self.working_weekdays);
        let mut day = from.weekday();
        for _ in 0..n % 7 {
            count += i128::from(!self.is_weekend(day));
            day = day.succ();
        }
        for (_, &working) in self.exceptions.range(from..to) {
            count += if working { 1 } else { -1 };
        }
        count
    }

    fn add_local(&self, start: NaiveDateTime, mut remaining: i128) -> Option<NaiveDateTime> {
        let day = start.date();
        let tod = tod_nanos(start);
        if self.is_working_day(day) && tod < self.win_end {
            let from = tod.max(self.win_start);
            let available = i128::from(self.win_end - from);
            if remaining <= available {
                return at(day, i128::from(from) + remaining);
            }
            remaining -= available;
        }
        let window = self.window_nanos();
        let whole_days = (remaining + window - 1) / window;
        let last_day_part = remaining - (whole_days - 1) * window;
        let target = self.nth_working_day_after(day, whole_days)?;
        at(target, i128::from(self.win_start) + last_day_part)
    }

    /// The `n`-th (n >= 1) working day strictly after `day`.
    fn nth_working_day_after(&self, mut day: NaiveDate, mut n: i128) -> Option<NaiveDate> {
        if n < 1 {
            // Would otherwise never hit zero and walk to the end of chrono's range.
            return None;
        }
        let per_week = i128::from(self.working_weekdays);
        let mut idle = 0u32;
        loop {
            if per_week > 0 && n > per_week {
                // Whole weeks with no exceptions hold exactly `per_week` working days.
                let free_weeks = match self.exceptions.range(day.succ_opt()?..).next() {
                    Some((next, _)) => i128::from(((*next - day).num_days() - 1) / 7),
                    None => i128::MAX,
                };
                let weeks = free_weeks.min((n - 1) / per_week);
                if weeks > 0 {
                    day = day.checked_add_days(Days::new(u64::try_from(weeks * 7).ok()?))?;
                    n -= weeks * per_week;
                    idle = 0;
                }
            }
            day = day.succ_opt()?;
            if self.is_working_day(day) {
                n -= 1;
                if n == 0 {
                    return Some(day);
                }
                idle = 0;
            } else {
                idle += 1;
                if idle > MAX_IDLE_DAYS {
                    return None;
                }
            }
        }
    }
}

fn tod_nanos(t: NaiveDateTime) -> i64 {
    // Leap-second readings (nanosecond >= 1e9) are clamped into the same second.
    i64::from(t.num_seconds_from_midnight()) * NANOS_PER_SEC + i64::from(t.nanosecond().min(999_999_999))
}

/// `date` plus `nanos` after its midnight; `nanos` may be a full day (a 24:00 end).
fn at(date: NaiveDate, nanos: i128) -> Option<NaiveDateTime> {
    date.and_hms_opt(0, 0, 0)?.checked_add_signed(Duration::nanoseconds(i64::try_from(nanos).ok()?))
}

#[cfg(test)]
mod tests;

impl crate::domain::sla::WorkingTime for WorkingCalendar {
    fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        WorkingCalendar::add_working_days(self, start, days)
    }

    fn working_days_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> f64 {
        WorkingCalendar::working_days_between(self, start, end)
    }

    fn add_working_seconds(&self, start: DateTime<Utc>, seconds: i64) -> DateTime<Utc> {
        WorkingCalendar::add_working_time(self, start, seconds)
    }

    fn working_seconds_between(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> i64 {
        WorkingCalendar::working_seconds_between(self, start, end)
    }

    fn working_day_seconds(&self) -> i64 {
        WorkingCalendar::window_seconds(self)
    }
}
