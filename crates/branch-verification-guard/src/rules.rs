//! The classification of changed files and the matching of recorded commands.
//!
//! The patterns are the contract the original tool (a JavaScript program)
//! defined; [`js`] turns its regular-expression dialect into the `regex`
//! crate's: `\b` is an ASCII word boundary, `\s` is JavaScript's whitespace
//! set and `.` stops at line terminators. Case-insensitive rules compare
//! ASCII-lowercased names with lowercase patterns, which is what a
//! JavaScript `/i` pattern made only of ASCII does.

use regex::Regex;

/// JavaScript's `\s` set, for use inside a character class.
const JS_SPACE: &str =
    r"\t\n\x0B\x0C\r \xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";
/// JavaScript's `.` without the `s` flag.
const JS_DOT: &str = r"[^\n\r\x{2028}\x{2029}]";

/// Translates a JavaScript regular expression (no flags) into `regex` syntax.
fn js(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut in_class = false;
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('b') if !in_class => out.push_str(r"(?-u:\b)"),
                Some('s') if in_class => out.push_str(JS_SPACE),
                Some('s') => {
                    out.push('[');
                    out.push_str(JS_SPACE);
                    out.push(']');
                }
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push_str(r"\\"),
            },
            '[' if !in_class => {
                in_class = true;
                out.push(c);
            }
            ']' if in_class => {
                in_class = false;
                out.push(c);
            }
            '.' if !in_class => out.push_str(JS_DOT),
            _ => out.push(c),
        }
    }
    out
}

fn re(pattern: &str) -> anyhow::Result<Regex> {
    Regex::new(&js(pattern)).map_err(|e| anyhow::anyhow!("bad guard pattern {pattern:?}: {e}"))
}

fn res(patterns: &[&str]) -> anyhow::Result<Vec<Regex>> {
    patterns.iter().map(|p| re(p)).collect()
}

fn any_match(patterns: &[Regex], text: &str) -> bool {
    patterns.iter().any(|p| p.is_match(text))
}

/// JavaScript's `String.prototype.trim` (Unicode spaces, line terminators, BOM).
fn js_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}')
}

/// The commands of the `"status":"pass"` entries of a verification journal,
/// trimmed, empty ones dropped. Lines that are not JSON are skipped.
pub fn passed_commands(journal: &str) -> Vec<String> {
    journal
        .split('\n')
        .map(js_trim)
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v.get("status").and_then(|s| s.as_str()) == Some("pass"))
        .filter_map(|v| {
            v.get("command")
                .and_then(|c| c.as_str())
                .map(str::to_string)
        })
        .map(|c| js_trim(&c).to_string())
        .filter(|c| !c.is_empty())
        .collect()
}

/// What the guard decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Only documentation/spec files changed.
    DocsOnly,
    /// Enough evidence; `commands` successful commands were recorded.
    Verified { commands: usize },
    /// Not enough evidence: the report for stderr (ends with a newline).
    Blocked { report: String },
}

/// Reasons, exactly as callers and agents read them.
pub mod reason {
    pub const NO_JOURNAL: &str =
        "missing verification journal or no successful verification commands were recorded";
    pub const GENERATED: &str =
        "generated agent/session artifacts were included in the branch diff";
    pub const LOCKFILE: &str =
        "lockfile changes were introduced without dependency manifest changes";
    pub const I18N_VALIDATE: &str = "missing i18n validate command for locale resource changes";
    pub const I18N_SCAN: &str = "missing i18n scan-hardcoded command for locale resource changes";
    pub const API_TYPECHECK: &str = "missing API typecheck or repo typecheck for API changes";
    pub const API_CONFIDENCE: &str =
        "missing API confidence verification (lint, build, or test) for API changes";
    pub const WEB: &str = "missing Web verification command for web changes";
    pub const MOBILE: &str = "missing Mobile verification command for mobile changes";
    pub const PACKAGE_PREFIX: &str = "missing shared package verification for packages/";
    pub const TESTS: &str = "changed test files were not covered by a targeted test command";
}

