//! The retry/cooldown records under `<state>/retries/<kind>s/<id>.env`.
//!
//! A record holds `ATTEMPTS`, `NEXT_ATTEMPT_EPOCH`, `NEXT_ATTEMPT_AT`,
//! `LAST_REASON` and `UPDATED_AT`. Files are parsed leniently (never run as
//! code: hooks append raw lines such as `BASELINE_HEAD_SHA=`), and written
//! atomically with every value `%q`-quoted, which leaves numbers and UTC
//! timestamps bare so `grep ^ATTEMPTS=2$` keeps matching.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use acp_core::envfile::{self, EnvFile, Mode};
use acp_core::shellquote::QuoteLocale;
use acp_core::{fail, fsx};
use anyhow::Context;

/// What the record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Issue,
    Pr,
    Provider,
}

impl Kind {
    /// `issue`, `pr` or `provider`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "issue" => Some(Self::Issue),
            "pr" => Some(Self::Pr),
            "provider" => Some(Self::Provider),
            _ => None,
        }
    }

    /// The word used on the command line and in the output.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issue => "issue",
            Self::Pr => "pr",
            Self::Provider => "provider",
        }
    }

    /// The directory under `<state>/retries/`.
    pub fn dir_name(self) -> &'static str {
        match self {
            Self::Issue => "issues",
            Self::Pr => "prs",
            Self::Provider => "providers",
        }
    }
}

/// What to do with the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Get,
    Schedule,
    Clear,
}

impl Action {
    /// `get`, `schedule` or `clear`.
    pub fn parse(word: &str) -> Option<Self> {
        match word {
            "get" => Some(Self::Get),
            "schedule" => Some(Self::Schedule),
            "clear" => Some(Self::Clear),
            _ => None,
        }
    }
}

/// One record as stored (values kept as found, for `get`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Record {
    pub attempts: String,
    pub next_attempt_epoch: String,
    pub next_attempt_at: String,
    pub last_reason: OsString,
    pub updated_at: String,
}

impl Record {
    /// The empty record of an item that has no file.
    pub fn fresh() -> Self {
        Self {
            attempts: "0".into(),
            next_attempt_epoch: "0".into(),
            ..Self::default()
        }
    }

    /// Whether the item may be retried at `now` (`READY=yes`): only a
    /// decimal next-attempt epoch later than now holds it back.
    pub fn ready_at(&self, now: i64) -> bool {
        let epoch = self.next_attempt_epoch.as_str();
        if epoch.is_empty() || !epoch.bytes().all(|b| b.is_ascii_digit()) {
            return true;
        }
        match epoch.parse::<u128>() {
            Ok(v) => v <= u128::try_from(now.max(0)).unwrap_or(0),
            // More digits than fit: far in the future.
            Err(_) => false,
        }
    }
}

/// Checks that `id` names a file directly inside the retry directory.
pub fn check_item_id(id: &OsStr) -> Result<(), String> {
    let bytes = id.as_bytes();
    let shown = id.to_string_lossy();
    if bytes.is_empty() {
        return Err("item id must not be empty".into());
    }
    if bytes.contains(&b'/') || bytes == b"." || bytes == b".." {
        return Err(format!(
            "item id must be a plain name, not a path: {}",
            shown.escape_debug()
        ));
    }
    if bytes.iter().any(|b| b.is_ascii_control()) {
        return Err(format!(
            "item id must not contain control characters: {}",
            shown.escape_debug()
        ));
    }
    Ok(())
}

/// `<state_root>/retries/<kind>s`.
pub fn kind_dir(state_root: &Path, kind: Kind) -> PathBuf {
    state_root.join("retries").join(kind.dir_name())
}

/// `<state_root>/retries/<kind>s/<id>.env`, refusing ids that would leave
/// that directory.
pub fn state_file(state_root: &Path, kind: Kind, id: &OsStr) -> anyhow::Result<PathBuf> {
    check_item_id(id).map_err(|m| fail(1, m))?;
    let mut name = id.to_os_string();
    name.push(".env");
    Ok(kind_dir(state_root, kind).join(name))
}

/// Parses the comma-separated cooldown list (seconds). Like the original's
/// `read -a`, only the first line counts and one trailing empty field is
/// ignored; every other field must be an integer.
pub fn parse_cooldowns(csv: &str) -> Result<Vec<i64>, String> {
    let line = csv.split('\n').next().unwrap_or_default();
    let mut fields: Vec<&str> = line.split(',').collect();
    if fields.last() == Some(&"") {
        fields.pop();
    }
    if fields.is_empty() {
        return Err("the cooldown list is empty".into());
    }
    fields
        .iter()
        .map(|f| {
            f.trim().parse::<i64>().map_err(|_| {
                format!("invalid cooldown {f:?} in {csv:?} (want seconds, e.g. 300,900)")
            })
        })
        .collect()
}

