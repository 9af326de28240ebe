//! Local wall-clock <-> UTC conversion with TC39 Temporal "compatible"
//! disambiguation, which chrono leaves to the caller.

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

pub(super) fn to_local(tz: &Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(tz).naive_local()
}

/// Gap times move forward by the gap length (they are read with the offset in
/// force before the transition); repeated times take the earlier instant.
/// `None` only when the result falls outside chrono's representable range.
pub(super) fn to_utc(tz: &Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(a, b) => Some(a.with_timezone(&Utc).min(b.with_timezone(&Utc))),
        LocalResult::None => {
            // Temporal also probes one day earlier to find the pre-transition offset;
            // zones never have two transitions within a day in practice.
            let probe = local.checked_sub_signed(Duration::days(1))?;
            let before = tz.offset_from_utc_datetime(&probe).fix().local_minus_utc();
            let utc = local.checked_sub_signed(Duration::seconds(i64::from(before)))?;
            Some(Utc.from_utc_datetime(&utc))
        }
    }
}
