//! Timestamps as microseconds since the Unix epoch, the storage format of every time column.

use chrono::{DateTime, TimeZone, Utc};

/// A timestamp as stored: microseconds since the Unix epoch, UTC.
pub fn to_micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// A stored timestamp back as a `DateTime<Utc>`; out-of-range values clamp to the epoch.
pub fn from_micros(micros: i64) -> DateTime<Utc> {
    Utc.timestamp_micros(micros)
        .single()
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_keeps_microseconds() {
        let now = Utc::now();
        let back = from_micros(to_micros(now));
        assert_eq!(back.timestamp_micros(), now.timestamp_micros());
    }
}
