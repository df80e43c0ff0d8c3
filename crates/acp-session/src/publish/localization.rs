//! The localization guard's rules: a branch that adds locale resources must
//! not leave obvious user-facing literals in the UI files it touches.
//!
//! Only lines of changed UI files are read (never run); a line that is blank,
//! a `//` comment, an import, or already goes through a translation call is
//! skipped. The first matching rule of a line is its finding.

use std::path::Path;

use regex::Regex;

/// Exit code of a blocked branch.
pub const BLOCKED: i32 = 44;

/// Findings shown in a report.
const SHOWN_MAX: usize = 20;

/// Largest UI file read (bigger files are read up to this size).
const FILE_CAP: u64 = 4 << 20;

fn re(p: &str) -> anyhow::Result<Regex> {
    Regex::new(p).map_err(|e| anyhow::anyhow!("bad localization pattern {p:?}: {e}"))
}

/// One suspicious line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub file: String,
    /// 1-based.
    pub line: usize,
    /// `validation_literal`, `string_prop` or `object_label_literal`.
    pub reason: &'static str,
    pub text: String,
}

/// What the guard concluded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    NoLocaleFiles,
    NoUiFiles,
    Ok {
        locale_files: usize,
        ui_files: usize,
    },
    Blocked(Vec<Finding>),
}

struct Rules {
    ui: Regex,
    locale: Regex,
    skip: Vec<Regex>,
    rules: Vec<(&'static str, Regex)>,
}

impl Rules {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            ui: re(r"^(?:apps/web/|apps/mobile/|packages/ui/).+\.[cm]?[jt]sx?$")?,
            locale: re(super::LOCALE_RESOURCE)?,
            skip: vec![
                re(r"^//")?,
                re(r"(?-u:\b)t\(")?,
                re(
                    r"(?-u:\b)useSafeTranslation(?-u:\b)|(?-u:\b)useTranslation(?-u:\b)|(?-u:\b)i18nKey=",
                )?,
                re(r"^import\s")?,
            ],
            rules: vec![
                (
                    "validation_literal",
                    re(
                        r#"\.(?:min|max|length|email|regex|nonempty)\([^)]*,\s*['"`][^'"`]*[A-Za-z][^'"`]*['"`]"#,
                    )?,
                ),
                (
                    "string_prop",
                    re(
                        r#"(?-u:\b)(?:title|description|actionLabel|aria-label|placeholder)\s*=\s*['"][^'{"][^'"]*[A-Za-z][^'"]*['"]"#,
                    )?,
                ),
                (
                    "object_label_literal",
                    re(r#"(?-u:\b)label\s*:\s*['"][A-Za-z][^'"]*['"]"#)?,
                ),
            ],
        })
    }

    fn skipped(&self, trimmed: &str) -> bool {
        trimmed.is_empty() || self.skip.iter().any(|r| r.is_match(trimmed))
    }

    fn scan(&self, file: &str, text: &str, out: &mut Vec<Finding>) {
        for (i, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let trimmed = line.trim();
            if self.skipped(trimmed) {
                continue;
            }
            if let Some((reason, _)) = self.rules.iter().find(|(_, r)| r.is_match(line)) {
                out.push(Finding {
                    file: file.to_string(),
                    line: i + 1,
                    reason,
                    text: trimmed.to_string(),
                });
            }
        }
    }
}

/// Checks the changed `files` of the branch checked out in `worktree`.
/// A changed file that is missing or not a regular file is skipped.
pub fn check(worktree: &Path, files: &[String]) -> anyhow::Result<Verdict> {
    let r = Rules::new()?;
    let locale = files.iter().filter(|f| r.locale.is_match(f)).count();
    if locale == 0 {
        return Ok(Verdict::NoLocaleFiles);
    }
    let ui: Vec<&String> = files.iter().filter(|f| r.ui.is_match(f)).collect();
    if ui.is_empty() {
        return Ok(Verdict::NoUiFiles);
    }
    let mut findings = Vec::new();
    for f in &ui {
        let path = worktree.join(f.as_str());
        // A FIFO, a directory or a symlink (it could point outside the
        // worktree) named like a source file is not read.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            continue;
        }
        let Ok(bytes) = acp_core::fsx::read_regular(&path, FILE_CAP) else {
            continue;
        };
        r.scan(f, &String::from_utf8_lossy(&bytes), &mut findings);
    }
    if findings.is_empty() {
        return Ok(Verdict::Ok {
            locale_files: locale,
            ui_files: ui.len(),
        });
    }
    Ok(Verdict::Blocked(findings))
}

