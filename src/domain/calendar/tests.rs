use super::*;
use chrono::TimeZone;

fn cfg(f: impl FnOnce(&mut CalendarConfig)) -> CalendarConfig {
    let mut c = CalendarConfig::default();
    f(&mut c);
    c
}

fn err_key(c: &CalendarConfig) -> String {
    WorkingCalendar::from_config(c, &[]).unwrap_err().key().unwrap().to_owned()
}

fn d(s: &str) -> NaiveDate {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}

#[test]
fn defaults_are_utc_sat_sun_full_day() {
    let c: CalendarConfig = toml::from_str("").unwrap();
    assert_eq!(c, CalendarConfig::default());
    assert_eq!(c.timezone, "UTC");
    assert_eq!(c.weekend, ["sat", "sun"]);
    assert_eq!(c.working_hours, "00:00-24:00");
    let cal = WorkingCalendar::from_config(&c, &[]).unwrap();
    assert_eq!(cal.window_seconds(), 86_400);
    assert!(cal.is_working_day(d("2026-03-06")));
    assert!(!cal.is_working_day(d("2026-03-07")));
}

#[test]
fn unknown_config_keys_are_rejected() {
    assert!(toml::from_str::<CalendarConfig>("timezon = \"UTC\"").is_err());
}

#[test]
fn errors_name_the_bad_key() {
    assert_eq!(err_key(&cfg(|c| c.timezone = "Mars/Olympus".into())), "sla.timezone");
    assert_eq!(err_key(&cfg(|c| c.weekend = vec!["sat".into(), "funday".into()])), "sla.weekend[1]");
    assert_eq!(err_key(&cfg(|c| c.working_hours = "18:00-09:00".into())), "sla.working_hours");
    let bad_date =
        cfg(|c| c.holidays = ["2026-01-01", "2026-01-02", "2026-01-03", "2026-1-4"].map(String::from).to_vec());
    assert_eq!(err_key(&bad_date), "sla.holidays[3]");
    assert_eq!(err_key(&cfg(|c| c.make_up_workdays = vec!["2026-02-30".into()])), "sla.make_up_workdays[0]");
    let msg = WorkingCalendar::from_config(&bad_date, &[]).unwrap_err().to_string();
    assert_eq!(msg, "invalid `sla.holidays[3]`: \"2026-1-4\" is not a YYYY-MM-DD date");
}

#[test]
fn working_hours_syntax() {
    let ok = |s: &str| parse_working_hours("k", s).unwrap();
    assert_eq!(ok("09:00-18:00"), (9 * 3600, 18 * 3600));
    assert_eq!(ok("00:00-24:00"), (0, 86_400));
    assert_eq!(ok("22:30-24:00"), (22 * 3600 + 1800, 86_400));
    for bad in ["24:00-24:00", "09:00", "9:00-18:00", "09:00-09:00", "09:60-10:00", "09:00-24:01", "25:00-26:00", ""] {
        assert!(parse_working_hours("k", bad).is_err(), "{bad} should be rejected");
    }
}

#[test]
fn weekend_names_are_case_insensitive() {
    let cal = WorkingCalendar::from_config(&cfg(|c| c.weekend = vec!["FRI".into(), "Sat".into()]), &[]).unwrap();
    assert!(!cal.is_working_day(d("2026-03-06")));
    assert!(cal.is_working_day(d("2026-03-08")));
}

#[test]
fn calendar_without_any_working_day_is_rejected() {
    let all = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(String::from).to_vec();
    assert_eq!(err_key(&cfg(|c| c.weekend = all.clone())), "sla.weekend");
    let with_make_up = cfg(|c| {
        c.weekend = all;
        c.make_up_workdays = vec!["2026-03-02".into()];
    });
    assert!(WorkingCalendar::from_config(&with_make_up, &[]).is_ok());
}

#[test]
fn unreachable_deadline_gives_up_and_saturates() {
    let all = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"].map(String::from).to_vec();
    let cal = WorkingCalendar::from_config(
        &cfg(|c| {
            c.weekend = all;
            c.make_up_workdays = vec!["2026-03-02".into()];
        }),
        &[],
    )
    .unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    assert_eq!(cal.add_working_days(t, 1), Utc.with_ymd_and_hms(2026, 3, 3, 0, 0, 0).unwrap());
    assert_eq!(cal.checked_add_working_time(t, 2 * 86_400), None);
    assert_eq!(cal.add_working_days(t, 2), DateTime::<Utc>::MAX_UTC);
}