/// Kinds of changed files (ported from the original's rules).
struct FileRules {
    test_ext: Regex,
    locale: Regex,
    generated: Vec<Regex>,
    lockfile: Regex,
    manifest: Vec<Regex>,
    code_ext: Regex,
    test_suffix: Regex,
    narrow_api: Regex,
}

impl FileRules {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            test_ext: re(r"\.(?:spec|test)\.[cm]?[jt]sx?$")?,
            locale: re(r"^packages/i18n/src/resources/[^/]+\.json$")?,
            // Matched against ASCII-lowercased names.
            generated: res(&[
                r"^\.agent-session\.env$",
                r"^(?:\.openclaw-artifacts|\.openclaw)(?:/|$)",
                r"^(?:soul|tools|identity|user|heartbeat|bootstrap)\.md$",
            ])?,
            lockfile: re(
                r"(?:^|/)(?:pnpm-lock\.yaml|package-lock\.json|yarn\.lock|bun\.lockb|npm-shrinkwrap\.json)$",
            )?,
            manifest: res(&[
                r"(?:^|/)package\.json$",
                r"(?:^|/)pnpm-workspace\.yaml$",
                r"(?:^|/)\.npmrc$",
                r"(?:^|/)\.yarnrc(?:\.yml)?$",
                r"(?:^|/)bunfig\.toml$",
            ])?,
            code_ext: re(r"\.[cm]?[jt]sx?$")?,
            test_suffix: re(r"\.(spec|test)$")?,
            narrow_api: re(
                r"(?:^|/)(?:services?|utils?|helpers?|policies?)/|(?:\.service|\.util|\.helper|\.policy)\.[cm]?[jt]s$",
            )?,
        })
    }

    fn is_doc(&self, f: &str) -> bool {
        f.starts_with("openspec/")
            || f.starts_with("docs/")
            || f == "scripts/README.md"
            || f == "AGENTS.md"
            || f.to_ascii_lowercase().ends_with(".md")
    }

    fn is_test(&self, f: &str) -> bool {
        under(f, "__tests__") || under(f, "e2e") || self.test_ext.is_match(f)
    }

    fn is_locale(&self, f: &str) -> bool {
        self.locale.is_match(f)
    }

    fn is_generated(&self, f: &str) -> bool {
        any_match(&self.generated, &f.to_ascii_lowercase())
    }

    fn is_lockfile(&self, f: &str) -> bool {
        self.lockfile.is_match(&f.to_ascii_lowercase())
    }

    fn is_manifest(&self, f: &str) -> bool {
        any_match(&self.manifest, &f.to_ascii_lowercase())
    }

    /// Lowercased, backslashes turned into slashes.
    fn normalize(f: &str) -> String {
        f.replace('\\', "/").to_lowercase()
    }

    fn strip_code_ext(&self, f: &str) -> String {
        let n = Self::normalize(f);
        strip_match(&self.code_ext, &n)
    }

    fn strip_test_suffix(&self, f: &str) -> String {
        strip_match(&self.test_suffix, &self.strip_code_ext(f))
    }

    /// Texts one of which a command must contain to count as covering test `f`.
    fn anchors(&self, f: &str) -> Vec<String> {
        let segments: Vec<String> = Self::normalize(f)
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let last_two = segments[segments.len().saturating_sub(2)..].join("/");
        unique(vec![
            self.strip_code_ext(&last_two),
            self.strip_code_ext(basename(f)),
            basename(&self.strip_test_suffix(f)).to_string(),
        ])
    }
}

/// Removes the (end-anchored) match of `re` from `text`. The patterns are
/// ASCII-only and the text is already lowercased, so matching the
/// ASCII-lowercased text finds the same span a case-insensitive match would.
fn strip_match(re: &Regex, text: &str) -> String {
    match re.find(&text.to_ascii_lowercase()) {
        Some(m) => format!("{}{}", &text[..m.start()], &text[m.end()..]),
        None => text.to_string(),
    }
}

