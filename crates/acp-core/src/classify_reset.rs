//! When a provider's quota comes back, as its failure message says
//! (issue 10 section 4): `try again at 3:05 PM`, `resets in 2h 13m`,
//! `retry after 120 seconds`, `Retry-After: 120`, `try again in 4 days 20
//! hours 9 minutes`, `Claude AI usage limit reached|1750000000`,
//! `resets 3pm (America/New_York)`, `X-RateLimit-Reset: 1741305600000`,
//! `try again at 2026-04-03T01:20:43Z`.
//!
//! [`reset_epoch`] returns the epoch of the *last* such statement in the
//! text (the newest message wins), when it lies after `now` and at most
//! [`MAX_AHEAD`] seconds ahead (a weekly window plus a day); anything else
//! is no answer, and the caller keeps its fixed back-off.

use std::sync::OnceLock;

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ZonedDateTime as Zoned};
use regex::Regex;

/// The farthest reset accepted: eight days.
pub const MAX_AHEAD: i64 = 8 * 24 * 3600;

const LEAD: &str =
    r"(?:try(?:ing)?\s+again|retry(?:ing)?|resets?|reset\s+(?:time|window)|available\s+again|wait)";

/// A compiled pattern; `None` only if a literal pattern here were invalid,
/// which the unit tests rule out (the statement is then not recognised).
type Pattern = OnceLock<Option<Regex>>;

fn compiled(cell: &'static Pattern, pattern: impl FnOnce() -> String) -> Option<&'static Regex> {
    cell.get_or_init(|| Regex::new(&pattern()).ok()).as_ref()
}

fn relative_re() -> Option<&'static Regex> {
    static RE: Pattern = OnceLock::new();
    compiled(&RE, || {
        let unit = r"(?:d|days?|h|hrs?|hours?|m|mins?|minutes?|s|secs?|seconds?)";
        let part = format!(r"\d+(?:\.\d+)?\s*{unit}\b");
        format!(
            r"(?i)\b{LEAD}\s*(?:in|after|:)?\s+((?:{part}[\s,]*(?:and\s+)?)+)|\bretry-after\s*[:=]\s*(\d+)\b"
        )
    })
}

fn absolute_re() -> Option<&'static Regex> {
    static RE: Pattern = OnceLock::new();
    compiled(&RE, || {
        format!(
            r"(?i)\b{LEAD}\s*(?:at|after|on|:)?\s+(?:(?P<iso>\d{{4}}-\d{{2}}-\d{{2}}[T ]\d{{1,2}}:\d{{2}}(?::\d{{2}})?(?:\.\d+)?\s*(?:Z|UTC|GMT|[+-]\d{{2}}:?\d{{2}})?)|(?:(?P<mon>[A-Za-z]{{3,9}})\.?\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?:(?P<year>\d{{4}}),?\s+)?(?:at\s+)?)?(?P<h>\d{{1,2}})(?::(?P<mi>\d{{2}}))?(?::(?P<s>\d{{2}}))?\s*(?P<ampm>[ap]\.?m\.?)?(?:\s*\(?(?P<tz>UTC|GMT|[A-Za-z_]+/[A-Za-z_/+-]+)\)?)?)"
        )
    })
}

fn epoch_re() -> Option<&'static Regex> {
    static RE: Pattern = OnceLock::new();
    compiled(&RE, || {
        r"(?i)(?:limit\s+reached\s*\|\s*|rate-?limit-?reset[\x22']?\s*[:=]\s*[\x22']?)(\d{10}|\d{13})\b".to_string()
    })
}

fn part_re() -> Option<&'static Regex> {
    static RE: Pattern = OnceLock::new();
    compiled(&RE, || r"(?i)(\d+(?:\.\d+)?)\s*([a-z]+)".to_string())
}

/// Seconds of a duration text such as `2h 13m`, `4 days 20 hours`, `41.5s`.
fn duration_seconds(text: &str) -> Option<f64> {
    let part = part_re()?;
    let mut total = 0.0;
    let mut any = false;
    for c in part.captures_iter(text) {
        let n: f64 = c[1].parse().ok()?;
        let unit = c[2].to_ascii_lowercase();
        let scale = match unit.chars().next()? {
            'd' => 86_400.0,
            'h' => 3_600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => continue,
        };
        if unit == "and" {
            continue;
        }
        total += n * scale;
        any = true;
    }
    any.then_some(total)
}

