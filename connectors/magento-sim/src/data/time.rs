//! Timestamps as Magento writes them: `YYYY-MM-DD HH:MM:SS`, UTC, no zone suffix.
//!
//! Records keep Unix seconds (`i64`), which is compact and compares cheaply in filters.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::fmt::Write as _;

/// The current time in Unix seconds, the value every write puts in `updated_at`.
pub fn now() -> i64 {
    Utc::now().timestamp()
}

/// Appends `ts` as `YYYY-MM-DD HH:MM:SS`.
pub fn write_datetime(buf: &mut String, ts: i64) {
    match DateTime::<Utc>::from_timestamp(ts, 0) {
        Some(dt) => {
            let _ = write!(buf, "{}", dt.format("%Y-%m-%d %H:%M:%S"));
        }
        None => buf.push_str("1970-01-01 00:00:00"),
    }
}

/// `ts` as `YYYY-MM-DD HH:MM:SS`.
pub fn format_datetime(ts: i64) -> String {
    let mut s = String::with_capacity(19);
    write_datetime(&mut s, ts);
    s
}

/// Days since 1970-01-01 as `YYYY-MM-DD` (customer `dob`).
pub fn format_date(days: i32) -> String {
    DateTime::<Utc>::from_timestamp(i64::from(days) * 86_400, 0)
        .map(|d| d.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// Parses a filter or input value the way MySQL reads a DATETIME literal: a full
/// `YYYY-MM-DD HH:MM:SS` (an ISO `T` separator is also read) or a bare date at midnight.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Ok(dt) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Some(dt.and_utc().timestamp());
    }
    if let Ok(dt) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S") {
        return Some(dt.and_utc().timestamp());
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|dt| dt.and_utc().timestamp());
    }
    None
}

/// Parses `YYYY-MM-DD` into days since the epoch (customer `dob` input).
pub fn parse_date(s: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()?;
    let days = d.and_hms_opt(0, 0, 0)?.and_utc().timestamp() / 86_400;
    i32::try_from(days).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let ts = parse_datetime("2024-05-01 12:34:56").unwrap();
        assert_eq!(format_datetime(ts), "2024-05-01 12:34:56");
        assert_eq!(
            parse_datetime("2024-05-01"),
            parse_datetime("2024-05-01 00:00:00")
        );
        assert_eq!(format_date(parse_date("1973-12-15").unwrap()), "1973-12-15");
    }
}