/// `dir/` at the start of `f` or after a slash.
fn under(f: &str, dir: &str) -> bool {
    let needle = format!("{dir}/");
    f.starts_with(&needle) || f.contains(&format!("/{needle}"))
}

fn basename(f: &str) -> &str {
    let t = f.trim_end_matches('/');
    match t.rfind('/') {
        Some(i) => &t[i + 1..],
        None => t,
    }
}

fn unique(values: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        if !v.is_empty() && !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// Patterns that scope a command to `apps/<name>` (`--filter [@scope/]name`,
/// a path under `apps/<name>`).
fn workspace_scope(name: &str) -> anyhow::Result<Vec<Regex>> {
    let n = regex::escape(name);
    Ok(vec![
        re(&format!(r"--filter(?:=|\s+)(?:@[^/\s]+/)?{n}\b"))?,
        re(&format!(r"(?:\bapps/{n}\b|(?:--dir|-C)\s+apps/{n}\b)"))?,
    ])
}

/// Patterns that scope a command to `packages/<name>`.
fn package_scope(name: &str) -> anyhow::Result<Vec<Regex>> {
    let n = regex::escape(name);
    Ok(vec![
        re(&format!(r"--filter(?:=|\s+)(?:@[^/\s]+/)?{n}\b"))?,
        re(&format!(r"@[^/\s]+/{n}\b"))?,
        re(&format!(
            r"(?:\bpackages/{n}\b|(?:--dir|-C)\s+packages/{n}\b)"
        ))?,
    ])
}

/// The lowercased successful commands.
struct Evidence {
    commands: Vec<String>,
}

impl Evidence {
    fn has(&self, patterns: &[Regex]) -> bool {
        self.commands.iter().any(|c| any_match(patterns, c))
    }

    fn has_scoped(&self, scope: &[Regex], actions: &[Regex]) -> bool {
        self.commands
            .iter()
            .any(|c| any_match(scope, c) && any_match(actions, c))
    }
}

/// A changed test file and whether a command covers it.
struct TestCoverage {
    file: String,
    anchors: Vec<String>,
    covered: bool,
}

fn runner_covers(file: &str, command: &str, playwright: &Regex, device: &Regex) -> bool {
    if under(file, "e2e") {
        playwright.is_match(command)
    } else if file.starts_with("apps/mobile/") {
        device.is_match(command)
    } else {
        false
    }
}

/// The changed files sorted into the kinds the rules look at.
struct Changes<'a> {
    /// Neither documentation, tests nor locale resources.
    product: Vec<&'a String>,
    tests: Vec<&'a String>,
    locale_touched: bool,
    generated: Vec<String>,
    lockfiles: Vec<String>,
    manifests_changed: bool,
    api_touched: bool,
    web_touched: bool,
    mobile_touched: bool,
    /// Product files under `apps/api/`.
    api_product: Vec<&'a String>,
    /// Names of the `packages/<name>` holding product files.
    packages: Vec<String>,
}

impl<'a> Changes<'a> {
    fn classify(fr: &FileRules, files: &'a [String]) -> Self {
        let product: Vec<&String> = files
            .iter()
            .filter(|f| !fr.is_doc(f) && !fr.is_test(f) && !fr.is_locale(f))
            .collect();
        let in_app = |app: &str| {
            let prefix = format!("apps/{app}/");
            product.iter().any(|f| f.starts_with(&prefix))
        };
        let only = |keep: &dyn Fn(&str) -> bool| {
            unique(files.iter().filter(|f| keep(f)).cloned().collect())
        };
        Self {
            tests: files.iter().filter(|f| fr.is_test(f)).collect(),
            locale_touched: files.iter().any(|f| fr.is_locale(f)),
            generated: only(&|f| fr.is_generated(f)),
            lockfiles: only(&|f| fr.is_lockfile(f)),
            manifests_changed: files.iter().any(|f| fr.is_manifest(f)),
            api_touched: in_app("api"),
            web_touched: in_app("web"),
            mobile_touched: in_app("mobile"),
            api_product: product
                .iter()
                .copied()
                .filter(|f| f.starts_with("apps/api/"))
                .collect(),
            packages: unique(
                product
                    .iter()
                    .filter(|f| f.starts_with("packages/"))
                    .filter_map(|f| f.split('/').nth(1))
                    .map(str::to_string)
                    .collect(),
            ),
            product,
        }
    }