#[test]
fn huge_amounts_saturate_instead_of_panicking() {
    let cal = WorkingCalendar::from_config(&cfg(|c| c.working_hours = "09:00-09:01".into()), &[]).unwrap();
    let t = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
    assert_eq!(cal.add_working_days(t, u32::MAX), DateTime::<Utc>::MAX_UTC);
    // 100_000 Mon-Fri days are exactly 20_000 weeks: week jumps keep this instant.
    let far = cal.add_working_days(t, 100_000);
    assert_eq!(
        far,
        Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap() + Duration::weeks(20_000) - Duration::days(3)
            + Duration::minutes(1)
    );
    assert_eq!(cal.add_working_time(t, i64::MAX), DateTime::<Utc>::MAX_UTC);
    assert!(cal.working_days_between(t, DateTime::<Utc>::MAX_UTC) > 1e6);
}

#[test]
fn make_up_beats_holiday_and_weekend() {
    let cal = WorkingCalendar::from_config(
        &cfg(|c| {
            c.holidays = vec!["2026-03-04".into(), "2026-03-07".into()];
            c.make_up_workdays = vec!["2026-03-04".into(), "2026-03-08".into()];
        }),
        &[],
    )
    .unwrap();
    assert!(cal.is_working_day(d("2026-03-04")));
    assert!(!cal.is_working_day(d("2026-03-07")));
    assert!(cal.is_working_day(d("2026-03-08")));
    // Redundant entries (a holiday on a weekend) are not stored as exceptions.
    assert_eq!(cal.exceptions.len(), 1);
}

#[test]
fn count_matches_day_by_day_loop() {
    let cal = WorkingCalendar::from_config(
        &cfg(|c| {
            c.weekend = vec!["fri".into(), "sun".into()];
            c.holidays = vec!["2026-01-05".into(), "2026-01-14".into(), "2026-02-01".into()];
            c.make_up_workdays = vec!["2026-01-09".into(), "2026-01-20".into()];
        }),
        &[],
    )
    .unwrap();
    let base = d("2025-12-20");
    for a in 0..60 {
        for len in 0..40 {
            let from = base + Duration::days(a);
            let to = from + Duration::days(len);
            let slow = (0..len).filter(|i| cal.is_working_day(from + Duration::days(*i))).count() as i128;
            assert_eq!(cal.count_working_days(from, to), slow, "{from}..{to}");
        }
    }
}

#[test]
fn gap_moves_forward_and_overlap_takes_earlier() {
    let ny: Tz = "America/New_York".parse().unwrap();
    let gap = d("2026-03-08").and_hms_opt(2, 30, 0).unwrap();
    assert_eq!(tz::to_utc(&ny, gap), Some(Utc.with_ymd_and_hms(2026, 3, 8, 7, 30, 0).unwrap()));
    let overlap = d("2026-11-01").and_hms_opt(1, 30, 0).unwrap();
    assert_eq!(tz::to_utc(&ny, overlap), Some(Utc.with_ymd_and_hms(2026, 11, 1, 5, 30, 0).unwrap()));
    let london: Tz = "Europe/London".parse().unwrap();
    let gap = d("2026-03-29").and_hms_opt(1, 15, 0).unwrap();
    assert_eq!(tz::to_utc(&london, gap), Some(Utc.with_ymd_and_hms(2026, 3, 29, 1, 15, 0).unwrap()));
    let overlap = d("2026-10-25").and_hms_opt(1, 15, 0).unwrap();
    assert_eq!(tz::to_utc(&london, overlap), Some(Utc.with_ymd_and_hms(2026, 10, 25, 0, 15, 0).unwrap()));
}

#[test]
fn calendar_file_parsing() {
    let f = load_calendar_file("name = \"x\"\nholidays = [\"2026-01-01\"]\n").unwrap();
    assert_eq!(f.name.as_deref(), Some("x"));
    assert_eq!(f.holidays, vec![d("2026-01-01")]);
    assert!(f.make_up_workdays.is_empty());
    let e = load_calendar_file("make_up_workdays = [\"2026-01-04\", \"soon\"]").unwrap_err();
    assert_eq!(e.key(), Some("make_up_workdays[1]"));
    assert!(matches!(load_calendar_file("holidays = [\"2026-01-01\"]\nextra = 1"), Err(CalendarError::Syntax(_))));
    assert!(matches!(load_calendar_file("holidays = ["), Err(CalendarError::Syntax(_))));
}
