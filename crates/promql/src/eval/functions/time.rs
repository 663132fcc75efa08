//! Calendar functions (`hour`, `day_of_week`, …) over Unix seconds in UTC.

use chrono::{DateTime, Datelike, Timelike};

/// The calendar function called `name` applied to `secs` (Unix seconds).
pub(crate) fn calendar(name: &str, secs: f64) -> f64 {
    if !secs.is_finite() || secs.abs() > 8.0e12 {
        return f64::NAN;
    }
    let Some(t) = DateTime::from_timestamp(secs.floor() as i64, 0) else {
        return f64::NAN;
    };
    let v = match name {
        "minute" => t.minute(),
        "hour" => t.hour(),
        "day_of_week" => t.weekday().num_days_from_sunday(),
        "day_of_month" => t.day(),
        "day_of_year" => t.ordinal(),
        "month" => t.month(),
        "year" => return t.year() as f64,
        "days_in_month" => {
            let (y, m) = (t.year(), t.month());
            let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
            let first_next = chrono::NaiveDate::from_ymd_opt(ny, nm, 1);
            let first = chrono::NaiveDate::from_ymd_opt(y, m, 1);
            match (first, first_next) {
                (Some(a), Some(b)) => (b - a).num_days() as u32,
                _ => return f64::NAN,
            }
        }
        _ => return f64::NAN,
    };
    v as f64
}

/// True for the calendar functions.
pub(crate) fn is_calendar(name: &str) -> bool {
    matches!(
        name,
        "minute"
            | "hour"
            | "day_of_week"
            | "day_of_month"
            | "day_of_year"
            | "month"
            | "year"
            | "days_in_month"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_fields() {
        // 2024-02-29T13:45:00Z is a Thursday.
        let t = 1709214300.0;
        assert_eq!(calendar("year", t), 2024.0);
        assert_eq!(calendar("month", t), 2.0);
        assert_eq!(calendar("day_of_month", t), 29.0);
        assert_eq!(calendar("days_in_month", t), 29.0);
        assert_eq!(calendar("day_of_week", t), 4.0);
        assert_eq!(calendar("day_of_year", t), 60.0);
        assert_eq!(calendar("hour", t), 13.0);
        assert_eq!(calendar("minute", t), 45.0);
        assert!(calendar("hour", f64::NAN).is_nan());
    }
}