    /// Nothing but documentation and spec files changed.
    fn docs_only(&self) -> bool {
        self.product.is_empty() && !self.locale_touched && self.tests.is_empty()
    }

    /// Lockfiles changed without a dependency manifest.
    fn lockfile_problem(&self) -> bool {
        !self.lockfiles.is_empty() && !self.manifests_changed
    }
}

/// Which changed test files a recorded command covers.
fn test_coverage(
    fr: &FileRules,
    tests: &[&String],
    ev: &Evidence,
) -> anyhow::Result<Vec<TestCoverage>> {
    let playwright = re(r"\bplaywright\b")?;
    let device = re(r"\b(?:detox|maestro)\b")?;
    Ok(tests
        .iter()
        .map(|f| {
            let anchors = fr.anchors(f);
            let covered = ev.commands.iter().any(|c| {
                anchors.iter().any(|a| c.contains(a.as_str()))
                    || runner_covers(f, c, &playwright, &device)
            });
            TestCoverage {
                file: (*f).clone(),
                anchors,
                covered,
            }
        })
        .collect())
}

/// Repository-wide checks found among the commands.
struct RootChecks {
    typecheck: bool,
    build: bool,
    lint: bool,
    test: bool,
}

impl RootChecks {
    fn find(ev: &Evidence) -> anyhow::Result<Self> {
        let root = |word: &str| -> anyhow::Result<bool> {
            Ok(ev.has(&res(&[
                &format!(r"\bpnpm (?:run )?{word}\b"),
                &format!(r"\bturbo\b.*\b{word}\b"),
            ])?))
        };
        Ok(Self {
            typecheck: root("typecheck")?,
            build: root("build")?,
            lint: root("lint")?,
            test: root("test")?,
        })
    }

    fn any(&self) -> bool {
        self.typecheck || self.build || self.lint || self.test
    }
}

/// The checks a workspace command may run to count as verification.
fn check_patterns() -> anyhow::Result<Vec<Regex>> {
    res(&[
        r"\blint\b",
        r"\btypecheck\b",
        r"\bbuild\b",
        r"\btest\b",
        r"\bjest\b",
        r"\bvitest\b",
    ])
}

/// Missing i18n validation and hard-coded string scan for locale changes.
fn i18n_reasons(ev: &Evidence, reasons: &mut Vec<String>) -> anyhow::Result<()> {
    let i18n_pkg = r"(?:@[^/\s]+/i18n\b|--filter(?:=|\s+)(?:@[^/\s]+/i18n|i18n)\b)";
    let validate = res(&[
        &format!(r"{i18n_pkg}.*?\bvalidate\b"),
        r"\bi18n-validation\b",
        r"\bi18n-gate\b",
        r"\b(?:i18n|locale|translation|translations)\b.*\bvalidate\b",
    ])?;
    if !ev.has(&validate) {
        reasons.push(reason::I18N_VALIDATE.to_string());
    }
    let scan = res(&[
        &format!(r"{i18n_pkg}.*?\b(?:scan-hardcoded|i18n:scan)\b"),
        r"\bi18n-checks\b",
        r"\bi18n-gate\b",
        r"\b(?:i18n|locale|translation|translations)\b.*\b(?:scan-hardcoded|i18n:scan|scan)\b",
    ])?;
    if !ev.has(&scan) {
        reasons.push(reason::I18N_SCAN.to_string());
    }
    Ok(())
}