/// The report of a blocked branch; its first line is what reconcile
/// recognises.
pub fn report(findings: &[Finding]) -> String {
    let mut out = String::from(
        "Localization guard blocked branch publication.\n\n\
         Locale resources changed, yet touched UI files still hold user-facing text \
         that does not go through a translation key.\n\nWhy it was blocked:\n",
    );
    for f in findings.iter().take(SHOWN_MAX) {
        out.push_str(&format!(
            "- {}: {}:{} -> {}\n",
            f.reason, f.file, f.line, f.text
        ));
    }
    out.push_str(
        "\nRequired next step:\n- put the remaining user-facing text behind translation keys, \
         then publish the branch again\n",
    );
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn literals_in_touched_ui_files_are_found() {
        let dir = tempfile::tempdir().unwrap();
        let ui = "apps/web/src/Wizard.tsx";
        std::fs::create_dir_all(dir.path().join("apps/web/src")).unwrap();
        std::fs::write(
            dir.path().join(ui),
            "import x from 'y';\n\
             // placeholder=\"Comment\"\n\
             const s = z.string().min(1, 'First name is required');\n\
             return <input placeholder=\"John\" aria-label=\"First\" />;\n\
             const o = { label: 'Save' };\n\
             const ok = <input placeholder={t('a', 'First')} />;\n\
             const k = <input placeholder=\"{x}\" />;\n",
        )
        .unwrap();
        let files = vec![ui.to_string(), "packages/i18n/src/resources/en.json".into()];
        let Verdict::Blocked(f) = check(dir.path(), &files).unwrap() else {
            panic!("not blocked");
        };
        let got: Vec<(usize, &str)> = f.iter().map(|x| (x.line, x.reason)).collect();
        assert_eq!(
            got,
            [
                (3, "validation_literal"),
                (4, "string_prop"),
                (5, "object_label_literal")
            ]
        );
        let r = report(&f);
        assert!(r.starts_with("Localization guard blocked branch publication.\n"));
        assert!(r.contains("- string_prop: apps/web/src/Wizard.tsx:4 -> return <input"));
    }

    #[test]
    fn a_symlinked_ui_file_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("secret.txt");
        std::fs::write(&outside, "<a title=\"host secret\" />\n").unwrap();
        let wt = dir.path().join("wt");
        std::fs::create_dir_all(wt.join("apps/web")).unwrap();
        std::os::unix::fs::symlink(&outside, wt.join("apps/web/a.tsx")).unwrap();
        let files = vec![
            "apps/web/a.tsx".to_string(),
            "packages/i18n/src/resources/en.json".into(),
        ];
        assert!(matches!(check(&wt, &files).unwrap(), Verdict::Ok { .. }));
    }

    #[test]
    fn nothing_to_check_without_locale_or_ui_files() {
        let d = tempfile::tempdir().unwrap();
        let ui = vec!["apps/web/a.tsx".to_string()];
        assert_eq!(check(d.path(), &ui).unwrap(), Verdict::NoLocaleFiles);
        let loc = vec!["packages/i18n/src/resources/fr.json".to_string()];
        assert_eq!(check(d.path(), &loc).unwrap(), Verdict::NoUiFiles);
        let both = [ui, loc].concat();
        assert_eq!(
            check(d.path(), &both).unwrap(),
            Verdict::Ok {
                locale_files: 1,
                ui_files: 1
            }
        );
    }
}
