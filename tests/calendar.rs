use chrono::{DateTime, Duration, NaiveDate, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use withdrawal_tracker::domain::calendar::{load_calendar_file, CalendarConfig, CalendarFile, WorkingCalendar};

const CN_2025: &str = include_str!("../calendars/cn-2025.toml");
const CN_2026: &str = include_str!("../calendars/cn-2026.toml");

fn calendar(toml_sla: &str, files: &[&str]) -> WorkingCalendar {
    #[derive(serde::Deserialize)]
    struct Root {
        sla: CalendarConfig,
    }
    let root: Root = toml::from_str(&format!("[sla]\n{toml_sla}")).unwrap();
    let files: Vec<CalendarFile> = files.iter().map(|t| load_calendar_file(t).unwrap()).collect();
    WorkingCalendar::from_config(&root.sla, &files).unwrap()
}

/// A local wall-clock reading that exists unambiguously in `tz`.
fn local(tz: &str, s: &str) -> DateTime<Utc> {
    let tz: Tz = tz.parse().unwrap();
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    tz.from_local_datetime(&naive).single().expect("unambiguous local time").with_timezone(&Utc)
}

fn utc(s: &str) -> DateTime<Utc> {
    local("UTC", s)
}

fn date(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

// ---- spec examples -------------------------------------------------------

#[test]
fn full_day_windows_friday_to_monday_and_tuesday() {
    let cal = calendar("", &[]);
    let fri = utc("2026-03-06 10:00");
    assert_eq!(cal.add_working_days(fri, 1), utc("2026-03-09 10:00"));
    assert_eq!(cal.add_working_days(fri, 2), utc("2026-03-10 10:00"));
    assert!(close(cal.working_days_between(fri, utc("2026-03-09 10:00")), 1.0));
    assert!(close(cal.working_days_between(fri, utc("2026-03-07 22:00")), 14.0 / 24.0));
}

#[test]
fn nine_to_six_saturday_request_is_due_monday_evening() {
    let cal = calendar("working_hours = \"09:00-18:00\"", &[]);
    assert_eq!(cal.add_working_days(utc("2026-03-07 12:00"), 1), utc("2026-03-09 18:00"));
}

// ---- 09:00-18:00 window --------------------------------------------------

#[test]
fn nine_to_six_window_positions() {
    let cal = calendar("working_hours = \"09:00-18:00\"", &[]);
    // Before, inside, after the window on Monday 2026-03-09.
    assert_eq!(cal.add_working_days(utc("2026-03-09 07:00"), 1), utc("2026-03-09 18:00"));
    assert_eq!(cal.add_working_days(utc("2026-03-09 12:00"), 1), utc("2026-03-10 12:00"));
    assert_eq!(cal.add_working_days(utc("2026-03-09 20:00"), 1), utc("2026-03-10 18:00"));
    assert_eq!(cal.add_working_days(utc("2026-03-13 12:00"), 1), utc("2026-03-16 12:00"));
    // Ending exactly at a window end stays there, not at the next window start.
    assert_eq!(cal.add_working_days(utc("2026-03-09 09:00"), 1), utc("2026-03-09 18:00"));
    assert_eq!(cal.add_working_days(utc("2026-03-09 09:00"), 2), utc("2026-03-10 18:00"));
    assert_eq!(cal.add_working_time(utc("2026-03-09 12:00"), 6 * 3600), utc("2026-03-09 18:00"));
    assert_eq!(cal.add_working_time(utc("2026-03-13 17:00"), 3600), utc("2026-03-13 18:00"));
    assert_eq!(cal.add_working_time(utc("2026-03-13 17:00"), 3601), utc("2026-03-16 09:00") + Duration::seconds(1));
    // Fractions in window units.
    assert!(close(cal.working_days_between(utc("2026-03-09 09:00"), utc("2026-03-09 13:30")), 0.5));
    assert!(close(cal.working_days_between(utc("2026-03-09 07:00"), utc("2026-03-09 20:00")), 1.0));
    assert!(close(cal.working_days_between(utc("2026-03-13 13:30"), utc("2026-03-16 13:30")), 1.0));
    assert!(close(cal.working_days_between(utc("2026-03-07 00:00"), utc("2026-03-08 23:59")), 0.0));
    assert_eq!(cal.working_days_between(utc("2026-03-10 12:00"), utc("2026-03-09 12:00")), 0.0);
}

#[test]
fn zero_days_is_the_start_itself() {
    let cal = calendar("working_hours = \"09:00-18:00\"", &[]);
    let sat = utc("2026-03-07 12:00");
    assert_eq!(cal.add_working_days(sat, 0), sat);
    assert_eq!(cal.add_working_time(sat, -5), sat);
}

// ---- holidays ------------------------------------------------------------

#[test]
fn start_inside_a_holiday_accrues_from_next_working_window() {
    let cal = calendar("holidays = [\"2026-03-11\"]", &[]);
    let wed = utc("2026-03-11 12:00");
    assert!(!cal.is_working_day(date("2026-03-11")));
    assert_eq!(cal.add_working_days(wed, 1), utc("2026-03-13 00:00"));
    assert_eq!(cal.add_working_days(wed, 2), utc("2026-03-14 00:00"));
    assert_eq!(cal.add_working_days(wed, 3), utc("2026-03-17 00:00"));
    assert!(close(cal.working_days_between(utc("2026-03-10 12:00"), utc("2026-03-12 12:00")), 1.0));

    let cal = calendar("working_hours = \"09:00-18:00\"\nholidays = [\"2026-03-11\"]", &[]);
    assert_eq!(cal.add_working_days(utc("2026-03-11 12:00"), 1), utc("2026-03-12 18:00"));
    assert_eq!(cal.add_working_time(utc("2026-03-10 17:00"), 2 * 3600), utc("2026-03-12 10:00"));
}

// ---- DST: America/New_York and Europe/London, 2026 -------------------------

const NY: &str = "America/New_York";
const LDN: &str = "Europe/London";

#[test]
fn weekday_deadlines_keep_local_time_across_dst() {
    for tz in [NY, LDN] {
        let cal = calendar(&format!("timezone = \"{tz}\""), &[]);
        // US springs forward 2026-03-08, UK 2026-03-29; both fall back on a Sunday too.
        for (fri, mon) in [
            ("2026-03-06 10:00", "2026-03-09 10:00"),
            ("2026-03-27 10:00", "2026-03-30 10:00"),
            ("2026-10-23 10:00", "2026-10-26 10:00"),
            ("2026-10-30 10:00", "2026-11-02 10:00"),
        ] {
            assert_eq!(cal.add_working_days(local(tz, fri), 1), local(tz, mon), "{tz} {fri}");
            assert!(close(cal.working_days_between(local(tz, fri), local(tz, mon)), 1.0));
        }
    }
}

#[test]
fn deadline_in_spring_forward_gap_moves_forward_by_the_gap() {
    // Every day works, so the DST Sunday itself is a working day.
    let cal = calendar(&format!("timezone = \"{NY}\"\nweekend = []"), &[]);
    // Saturday 02:30 EST + 1 day = Sunday 02:30, which does not exist -> 03:30 EDT.
    let sat = local(NY, "2026-03-07 02:30");
    assert_eq!(cal.add_working_days(sat, 1), utc("2026-03-08 07:30"));
    assert_eq!(cal.add_working_days(sat, 1), local(NY, "2026-03-08 03:30"));

    let cal = calendar(&format!("timezone = \"{LDN}\"\nweekend = []"), &[]);
    let sat = local(LDN, "2026-03-28 01:30");
    assert_eq!(cal.add_working_days(sat, 1), local(LDN, "2026-03-29 02:30"));
    assert_eq!(cal.add_working_days(sat, 1), utc("2026-03-29 01:30"));
}

#[test]
fn deadline_in_fall_back_overlap_takes_the_earlier_instant() {
    let cal = calendar(&format!("timezone = \"{NY}\"\nweekend = []"), &[]);
    // 01:30 happens twice on 2026-11-01; the EDT one (05:30Z) comes first.
    assert_eq!(cal.add_working_days(local(NY, "2026-10-31 01:30"), 1), utc("2026-11-01 05:30"));

    let cal = calendar(&format!("timezone = \"{LDN}\"\nweekend = []"), &[]);
    assert_eq!(cal.add_working_days(local(LDN, "2026-10-24 01:30"), 1), utc("2026-10-25 00:30"));
}

#[test]
fn full_working_day_on_a_dst_day_counts_as_a_full_window() {
    for (tz, spring, fall) in [(NY, "2026-03-08", "2026-11-01"), (LDN, "2026-03-29", "2026-10-25")] {
        // The DST Sundays become working days through make-up entries.
        let cal = calendar(&format!("timezone = \"{tz}\"\nmake_up_workdays = [\"{spring}\", \"{fall}\"]"), &[]);
        for day in [spring, fall] {
            let start = local(tz, &format!("{day} 00:00"));
            let next = date(day).succ_opt().unwrap().format("%Y-%m-%d 00:00").to_string();
            let end = local(tz, &next);
            let real_hours = (end - start).num_hours();
            assert!(real_hours == 23 || real_hours == 25, "{tz} {day}: {real_hours}h");
            assert!(close(cal.working_days_between(start, end), 1.0), "{tz} {day}");
            assert_eq!(cal.add_working_days(start, 1), end, "{tz} {day}");
            // Half of the window in wall-clock terms is local noon.
            assert_eq!(cal.add_working_time(start, 12 * 3600), local(tz, &format!("{day} 12:00")));
        }
    }
}

// ---- China 2025/2026 ---------------------------------------------------------

const SH: &str = "Asia/Shanghai";

#[test]
fn cn_2026_spring_festival_and_make_up_weekends() {
    let cal = calendar(&format!("timezone = \"{SH}\""), &[CN_2026]);
    for d in ["2026-01-04", "2026-02-14", "2026-02-28", "2026-05-09", "2026-09-20", "2026-10-10"] {
        assert!(cal.is_working_day(date(d)), "{d} is a make-up workday");
    }
    for d in 15..=23 {
        assert!(!cal.is_working_day(date(&format!("2026-02-{d}"))), "Feb {d} is Spring Festival");
    }
    assert!(!cal.is_working_day(date("2026-03-01")));
    // Friday before the holiday: the make-up Saturday counts, then the week is skipped.
    let fri = local(SH, "2026-02-13 10:00");
    assert_eq!(cal.add_working_days(fri, 1), local(SH, "2026-02-14 10:00"));
    assert_eq!(cal.add_working_days(fri, 2), local(SH, "2026-02-24 10:00"));
    assert!(close(cal.working_days_between(local(SH, "2026-02-14 00:00"), local(SH, "2026-02-24 00:00")), 1.0));
    assert!(close(cal.working_days_between(local(SH, "2026-02-15 00:00"), local(SH, "2026-02-24 00:00")), 0.0));
    // A request during the holiday is due counted from the first day back.
    assert_eq!(cal.add_working_days(local(SH, "2026-02-18 09:00"), 2), local(SH, "2026-02-26 00:00"));
    // National Day: Sunday 2026-09-20 works; 2026-10-01..07 do not, Saturday 10-10 does.
    assert_eq!(cal.add_working_days(local(SH, "2026-09-19 12:00"), 1), local(SH, "2026-09-21 00:00"));
    assert_eq!(cal.add_working_days(local(SH, "2026-09-30 12:00"), 1), local(SH, "2026-10-08 12:00"));
    assert_eq!(cal.add_working_days(local(SH, "2026-10-09 12:00"), 1), local(SH, "2026-10-10 12:00"));
}

#[test]
fn cn_2025_spot_checks_and_year_boundary() {
    let cal = calendar(&format!("timezone = \"{SH}\""), &[CN_2025, CN_2026]);
    for d in ["2025-01-26", "2025-02-08", "2025-09-28", "2025-10-11"] {
        assert!(cal.is_working_day(date(d)), "{d}");
    }
    for d in ["2025-01-28", "2025-02-04", "2025-10-01", "2025-10-08", "2026-01-02"] {
        assert!(!cal.is_working_day(date(d)), "{d}");
    }
    // Wed 2025-12-31 noon + 1: Jan 1-3 2026 off, Sunday Jan 4 is a make-up day.
    assert_eq!(cal.add_working_days(local(SH, "2025-12-31 12:00"), 1), local(SH, "2026-01-04 12:00"));
    let files: Vec<CalendarFile> = [CN_2025, CN_2026].iter().map(|t| load_calendar_file(t).unwrap()).collect();
    assert_eq!(files[1].name.as_deref(), Some("cn-2026"));
    assert_eq!((files[1].holidays.len(), files[1].make_up_workdays.len()), (33, 6));
    assert_eq!((files[0].holidays.len(), files[0].make_up_workdays.len()), (28, 5));
}

// ---- properties ----------------------------------------------------------------

fn property_calendars() -> Vec<WorkingCalendar> {
    vec![
        calendar("", &[]),
        calendar("working_hours = \"09:00-18:00\"", &[]),
        calendar(&format!("timezone = \"{SH}\"\nworking_hours = \"09:00-17:30\""), &[CN_2025, CN_2026]),
        calendar(&format!("timezone = \"{SH}\""), &[CN_2025, CN_2026]),
        calendar(&format!("timezone = \"{NY}\""), &[]),
        calendar(&format!("timezone = \"{LDN}\"\nworking_hours = \"08:00-24:00\"\nholidays = [\"2026-04-03\", \"2026-04-06\", \"2026-12-25\"]"), &[]),
        calendar("weekend = [\"fri\"]\nworking_hours = \"22:00-24:00\"\nholidays = [\"2025-06-02\", \"2026-01-01\"]\nmake_up_workdays = [\"2025-06-06\"]", &[]),
    ]
}

/// Instants from 2025-01-01 to 2026-12-31 at minute resolution plus a sub-second part.
fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    (0i64..730 * 24 * 60, 0u32..1_000_000_000)
        .prop_map(|(min, ns)| utc("2025-01-01 00:00") + Duration::minutes(min) + Duration::nanoseconds(i64::from(ns)))
}

/// A deadline sits inside or at the end of a working window of a working day.
fn in_window(cal: &WorkingCalendar, t: DateTime<Utc>, window: (u32, u32)) -> bool {
    let l = t.with_timezone(&cal.timezone()).naive_local();
    let secs = l.num_seconds_from_midnight() + u32::from(l.nanosecond() > 0);
    let today = cal.is_working_day(l.date()) && secs >= window.0 && secs <= window.1;
    let ends_yesterday = secs == 0 && window.1 == 86_400 && cal.is_working_day(l.date().pred_opt().unwrap());
    today || ends_yesterday
}

const WINDOWS: [(u32, u32); 7] =
    [(0, 86_400), (32_400, 64_800), (32_400, 63_000), (0, 86_400), (0, 86_400), (28_800, 86_400), (79_200, 86_400)];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn between_inverts_add(t in instant(), n in 0u32..30, which in 0usize..7) {
        let cal = &property_calendars()[which];
        let due = cal.add_working_days(t, n);
        let got = cal.working_days_between(t, due);
        prop_assert!(close(got, f64::from(n)), "cal {which}: t={t} n={n} due={due} got={got}");
    }

    #[test]
    fn add_is_monotonic_in_n(t in instant(), n in 0u32..29, which in 0usize..7) {
        let cal = &property_calendars()[which];
        prop_assert!(cal.add_working_days(t, n) < cal.add_working_days(t, n + 1));
        prop_assert!(cal.add_working_days(t, n) >= t);
    }

    #[test]
    fn deadlines_fall_in_working_windows(t in instant(), n in 1u32..30, which in 0usize..7) {
        let cal = &property_calendars()[which];
        let due = cal.add_working_days(t, n);
        prop_assert!(in_window(cal, due, WINDOWS[which]), "cal {which}: t={t} n={n} due={due}");
    }

    #[test]
    fn fractional_time_inverts_too(t in instant(), secs in 1i64..20 * 86_400, which in 0usize..7) {
        let cal = &property_calendars()[which];
        let due = cal.add_working_time(t, secs);
        let expect = secs as f64 / cal.window_seconds() as f64;
        prop_assert!((cal.working_days_between(t, due) - expect).abs() < 1e-9);
        prop_assert!(in_window(cal, due, WINDOWS[which]));
    }

    #[test]
    fn between_is_additive(a in instant(), b in instant(), c in instant(), which in 0usize..7) {
        // NY/London wall-clock readings can step back in the fall-back hour.
        prop_assume!(which != 4 && which != 5);
        let cal = &property_calendars()[which];
        let mut v = [a, b, c];
        v.sort();
        let whole = cal.working_days_between(v[0], v[2]);
        let parts = cal.working_days_between(v[0], v[1]) + cal.working_days_between(v[1], v[2]);
        prop_assert!((whole - parts).abs() < 1e-9);
    }
}