/// The cooldown for the `attempt`-th failure: the attempt's entry, the last
/// entry once the list runs out, the first for attempts below 1.
pub fn cooldown_for_attempt(cooldowns: &[i64], attempt: i64) -> i64 {
    let last = cooldowns.len().saturating_sub(1);
    let index = usize::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(last);
    cooldowns.get(index).copied().unwrap_or(0)
}

/// A record read from disk.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub record: Record,
    pub exists: bool,
}

/// Reads the record at `path` (a missing file, or anything that is not a
/// regular file, is a fresh record).
pub fn load(path: &Path) -> anyhow::Result<Loaded> {
    if !path.is_file() {
        return Ok(Loaded {
            record: Record::fresh(),
            exists: false,
        });
    }
    let file = EnvFile::load_with(path, Mode::Lenient)?;
    let text = |key: &str| file.get(key).filter(|v| !v.is_empty());
    Ok(Loaded {
        record: Record {
            attempts: text("ATTEMPTS").unwrap_or_else(|| "0".into()),
            next_attempt_epoch: text("NEXT_ATTEMPT_EPOCH").unwrap_or_else(|| "0".into()),
            next_attempt_at: text("NEXT_ATTEMPT_AT").unwrap_or_default(),
            last_reason: file
                .get_os("LAST_REASON")
                .map(OsStr::to_os_string)
                .unwrap_or_default(),
            updated_at: text("UPDATED_AT").unwrap_or_default(),
        },
        exists: true,
    })
}

/// Writes the five keys of `record` to `path`, atomically.
pub fn save(path: &Path, record: &Record, locale: QuoteLocale) -> anyhow::Result<()> {
    let pairs: [(&str, &OsStr); 5] = [
        ("ATTEMPTS", OsStr::new(&record.attempts)),
        ("NEXT_ATTEMPT_EPOCH", OsStr::new(&record.next_attempt_epoch)),
        ("NEXT_ATTEMPT_AT", OsStr::new(&record.next_attempt_at)),
        ("LAST_REASON", record.last_reason.as_os_str()),
        ("UPDATED_AT", OsStr::new(&record.updated_at)),
    ];
    let mut bytes = Vec::new();
    for (key, value) in pairs {
        if value.is_empty() && key != "LAST_REASON" {
            // Bare `KEY=` as the original wrote it (not `KEY=''`).
            bytes.extend_from_slice(key.as_bytes());
            bytes.extend_from_slice(b"=\n");
        } else {
            bytes.extend(envfile::format_assignment(key, value.as_bytes(), locale));
        }
    }
    fsx::atomic_write(path, &bytes)
}

/// The result of one operation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub record: Record,
    pub ready: bool,
    /// Lines for stderr about values in the file that were not usable.
    pub warnings: Vec<String>,
}

/// Everything one operation needs.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub state_root: &'a Path,
    pub kind: Kind,
    pub item_id: &'a OsStr,
    pub action: Action,
    pub reason: &'a OsStr,
    /// The raw cooldown list; only parsed when scheduling.
    pub cooldowns: &'a str,
    /// `schedule --until EPOCH`: the next attempt waits until then (when it
    /// lies after `now`) instead of the attempt's cooldown, e.g. the reset
    /// time a provider's quota message gave.
    pub until: Option<i64>,
    pub now: i64,
    pub locale: QuoteLocale,
}

/// When the next attempt may run: `until` when it lies after `now`, else
/// `now` plus the attempt's cooldown. A provider's pending cooldown is
/// never shortened by a later failure (its known reset time stands), so
/// no launch on it burns an attempt before the quota is back.
pub fn next_attempt(
    kind: Kind,
    previous_next: &str,
    until: Option<i64>,
    cooldown: i64,
    now: i64,
) -> i64 {
    let next = match until {
        Some(u) if u > now => u,
        _ => now.saturating_add(cooldown),
    };
    let pending = previous_next
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|p| *p > now);
    match (kind, pending) {
        (Kind::Provider, Some(p)) => next.max(p),
        _ => next,
    }
}

