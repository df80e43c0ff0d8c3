//! The scope guard's rules: is an issue branch narrow enough to be one PR?
//!
//! Files are sorted into classes (docs, tests, locale resources, product
//! code, mobile routes, auth-critical code) by path alone; the counts are
//! compared with fixed limits. A branch whose issue declares a docs-only
//! scope may not change product code. Reasons are `key=value` strings that
//! callers and humans read; their keys are part of the interface.

use regex::Regex;

/// Exit code of a blocked branch.
pub const BLOCKED: i32 = 42;

/// Files listed per section of a report.
const LIST_MAX: usize = 12;

fn re(p: &str) -> anyhow::Result<Regex> {
    Regex::new(p).map_err(|e| anyhow::anyhow!("bad scope pattern {p:?}: {e}"))
}

/// The compiled path and text patterns.
struct Patterns {
    test_dir: Regex,
    test_suffix: Regex,
    locale: Regex,
    mobile_route: Regex,
    script_ext: Regex,
    route_group: Regex,
    auth_migration: Regex,
    auth_util: Regex,
    docs_title: Vec<Regex>,
    docs_body: Vec<Regex>,
}

impl Patterns {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            test_dir: re(r"(?:^|/)(?:__tests__|e2e)/")?,
            test_suffix: re(r"\.(?:spec|test)\.[cm]?[jt]sx?$")?,
            locale: re(super::LOCALE_RESOURCE)?,
            mobile_route: re(r"^apps/mobile/app/.+\.[cm]?[jt]sx?$")?,
            script_ext: re(r"\.[cm]?[jt]sx?$")?,
            route_group: re(r"^\(.+\)$")?,
            auth_migration: re(
                r"^apps/api/src/migrations/.*(?:Email|Phone|Auth|User).*\.[cm]?[jt]s$",
            )?,
            auth_util: re(
                r"^apps/api/src/common/utils/(?:phone|tenant|email|auth)[^/]*\.[cm]?[jt]s$",
            )?,
            docs_title: vec![
                re(r"(?i)^(?:docs?|documentation)(?-u:\b)")?,
                re(r"(?i)^docs?\(")?,
                re(r"(?i)(?-u:\b)(?:docs?|documentation|openspec)[ -]?only(?-u:\b)")?,
            ],
            docs_body: vec![
                re(
                    r"(?i)(?:^|\n)\s*(?:scope|mode|type)\s*:\s*(?:docs?|documentation|openspec)(?:[- ]only)?(?-u:\b)",
                )?,
                re(r"(?i)(?:^|\n)\s*(?:docs?|documentation|openspec)[ -]?only(?-u:\b)")?,
            ],
        })
    }

    fn is_doc(&self, f: &str) -> bool {
        f.starts_with("openspec/")
            || f.starts_with("docs/")
            || f == "scripts/README.md"
            || f.to_ascii_lowercase().ends_with(".md")
    }

    fn is_test(&self, f: &str) -> bool {
        self.test_dir.is_match(f) || self.test_suffix.is_match(f)
    }

    fn is_product(&self, f: &str) -> bool {
        !self.is_doc(f)
            && !self.is_test(f)
            && !self.locale.is_match(f)
            && (f.starts_with("apps/") || f.starts_with("packages/"))
    }

    /// The first route segment of a mobile route file, `(group)` folders
    /// skipped.
    fn surface(&self, f: &str) -> String {
        let rel = f.strip_prefix("apps/mobile/app/").unwrap_or(f);
        let rel = self.script_ext.replace(rel, "").into_owned();
        rel.split('/')
            .find(|s| !s.is_empty() && !self.route_group.is_match(s))
            .map_or_else(|| rel.clone(), str::to_string)
    }

    fn is_auth_critical(&self, f: &str) -> bool {
        f.starts_with("apps/api/src/modules/auth/")
            || f == "apps/api/src/entities/user.entity.ts"
            || self.auth_migration.is_match(f)
            || self.auth_util.is_match(f)
    }

    fn is_auth_adjacent(&self, f: &str) -> bool {
        self.is_auth_critical(f)
            || f.starts_with("apps/web/src/app/(auth)/")
            || f.starts_with("apps/api/src/modules/organization/")
    }

    fn docs_declared(&self, title: &str, body: &str) -> bool {
        let (title, body) = (title.trim(), body.trim());
        self.docs_title.iter().any(|r| r.is_match(title))
            || self.docs_body.iter().any(|r| r.is_match(body))
    }
}

/// The classes of a branch's changed files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    pub product: Vec<String>,
    pub mobile_product: Vec<String>,
    pub locale: Vec<String>,
    pub mobile_routes: Vec<String>,
    pub mobile_surfaces: Vec<String>,
    /// Product files outside the auth area, when auth-critical code changed.
    pub auth_mixed: Vec<String>,
    pub openspec_changes: Vec<String>,
    pub workflow_rules: Vec<String>,
    pub docs_declared: bool,
}