/// Missing API typecheck and confidence checks; a narrow API slice (one or
/// two service/util/helper/policy files with covered tests and a scoped
/// confidence check) needs no typecheck.
fn api_reasons(
    fr: &FileRules,
    changes: &Changes<'_>,
    coverage: &[TestCoverage],
    ev: &Evidence,
    root: &RootChecks,
    reasons: &mut Vec<String>,
) -> anyhow::Result<()> {
    let api_scope = workspace_scope("api")?;
    let confidence = res(&[
        r"\blint\b",
        r"\bbuild\b",
        r"\btest\b",
        r"\bjest\b",
        r"\bvitest\b",
    ])?;
    let api_typecheck = ev.has_scoped(&api_scope, &res(&[r"\btypecheck\b", r"\btsc --noemit\b"])?);
    let api_confidence = ev.has_scoped(&api_scope, &confidence);
    let api_tests: Vec<&TestCoverage> = coverage
        .iter()
        .filter(|t| t.file.starts_with("apps/api/"))
        .collect();
    let narrow_slice = (1..=2).contains(&changes.api_product.len())
        && changes
            .api_product
            .iter()
            .all(|f| fr.narrow_api.is_match(f))
        && !api_tests.is_empty()
        && api_tests.iter().all(|t| t.covered)
        && api_confidence;
    if !(api_typecheck || root.typecheck || narrow_slice) {
        reasons.push(reason::API_TYPECHECK.to_string());
    }
    if !(api_confidence || root.build || root.lint || root.test) {
        reasons.push(reason::API_CONFIDENCE.to_string());
    }
    Ok(())
}

/// Missing Web, Mobile and (when no app changed) shared package checks.
fn app_reasons(
    changes: &Changes<'_>,
    ev: &Evidence,
    root: &RootChecks,
    reasons: &mut Vec<String>,
) -> anyhow::Result<()> {
    let checks = check_patterns()?;
    if changes.web_touched && !(ev.has_scoped(&workspace_scope("web")?, &checks) || root.any()) {
        reasons.push(reason::WEB.to_string());
    }
    if changes.mobile_touched {
        let mut mobile_checks = checks.clone();
        mobile_checks.push(re(r"\bdetox\b")?);
        mobile_checks.push(re(r"\bmaestro\b")?);
        let device_runs = ev.has(&res(&[r"\bdetox\b", r"\bmaestro\b"])?);
        if !(ev.has_scoped(&workspace_scope("mobile")?, &mobile_checks)
            || root.any()
            || device_runs)
        {
            reasons.push(reason::MOBILE.to_string());
        }
    }
    if !changes.api_touched && !changes.web_touched && !changes.mobile_touched {
        for pkg in &changes.packages {
            if !(ev.has_scoped(&package_scope(pkg)?, &checks) || root.any()) {
                reasons.push(format!("{}{pkg}", reason::PACKAGE_PREFIX));
            }
        }
    }
    Ok(())
}

/// Every reason the evidence is not enough, in the report's order.
fn block_reasons(
    fr: &FileRules,
    changes: &Changes<'_>,
    coverage: &[TestCoverage],
    ev: &Evidence,
    no_commands: bool,
) -> anyhow::Result<Vec<String>> {
    let mut reasons: Vec<String> = Vec::new();
    if no_commands {
        reasons.push(reason::NO_JOURNAL.to_string());
    }
    if !changes.generated.is_empty() {
        reasons.push(reason::GENERATED.to_string());
    }
    if changes.lockfile_problem() {
        reasons.push(reason::LOCKFILE.to_string());
    }
    if changes.locale_touched {
        i18n_reasons(ev, &mut reasons)?;
    }
    let root = RootChecks::find(ev)?;
    if changes.api_touched {
        api_reasons(fr, changes, coverage, ev, &root, &mut reasons)?;
    }
    app_reasons(changes, ev, &root, &mut reasons)?;
    if coverage.iter().any(|t| !t.covered) {
        reasons.push(reason::TESTS.to_string());
    }
    Ok(reasons)
}