/// Runs `get`, `schedule` or `clear` on one record. `schedule` and `clear`
/// hold the record's lock ([`fsx::Lock::beside`]) from the read to the
/// write, so concurrent calls for one item are serialised and none is lost.
pub fn apply(req: &Request<'_>) -> anyhow::Result<Outcome> {
    let path = state_file(req.state_root, req.kind, req.item_id)?;
    fsx::create_dir_all(&kind_dir(req.state_root, req.kind))?;
    let _lock = match req.action {
        Action::Get => None,
        Action::Schedule | Action::Clear => Some(fsx::Lock::beside(&path)?),
    };
    let mut warnings = Vec::new();
    let record = match req.action {
        Action::Get => load(&path)?.record,
        Action::Schedule => {
            let cooldowns = parse_cooldowns(req.cooldowns).map_err(|m| fail(1, m))?;
            let previous = load(&path)?.record;
            let attempts_before = match previous.attempts.trim().parse::<i64>() {
                Ok(n) => n,
                Err(_) => {
                    warnings.push(format!(
                        "{}: ignoring non-numeric ATTEMPTS={:?}, counting from 0",
                        path.display(),
                        previous.attempts
                    ));
                    0
                }
            };
            let attempts = attempts_before.saturating_add(1);
            let next = next_attempt(
                req.kind,
                &previous.next_attempt_epoch,
                req.until,
                cooldown_for_attempt(&cooldowns, attempts),
                req.now,
            );
            let updated_at = acp_core::time::epoch_to_utc_iso(req.now);
            let record = Record {
                attempts: attempts.to_string(),
                next_attempt_epoch: next.to_string(),
                next_attempt_at: if next == 0 {
                    String::new()
                } else {
                    acp_core::time::epoch_to_utc_iso(next)
                },
                last_reason: req.reason.to_os_string(),
                updated_at,
            };
            save(&path, &record, req.locale)?;
            record
        }
        Action::Clear => {
            match std::fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("failed to remove {}", path.display()));
                }
            }
            Record::fresh()
        }
    };
    let ready = record.ready_at(req.now);
    Ok(Outcome {
        record,
        ready,
        warnings,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn cooldowns_follow_the_attempt_and_stick_to_the_last() {
        let c = parse_cooldowns("300,900,1800,3600").unwrap();
        assert_eq!(cooldown_for_attempt(&c, 0), 300);
        assert_eq!(cooldown_for_attempt(&c, 1), 300);
        assert_eq!(cooldown_for_attempt(&c, 2), 900);
        assert_eq!(cooldown_for_attempt(&c, 4), 3600);
        assert_eq!(cooldown_for_attempt(&c, 99), 3600);
        assert_eq!(cooldown_for_attempt(&c, -3), 300);
    }

    #[test]
    fn cooldown_list_parsing() {
        assert_eq!(parse_cooldowns("5, 10,").unwrap(), vec![5, 10]);
        assert_eq!(parse_cooldowns("7\n8").unwrap(), vec![7]);
        assert!(parse_cooldowns("").is_err());
        assert!(parse_cooldowns("5,,10").is_err());
        assert!(parse_cooldowns("5,ten").is_err());
    }

    #[test]
    fn item_ids_cannot_leave_the_directory() {
        for bad in ["", ".", "..", "a/b", "../x", "/abs", "a\nb"] {
            assert!(check_item_id(OsStr::new(bad)).is_err(), "{bad:?}");
        }
        for ok in ["123", "..x", "a b", "codex-f_losning_safe-mihanh1", "x.."] {
            assert!(check_item_id(OsStr::new(ok)).is_ok(), "{ok:?}");
        }
    }

    #[test]
    fn until_replaces_the_back_off_and_provider_cooldowns_never_shrink() {
        assert_eq!(next_attempt(Kind::Issue, "0", None, 300, 1000), 1300);
        assert_eq!(next_attempt(Kind::Issue, "0", Some(5000), 300, 1000), 5000);
        assert_eq!(next_attempt(Kind::Issue, "0", Some(900), 300, 1000), 1300);
        assert_eq!(next_attempt(Kind::Issue, "9000", None, 300, 1000), 1300);
        assert_eq!(next_attempt(Kind::Provider, "9000", None, 300, 1000), 9000);
        assert_eq!(
            next_attempt(Kind::Provider, "9000", Some(12000), 300, 1000),
            12000
        );
        assert_eq!(next_attempt(Kind::Provider, "999", None, 300, 1000), 1300);
        assert_eq!(next_attempt(Kind::Provider, "soon", None, 300, 1000), 1300);
    }

    #[test]
    fn readiness() {
        let mut r = Record::fresh();
        assert!(r.ready_at(100));
        r.next_attempt_epoch = "101".into();
        assert!(!r.ready_at(100));
        r.next_attempt_epoch = "100".into();
        assert!(r.ready_at(100));
        r.next_attempt_epoch = "soon".into();
        assert!(r.ready_at(100));
        r.next_attempt_epoch = "99999999999999999999999999999999999999999".into();
        assert!(!r.ready_at(100));
    }
}
