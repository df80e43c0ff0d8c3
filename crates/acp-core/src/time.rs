//! Timestamps in the formats the original scripts wrote (no BSD `date -r`).

use jiff::{Timestamp, tz::TimeZone};

/// Seconds since the epoch now.
pub fn now_epoch() -> i64 {
    Timestamp::now().as_second()
}

/// `date -u +%Y-%m-%dT%H:%M:%SZ` for now.
pub fn now_utc_iso() -> String {
    epoch_to_utc_iso(now_epoch())
}

/// `date -u -d @EPOCH +%Y-%m-%dT%H:%M:%SZ` (empty when out of range).
pub fn epoch_to_utc_iso(epoch: i64) -> String {
    Timestamp::from_second(epoch)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// ISO-8601 UTC with milliseconds, as JavaScript's `toISOString()`.
pub fn now_utc_iso_millis() -> String {
    Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// Local time formatted with `fmt` (strftime syntax), using `TZ` when given.
pub fn now_local(fmt: &str, tz: Option<&str>) -> String {
    let zone = tz
        .filter(|t| !t.is_empty())
        .and_then(|t| TimeZone::get(t.trim_start_matches(':')).ok())
        .unwrap_or_else(TimeZone::system);
    jiff::ZonedDateTime::new(Timestamp::now(), zone)
        .strftime(fmt)
        .to_string()
}

/// UTC now formatted with `fmt`.
pub fn now_utc(fmt: &str) -> String {
    Timestamp::now().strftime(fmt).to_string()
}

/// Parses an ISO-8601 UTC timestamp (`2025-01-01T00:00:00Z`) to epoch seconds.
pub fn parse_iso_epoch(s: &str) -> Option<i64> {
    s.trim().parse::<Timestamp>().ok().map(|t| t.as_second())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_round_trip() {
        assert_eq!(epoch_to_utc_iso(0), "1970-01-01T00:00:00Z");
        assert_eq!(parse_iso_epoch("2025-01-01T00:00:00Z"), Some(1_735_689_600));
        assert_eq!(now_utc_iso_millis().len(), 24);
    }
}
