//! Magento's date-times: `YYYY-MM-DD HH:MM:SS`, UTC, no zone suffix.

use chrono::{DateTime, NaiveDateTime, Utc};

/// Parses a Magento date-time; `None` for anything else (an absent or malformed date only
/// disables the up-to-date check, it never fails an import).
pub fn parse_magento_time(text: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|t| t.and_utc())
}

/// Formats a date-time the way Magento filters and answers.
pub fn format_magento_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M:%S").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let at = parse_magento_time("2024-05-01 10:11:12").unwrap();
        assert_eq!(format_magento_time(at), "2024-05-01 10:11:12");
        assert!(parse_magento_time("2024-05-01T10:11:12Z").is_none());
    }
}