fn month_number(name: &str) -> Option<i8> {
    let n = name.to_ascii_lowercase();
    let months = [
        "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
    ];
    let i = months.iter().position(|m| n.starts_with(m))?;
    i8::try_from(i + 1).ok()
}

/// The zone of a message: a named IANA zone, UTC/GMT, else `local`.
fn zone_of(name: Option<&str>, local: &TimeZone) -> TimeZone {
    match name {
        Some(n) if n.eq_ignore_ascii_case("utc") || n.eq_ignore_ascii_case("gmt") => TimeZone::UTC,
        Some(n) => TimeZone::get(n).unwrap_or_else(|_| local.clone()),
        None => local.clone(),
    }
}

/// The epoch of one absolute statement.
fn absolute_epoch(c: &regex::Captures<'_>, now: &Zoned, local: &TimeZone) -> Option<i64> {
    if let Some(iso) = c.name("iso") {
        let t = iso.as_str().trim();
        let norm = t.replacen(' ', "T", 1);
        if let Ok(ts) = norm
            .replace("UTC", "Z")
            .replace("GMT", "Z")
            .replace("TZ", "Z")
            .parse::<Timestamp>()
        {
            return Some(ts.as_second());
        }
        let civil: jiff::civil::DateTime = norm.trim_end_matches(['Z', ' ']).parse().ok()?;
        return civil
            .to_zoned_datetime(local.clone())
            .ok()
            .map(|z| z.timestamp().as_second());
    }
    let mut hour: i8 = c.name("h")?.as_str().parse().ok()?;
    let minute: i8 = c.name("mi").map_or(Some(0), |m| m.as_str().parse().ok())?;
    let second: i8 = c.name("s").map_or(Some(0), |m| m.as_str().parse().ok())?;
    let ampm = c.name("ampm").map(|m| m.as_str().to_ascii_lowercase());
    // A bare number ("retry 3") is no time: want minutes or am/pm.
    if c.name("mi").is_none() && ampm.is_none() {
        return None;
    }
    match ampm.as_deref().map(|a| a.starts_with('p')) {
        Some(true) if hour < 12 => hour += 12,
        Some(false) if hour == 12 => hour = 0,
        _ => {}
    }
    let time = Time::new(hour, minute, second, 0).ok()?;
    let zone = zone_of(c.name("tz").map(|m| m.as_str()), local);
    let today = now.with_time_zone(zone.clone()).date();
    let date = match (c.name("mon"), c.name("day")) {
        (Some(mon), Some(day)) => {
            let year = c
                .name("year")
                .and_then(|y| y.as_str().parse::<i16>().ok())
                .unwrap_or(today.year());
            Date::new(
                year,
                month_number(mon.as_str())?,
                day.as_str().parse().ok()?,
            )
            .ok()?
        }
        _ => today,
    };
    let at = date
        .to_datetime(time)
        .to_zoned_datetime(zone.clone())
        .ok()?;
    if c.name("mon").is_none() && at.timestamp() <= now.timestamp() {
        // A time of day already past today means tomorrow.
        let next = date
            .tomorrow()
            .ok()?
            .to_datetime(time)
            .to_zoned_datetime(zone)
            .ok()?;
        return Some(next.timestamp().as_second());
    }
    Some(at.timestamp().as_second())
}

/// The epoch at which the quota named in `text` comes back, per the last
/// statement in it that gives one; times of day without a zone are in
/// `local` (the machine's zone, or `TZ`). See the module documentation.
pub fn reset_epoch(text: &str, now: i64, local: &TimeZone) -> Option<i64> {
    let now_z = Timestamp::from_second(now)
        .ok()?
        .to_zoned_datetime(local.clone());
    let mut found: Vec<(usize, i64)> = Vec::new();
    let (relative, absolute, epochs) = (relative_re()?, absolute_re()?, epoch_re()?);
    for c in relative.captures_iter(text) {
        let secs = match (c.get(1), c.get(2)) {
            (Some(d), _) => duration_seconds(d.as_str()),
            (None, Some(s)) => s.as_str().parse::<f64>().ok(),
            _ => None,
        };
        if let Some(s) = secs.filter(|s| *s > 0.0 && *s < 1e9) {
            #[allow(clippy::cast_possible_truncation)]
            found.push((c.get(0).map_or(0, |m| m.start()), now + s.ceil() as i64));
        }
    }
    for c in absolute.captures_iter(text) {
        if let Some(e) = absolute_epoch(&c, &now_z, local) {
            found.push((c.get(0).map_or(0, |m| m.start()), e));
        }
    }
    for c in epochs.captures_iter(text) {
        let digits = &c[1];
        let Ok(mut e) = digits.parse::<i64>() else {
            continue;
        };
        if digits.len() == 13 {
            e /= 1000;
        }
        found.push((c.get(0).map_or(0, |m| m.start()), e));
    }
    found
        .into_iter()
        .filter(|(_, e)| *e > now && *e - now <= MAX_AHEAD)
        .max_by_key(|(pos, _)| *pos)
        .map(|(_, e)| e)
}

