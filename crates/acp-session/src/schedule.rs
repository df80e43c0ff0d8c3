//! The cadence line of a scheduled issue: `Agent schedule: every 30m`
//! (also `Schedule:` or `Cadence:`, `every` optional, a count of minutes,
//! hours or days), matched case-insensitively on any line of the body
//! with the original's whitespace rules (`\s`, which may span lines). The
//! one parser every tool uses.

use std::sync::LazyLock;

use regex::Regex;

#[allow(clippy::expect_used)] // a constant pattern, covered by the tests below
static CADENCE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?im)^\s*(?:Agent schedule|Schedule|Cadence)\s*:\s*(?:every\s+)?([0-9]+)\s*([mhd])\s*$",
    )
    .expect("constant cadence pattern")
});

/// The count and lower-case unit (`m`, `h`, `d`) of the first cadence line.
fn cadence(body: &str) -> Option<(&str, char)> {
    let c = CADENCE.captures(body)?;
    let count = c.get(1)?.as_str();
    let unit = c.get(2)?.as_str().chars().next()?.to_ascii_lowercase();
    Some((count, unit))
}

/// Whether `body` has a cadence line.
pub fn has_cadence(body: &str) -> bool {
    CADENCE.is_match(body)
}

/// The cadence as its token (`30m`), if any.
pub fn schedule_token(body: &str) -> Option<String> {
    cadence(body).map(|(count, unit)| format!("{count}{unit}"))
}

/// The cadence in seconds; 0 without one (or for a zero count).
pub fn interval_seconds(body: &str) -> u64 {
    let Some((count, unit)) = cadence(body) else {
        return 0;
    };
    let count: u64 = count.parse().unwrap_or(0);
    let unit = match unit {
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => 0,
    };
    count.saturating_mul(unit)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cadence_lines() {
        assert_eq!(interval_seconds("x\nSchedule: every 1h\n"), 3600);
        assert_eq!(interval_seconds("Agent schedule: 30m"), 1800);
        assert_eq!(interval_seconds("Cadence: every 2D"), 172_800);
        assert_eq!(interval_seconds("x\n  cadence : 2H \ny"), 7200);
        assert_eq!(interval_seconds("Schedule: every 5 weeks"), 0);
        assert_eq!(interval_seconds("Schedule: soon"), 0);
        assert_eq!(interval_seconds("Keep this issue moving."), 0);
        assert_eq!(interval_seconds("Schedule: every 1h\r\n"), 3600);
        assert_eq!(schedule_token("Cadence: 2d"), Some("2d".into()));
        assert_eq!(
            schedule_token("Agent Schedule: every 15M"),
            Some("15m".into())
        );
        assert_eq!(schedule_token("Run every 30m"), None);
        assert!(has_cadence("Goal\nAgent schedule: every 30m\n"));
        assert!(!has_cadence("Run every 30m"));
        // ASCII digits only, as the original's JavaScript `\d`.
        assert!(!has_cadence("Schedule: ٣m"));
    }
}