/// Judges `files` (paths relative to the repository root) against the
/// successful `commands`; `journal` is the journal path shown in a report.
pub fn evaluate(files: &[String], commands: &[String], journal: &str) -> anyhow::Result<Verdict> {
    let fr = FileRules::new()?;
    let changes = Changes::classify(&fr, files);
    if changes.docs_only() {
        return Ok(Verdict::DocsOnly);
    }
    let ev = Evidence {
        commands: commands.iter().map(|c| c.to_lowercase()).collect(),
    };
    let coverage = test_coverage(&fr, &changes.tests, &ev)?;
    let reasons = block_reasons(&fr, &changes, &coverage, &ev, commands.is_empty())?;
    if reasons.is_empty() {
        return Ok(Verdict::Verified {
            commands: commands.len(),
        });
    }
    Ok(Verdict::Blocked {
        report: blocked_report(&reasons, &changes, &coverage, commands, journal),
    })
}

/// Lists a section's files, at most 15.
fn file_section(r: &mut Report, heading: &str, files: &[impl AsRef<str>]) {
    r.section(heading);
    for f in files.iter().take(15) {
        r.bullet(&display_name(f.as_ref()));
    }
}

/// The report of a blocked publication (for stderr; ends with a newline).
fn blocked_report(
    reasons: &[String],
    changes: &Changes<'_>,
    coverage: &[TestCoverage],
    commands: &[String],
    journal: &str,
) -> String {
    let mut r = Report::default();
    r.line("Verification guard blocked branch publication.");
    r.section("Why it was blocked:");
    for reason in reasons {
        r.bullet(reason);
    }
    if !changes.product.is_empty() {
        file_section(&mut r, "Changed product files:", &changes.product);
    }
    if !changes.generated.is_empty() {
        file_section(
            &mut r,
            "Generated artifacts that must be removed before publish:",
            &changes.generated,
        );
    }
    if changes.lockfile_problem() {
        file_section(
            &mut r,
            "Lockfiles changed without a matching dependency manifest update:",
            &changes.lockfiles,
        );
    }
    let uncovered: Vec<&TestCoverage> = coverage.iter().filter(|t| !t.covered).collect();
    if !uncovered.is_empty() {
        r.section("Changed test files still missing explicit coverage:");
        for t in uncovered.iter().take(15) {
            r.bullet(&uncovered_line(t));
        }
    }
    if commands.is_empty() {
        r.line("");
        r.line(&format!("Verification journal file: {journal}"));
    } else {
        r.section("Recorded verification commands:");
        for c in commands.iter().take(20) {
            r.bullet(c);
        }
    }
    r.section("Required next step:");
    r.bullet(
        "rerun the narrowest relevant local verification, record each successful command into \
         verification.jsonl, then publish again",
    );
    r.text
}

/// `file | accepted anchors: ...` for a test file no command covers.
fn uncovered_line(t: &TestCoverage) -> String {
    let mut accepted: Vec<String> = t
        .anchors
        .iter()
        .map(|a| format!("`{}`", display_name(a)))
        .collect();
    if under(&t.file, "e2e") {
        accepted.push("scoped `playwright` command".to_string());
    } else if t.file.starts_with("apps/mobile/") {
        accepted.push("scoped `detox` or `maestro` command".to_string());
    }
    format!(
        "{} | accepted anchors: {}",
        display_name(&t.file),
        accepted.join(", ")
    )
}

#[derive(Default)]
struct Report {
    text: String,
}

impl Report {
    fn line(&mut self, l: &str) {
        self.text.push_str(l);
        self.text.push('\n');
    }

    /// A blank line, then a heading.
    fn section(&mut self, heading: &str) {
        self.line("");
        self.line(heading);
    }