/// Sorts `files` (paths relative to the repository) into a [`Scope`];
/// `title` and `body` are the issue's (empty when unknown).
pub fn classify(files: &[String], title: &str, body: &str) -> anyhow::Result<Scope> {
    let p = Patterns::new()?;
    let files: Vec<&str> = files
        .iter()
        .map(|f| f.trim())
        .filter(|f| !f.is_empty())
        .collect();
    let owned = |v: Vec<&str>| -> Vec<String> { v.into_iter().map(str::to_string).collect() };
    let product: Vec<&str> = files.iter().copied().filter(|f| p.is_product(f)).collect();
    let mobile_routes: Vec<&str> = product
        .iter()
        .copied()
        .filter(|f| p.mobile_route.is_match(f) && !p.is_test(f))
        .collect();
    let mut mobile_surfaces: Vec<String> = Vec::new();
    for f in &mobile_routes {
        let s = p.surface(f);
        if !mobile_surfaces.contains(&s) {
            mobile_surfaces.push(s);
        }
    }
    let auth_mixed = if product.iter().any(|f| p.is_auth_critical(f)) {
        product
            .iter()
            .copied()
            .filter(|f| !p.is_auth_adjacent(f))
            .collect()
    } else {
        Vec::new()
    };
    Ok(Scope {
        mobile_product: owned(
            product
                .iter()
                .copied()
                .filter(|f| f.starts_with("apps/mobile/"))
                .collect(),
        ),
        locale: owned(
            files
                .iter()
                .copied()
                .filter(|f| p.locale.is_match(f))
                .collect(),
        ),
        mobile_routes: owned(mobile_routes),
        mobile_surfaces,
        auth_mixed: owned(auth_mixed),
        openspec_changes: owned(
            files
                .iter()
                .copied()
                .filter(|f| f.starts_with("openspec/changes/"))
                .collect(),
        ),
        workflow_rules: owned(
            files
                .iter()
                .copied()
                .filter(|f| *f == "AGENTS.md" || *f == "openspec/AGENT_RULES.md")
                .collect(),
        ),
        product: owned(product),
        docs_declared: p.docs_declared(title, body),
    })
}

impl Scope {
    /// Why the branch is too broad (empty: it is not).
    pub fn reasons(&self) -> Vec<String> {
        let n = self.product.len();
        let mut r = Vec::new();
        if n > 14 {
            r.push(format!("product_non_test_count={n} exceeds max=14"));
        }
        if self.mobile_product.len() >= 8 {
            let m = self.mobile_product.len();
            r.push(format!("mobile_product_count={m} exceeds max=7"));
        }
        if self.locale.len() > 8 && n >= 6 {
            let l = self.locale.len();
            r.push(format!(
                "locale_resource_count={l} with product_non_test_count={n} exceeds mixed-scope limit"
            ));
        }
        if self.mobile_routes.len() > 3 {
            let m = self.mobile_routes.len();
            r.push(format!("mobile_route_file_count={m} exceeds max=3"));
        }
        if self.mobile_surfaces.len() > 2 {
            let m = self.mobile_surfaces.len();
            r.push(format!("mobile_surface_count={m} exceeds max=2"));
        }
        if !self.auth_mixed.is_empty() {
            let a = self.auth_mixed.len();
            r.push(format!(
                "auth_mixed_scope_count={a} requires a dedicated auth slice before publish"
            ));
        }
        if self.docs_declared && n > 0 {
            r.push(format!("docs_declared_scope_contains_product_changes={n}"));
        }
        if !self.openspec_changes.is_empty() && n > 0 {
            let o = self.openspec_changes.len();
            r.push(format!(
                "product_and_openspec_change_mix=product:{n},openspec_change:{o}"
            ));
        }
        if !self.workflow_rules.is_empty() && n > 0 {
            let w = self.workflow_rules.len();
            r.push(format!(
                "workflow_rule_files_mixed_with_product_changes={w}"
            ));
        }
        r
    }

    /// The `KEY=value` lines of a branch that passed.
    pub fn ok_lines(&self) -> Vec<(&'static str, usize)> {
        vec![
            ("PRODUCT_NON_TEST_COUNT", self.product.len()),
            ("MOBILE_PRODUCT_COUNT", self.mobile_product.len()),
            ("LOCALE_RESOURCE_COUNT", self.locale.len()),
            ("MOBILE_ROUTE_FILE_COUNT", self.mobile_routes.len()),
            ("MOBILE_SURFACE_COUNT", self.mobile_surfaces.len()),
            ("AUTH_MIXED_SCOPE_COUNT", self.auth_mixed.len()),
        ]
    }