/// [`reset_epoch`] in the zone of `TZ` (when it names one) or the system's.
pub fn reset_epoch_local(text: &str, now: i64, tz: Option<&str>) -> Option<i64> {
    let zone = tz
        .filter(|t| !t.is_empty())
        .and_then(|t| TimeZone::get(t.trim_start_matches(':')).ok())
        .unwrap_or_else(TimeZone::system);
    reset_epoch(text, now, &zone)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    // 2026-03-10T12:00:00Z, a Tuesday.
    const NOW: i64 = 1_773_144_000;

    fn utc(text: &str) -> Option<i64> {
        reset_epoch(text, NOW, &TimeZone::UTC)
    }

    #[test]
    fn patterns_compile() {
        assert!(relative_re().is_some() && absolute_re().is_some() && part_re().is_some());
        assert!(
            epoch_re()
                .unwrap()
                .is_match("usage limit reached|1773150000")
        );
    }

    #[test]
    fn relative_durations() {
        assert_eq!(
            utc("Rate limited. Resets in 2h 13m."),
            Some(NOW + 2 * 3600 + 13 * 60)
        );
        assert_eq!(utc("429: retry after 120 seconds"), Some(NOW + 120));
        assert_eq!(utc("Retry-After: 90"), Some(NOW + 90));
        assert_eq!(utc("Please retry in 41.5s."), Some(NOW + 42));
        assert_eq!(
            utc(
                "You've hit your usage limit. Upgrade to Pro or try again in 4 days 20 hours 9 minutes."
            ),
            Some(NOW + 4 * 86_400 + 20 * 3600 + 9 * 60)
        );
        assert_eq!(utc("try again in 1 hour and 5 minutes"), Some(NOW + 3900));
    }

    #[test]
    fn times_of_day_and_dates() {
        assert_eq!(
            utc("You've hit your usage limit. Try again at 3:05 PM."),
            Some(NOW + 3 * 3600 + 300)
        );
        // Already past today: tomorrow.
        assert_eq!(utc("try again at 9:00 AM"), Some(NOW + 21 * 3600));
        assert_eq!(
            utc("5-hour limit reached ∙ resets 3pm"),
            Some(NOW + 3 * 3600)
        );
        let ny = utc("Your limit will reset at 3pm (America/New_York).").unwrap();
        assert_eq!(ny, 1_773_169_200); // 15:00 EDT = 19:00Z
        assert_eq!(
            utc("try again at 2026-03-10T18:30:00Z"),
            Some(NOW + 6 * 3600 + 1800)
        );
        assert_eq!(
            utc("try again at Mar 12th, 2026 8:10 PM"),
            Some(NOW + 2 * 86_400 + 8 * 3600 + 600)
        );
        let paris = TimeZone::get("Europe/Paris").unwrap();
        assert_eq!(
            reset_epoch("try again at 14:00", NOW, &paris),
            Some(NOW + 3600)
        );
    }

    #[test]
    fn epochs_in_messages() {
        assert_eq!(
            utc("Claude AI usage limit reached|1773150000"),
            Some(1_773_150_000)
        );
        assert_eq!(utc("X-RateLimit-Reset: 1773150000000"), Some(1_773_150_000));
    }

    #[test]
    fn the_last_statement_wins_and_nonsense_is_ignored() {
        assert_eq!(utc("resets in 5m\n...\nresets in 10m"), Some(NOW + 600));
        assert_eq!(utc("Please try again later."), None);
        assert_eq!(utc("retry 3 of 5"), None);
        assert_eq!(utc("try again in 30 days"), None);
        assert_eq!(utc("Claude AI usage limit reached|1000000000"), None);
        assert_eq!(utc("quota exceeded"), None);
    }
}