    fn bullet(&mut self, item: &str) {
        self.line(&format!("- {item}"));
    }
}

/// A file name as one report line: names with control characters, quotes or
/// backslashes are shown C-quoted the way git quotes them.
pub fn display_name(name: &str) -> String {
    if !name
        .chars()
        .any(|c| c.is_control() && (c as u32) < 0x80 || c == '"' || c == '\\')
    {
        return name.to_string();
    }
    let mut out = String::from("\"");
    for c in name.chars() {
        match c {
            '\x07' => out.push_str(r"\a"),
            '\x08' => out.push_str(r"\b"),
            '\t' => out.push_str(r"\t"),
            '\n' => out.push_str(r"\n"),
            '\x0B' => out.push_str(r"\v"),
            '\x0C' => out.push_str(r"\f"),
            '\r' => out.push_str(r"\r"),
            '"' => out.push_str("\\\""),
            '\\' => out.push_str(r"\\"),
            c if (c as u32) < 0x20 || c == '\x7F' => out.push_str(&format!("\\{:03o}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    fn files(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    fn verdict(fs: &[&str], cmds: &[&str]) -> Verdict {
        evaluate(&files(fs), &files(cmds), "/run/verification.jsonl").unwrap()
    }

    fn blocked(v: &Verdict) -> &str {
        match v {
            Verdict::Blocked { report } => report,
            other => panic!("not blocked: {other:?}"),
        }
    }

    #[test]
    fn translator_keeps_js_meaning() {
        let b = re(r"\bpnpm (?:run )?test\b").unwrap();
        assert!(b.is_match("pnpm run test"));
        assert!(!b.is_match("pnpm testing"));
        // \b is ASCII: an accented letter is not a word character.
        assert!(b.is_match("épnpm test"));
        let dot = re(r"\bturbo\b.*\btest\b").unwrap();
        assert!(!dot.is_match("turbo x\ntest"));
        assert!(dot.is_match("turbo run test"));
        let class = re(r"@[^/\s]+/x\b").unwrap();
        assert!(class.is_match("@s/x"));
        assert!(!class.is_match("@a\u{FEFF}b/x"));
    }

    #[test]
    fn docs_only_and_generated_docs() {
        assert_eq!(
            verdict(&["docs/a.md", "README.MD", "openspec/x.yaml"], &[]),
            Verdict::DocsOnly
        );
        assert_eq!(verdict(&["SOUL.md"], &[]), Verdict::DocsOnly);
        assert_eq!(verdict(&[], &[]), Verdict::DocsOnly);
    }

    #[test]
    fn journal_parsing_skips_bad_lines() {
        let j = "{\"status\":\"pass\",\"command\":\"  pnpm test \"}\r\nnot json\n{\"status\":\"fail\",\"command\":\"x\"}\n[1]\n{\"status\":\"pass\",\"command\":5}\n\u{FEFF}{\"status\":\"pass\",\"command\":\"b\"}\n{\"status\":\"pass\",\"command\":\"   \"}";
        assert_eq!(passed_commands(j), ["pnpm test", "b"]);
    }

    #[test]
    fn api_requires_typecheck_and_confidence() {
        let v = verdict(&["apps/api/src/main.ts"], &["git diff --check"]);
        let r = blocked(&v);
        assert!(r.contains(reason::API_TYPECHECK));
        assert!(r.contains(reason::API_CONFIDENCE));
        assert!(!r.contains(reason::NO_JOURNAL));
        assert_eq!(
            verdict(
                &["apps/api/src/main.ts"],
                &[
                    "pnpm --filter @acme/api typecheck",
                    "pnpm --dir apps/api lint"
                ]
            ),
            Verdict::Verified { commands: 2 }
        );
        assert_eq!(
            verdict(
                &["apps/api/src/main.ts"],
                &["pnpm typecheck", "turbo run build"]
            ),
            Verdict::Verified { commands: 2 }
        );
    }

    #[test]
    fn narrow_api_slice_needs_targeted_test() {
        let fs = [
            "apps/api/src/leave/leave.service.ts",
            "apps/api/src/leave/leave.service.spec.ts",
        ];
        assert_eq!(
            verdict(&fs, &["pnpm --filter api test -- leave.service.spec.ts"]),
            Verdict::Verified { commands: 1 }
        );
        let r = verdict(&fs, &["pnpm --filter api test -- other"]);
        assert!(blocked(&r).contains(reason::API_TYPECHECK));
        assert!(blocked(&r).contains(reason::TESTS));
    }

    #[test]
    fn web_mobile_packages_locale() {
        let r = verdict(&["apps/web/page.tsx", "apps/mobile/app.tsx"], &["echo ok"]);
        assert!(blocked(&r).contains(reason::WEB));
        assert!(blocked(&r).contains(reason::MOBILE));
        assert_eq!(
            verdict(&["apps/mobile/app.tsx"], &["detox test"]),
            Verdict::Verified { commands: 1 }
        );
        let r = verdict(
            &["packages/ui/a.ts", "packages/db/b.ts"],
            &["pnpm --filter @x/ui build"],
        );
        let text = blocked(&r);
        assert!(text.contains("missing shared package verification for packages/db"));
        assert!(!text.contains("packages/ui\n- "));
        assert!(!text.contains("verification for packages/ui"));
        let r = verdict(
            &["packages/i18n/src/resources/en.json"],
            &["pnpm --filter i18n validate"],
        );
        let text = blocked(&r);
        assert!(!text.contains(reason::I18N_VALIDATE));
        assert!(text.contains(reason::I18N_SCAN));
        assert_eq!(
            verdict(&["packages/i18n/src/resources/en.json"], &["run i18n-gate"]),
            Verdict::Verified { commands: 1 }
        );
    }

    #[test]
    fn generated_and_lockfiles() {
        let r = verdict(
            &["src/a.js", ".agent-session.env", "pnpm-lock.yaml"],
            &["npm test"],
        );
        let text = blocked(&r);
        assert!(text.contains(reason::GENERATED));
        assert!(text.contains(reason::LOCKFILE));
        assert!(text.contains(
            "Generated artifacts that must be removed before publish:\n- .agent-session.env\n"
        ));
        assert!(text.contains("manifest update:\n- pnpm-lock.yaml\n"));
        let r = verdict(&["src/a.js", "Yarn.lock", "package.json"], &["npm test"]);
        assert_eq!(r, Verdict::Verified { commands: 1 });
        let r = verdict(&[".OpenClaw/x"], &["npm test"]);
        assert!(blocked(&r).contains(reason::GENERATED));
    }

    #[test]
    fn report_layout_without_journal() {
        let r = verdict(&["src/a.js"], &[]);
        assert_eq!(
            blocked(&r),
            "Verification guard blocked branch publication.\n\nWhy it was blocked:\n- \
             missing verification journal or no successful verification commands were \
             recorded\n\nChanged product files:\n- src/a.js\n\nVerification journal file: \
             /run/verification.jsonl\n\nRequired next step:\n- rerun the narrowest relevant \
             local verification, record each successful command into verification.jsonl, \
             then publish again\n"
        );
    }

    #[test]
    fn anchors_of_a_test_file() {
        let fr = FileRules::new().unwrap();
        assert_eq!(
            fr.anchors("apps/web/e2e/Auth/Login.Spec.TS"),
            ["auth/login.spec", "login.spec", "login"]
        );
        assert_eq!(fr.anchors("a.test.mjs"), ["a.test", "a"]);
    }

    #[test]
    fn display_quotes_odd_names() {
        assert_eq!(display_name("a b.ts"), "a b.ts");
        assert_eq!(display_name("é.ts"), "é.ts");
        assert_eq!(display_name("a\nb\"c\\"), r#""a\nb\"c\\""#);
        assert_eq!(display_name("x\u{1}"), r#""x\001""#);
    }
}