    /// The report of a blocked branch. Its first line (`Scope guard blocked
    /// issue ...`) is what reconcile recognises; the reasons follow
    /// `Why it was blocked:`.
    pub fn report(&self, issue_id: &str, reasons: &[String]) -> String {
        let issue = if issue_id.is_empty() {
            String::new()
        } else {
            format!(" #{issue_id}")
        };
        let mut out = format!(
            "Scope guard blocked issue{issue} from publishing as a single PR.\n\n\
             This branch changes more than one PR should; publish a narrower slice instead.\n\n\
             Why it was blocked:\n"
        );
        for r in reasons {
            out.push_str(&format!("- {r}\n"));
        }
        let sections: [(&str, &Vec<String>); 6] = [
            ("Product files (first 12):", &self.product),
            ("Locale resources changed:", &self.locale),
            ("OpenSpec change files:", &self.openspec_changes),
            ("Workflow rule files:", &self.workflow_rules),
            ("Mobile route files:", &self.mobile_routes),
            (
                "Files to move out of the auth slice into their own PR:",
                &self.auth_mixed,
            ),
        ];
        for (heading, files) in sections {
            if files.is_empty() {
                continue;
            }
            out.push_str(&format!("\n{heading}\n"));
            for f in files.iter().take(LIST_MAX) {
                out.push_str(&format!("- {f}\n"));
            }
        }
        out.push_str(
            "\nRequired next step:\n- redo the issue as a smaller slice: one product surface, \
             at most two mobile route surfaces, a single auth/security change, or a \
             docs/OpenSpec-only branch without product code\n",
        );
        out
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn files(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_docs_declared_issue_may_not_change_product_code() {
        let f = files(&["apps/web/src/app/page.tsx", "docs/a.md"]);
        let s = classify(&f, "docs: auth page follow-up", "").unwrap();
        assert_eq!(
            s.reasons(),
            ["docs_declared_scope_contains_product_changes=1"]
        );
        let s = classify(&f, "Align auth page", "Scope: docs only").unwrap();
        assert!(s.docs_declared);
        let s = classify(&f, "Align auth page with OpenSpec contract", "notes").unwrap();
        assert!(s.reasons().is_empty());
        let s = classify(&files(&["docs/a.md"]), "docs only", "").unwrap();
        assert!(s.reasons().is_empty());
    }

    #[test]
    fn classes_follow_the_paths() {
        let f = files(&[
            "apps/mobile/app/(tabs)/home/index.tsx",
            "apps/mobile/app/settings.tsx",
            "apps/mobile/app/(auth)/login.tsx",
            "apps/mobile/app/profile/[id].tsx",
            "apps/mobile/app/__tests__/x.test.tsx",
            "packages/i18n/src/resources/en.json",
            "packages/ui/README.md",
            "apps/api/src/modules/auth/service.ts",
            "apps/api/src/modules/organization/org.ts",
            "apps/web/src/e2e/flow.ts",
        ]);
        let s = classify(&f, "", "").unwrap();
        assert_eq!(s.mobile_routes.len(), 4);
        assert_eq!(s.mobile_surfaces, ["home", "settings", "login", "profile"]);
        assert_eq!(s.locale, ["packages/i18n/src/resources/en.json"]);
        assert_eq!(s.product.len(), 6);
        assert_eq!(s.auth_mixed.len(), 4);
        let r = s.reasons();
        assert!(r.contains(&"mobile_route_file_count=4 exceeds max=3".to_string()));
        assert!(r.contains(&"mobile_surface_count=4 exceeds max=2".to_string()));
        assert!(r[r.len() - 1].starts_with("auth_mixed_scope_count=4 "));
        let report = s.report("9", &r);
        assert!(
            report.starts_with("Scope guard blocked issue #9 from publishing as a single PR.\n")
        );
        assert!(report.contains("\nWhy it was blocked:\n- mobile_route_file_count=4"));
    }

    #[test]
    fn many_product_files_and_rule_files_mixed_in() {
        let mut list: Vec<String> = (0..15).map(|i| format!("packages/p/src/f{i}.ts")).collect();
        list.push("AGENTS.md".into());
        list.push("openspec/changes/x/spec.md".into());
        let s = classify(&list, "", "").unwrap();
        assert_eq!(
            s.reasons(),
            [
                "product_non_test_count=15 exceeds max=14",
                "product_and_openspec_change_mix=product:15,openspec_change:1",
                "workflow_rule_files_mixed_with_product_changes=1"
            ]
        );
        assert!(
            s.report("", &s.reasons())
                .starts_with("Scope guard blocked issue from")
        );
    }
}
