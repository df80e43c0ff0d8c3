//! File-path rules: the risk tiers (low, high, critical-app,
//! critical-infra), the system-breaking subset, and the limits past which a
//! PR's scope is too broad for one slice.
//!
//! The rules are those of the original's reference monorepo (`apps/api`,
//! `apps/web`, `apps/mobile`, `packages/i18n`); other layouts only meet the
//! generic ones (root files, `docs/`, `scripts/`, `.github/workflows/`).

use std::collections::BTreeSet;
use std::sync::LazyLock;

use regex::Regex;

use super::managed::re;

/// A list of patterns, any of which matching means yes.
struct AnyOf(Vec<Regex>);

impl AnyOf {
    fn new(patterns: &[&str]) -> Self {
        Self(patterns.iter().map(|p| re(p)).collect())
    }

    fn hit(&self, path: &str) -> bool {
        self.0.iter().any(|r| r.is_match(path))
    }
}

const CODE_EXT: &str = r"\.[cm]?[jt]sx?$";
const LOCALE: &str = r"^packages/i18n/src/resources/[^/]+\.json$";

static LOW_RISK: LazyLock<AnyOf> =
    LazyLock::new(|| AnyOf::new(&[LOCALE, r"^docs/.+", r"^[^/]+\.md$"]));
static DOC: LazyLock<AnyOf> = LazyLock::new(|| {
    AnyOf::new(&[
        r"^openspec/",
        r"^docs/.+",
        r"(?i)(?:^|/)README\.md$",
        r"(?i)^[^/]+\.md$",
    ])
});
static TEST: LazyLock<AnyOf> = LazyLock::new(|| {
    AnyOf::new(&[
        r"(?:^|/)__tests__/",
        r"(?:^|/)e2e/",
        r"\.(?:spec|test)\.[cm]?[jt]sx?$",
    ])
});
static LOCALE_RESOURCE: LazyLock<Regex> = LazyLock::new(|| re(LOCALE));
static MOBILE_ROUTE: LazyLock<Regex> =
    LazyLock::new(|| re(&format!("^apps/mobile/app/.+{CODE_EXT}")));
static CODE_SUFFIX: LazyLock<Regex> = LazyLock::new(|| re(CODE_EXT));
static GROUP_SEGMENT: LazyLock<Regex> = LazyLock::new(|| re(r"^\(.+\)$"));
static AUTH_CRITICAL: LazyLock<AnyOf> = LazyLock::new(|| {
    AnyOf::new(&[
        r"^apps/api/src/modules/auth/",
        r"^apps/api/src/entities/user\.entity\.ts$",
        r"^apps/api/src/migrations/.*(?:Email|Phone|Auth|User).*\.[cm]?[jt]s$",
        r"^apps/api/src/common/utils/(?:phone|tenant|email|auth)[^/]*\.[cm]?[jt]s$",
    ])
});
static AUTH_ADJACENT: LazyLock<AnyOf> = LazyLock::new(|| {
    AnyOf::new(&[
        r"^apps/web/src/app/\(auth\)/",
        r"^apps/api/src/modules/organization/",
    ])
});
static MOBILE_REGRESSION: LazyLock<AnyOf> = LazyLock::new(|| {
    AnyOf::new(&[
        r"^apps/mobile/src/__tests__/.+",
        r"^apps/mobile/src/lib/[^/]+\.spec\.ts$",
        r"^apps/mobile/app/profile/edit\.tsx$",
        r"^apps/mobile/app/settings/security\.tsx$",
    ])
});
static MOBILE_REGRESSION_TITLE: LazyLock<Regex> = LazyLock::new(|| re(r"(?i)^test\(mobile\):"));
const DATA_CHANGE: [&str; 2] = [
    r"^apps/api/src/migrations/|(?i:\.sql$)",
    r"(?i)^apps/api/src/.*seed[^/]*\.ts$",
];
static CRITICAL_INFRA: LazyLock<AnyOf> = LazyLock::new(|| {
    AnyOf::new(&[
        DATA_CHANGE[0],
        DATA_CHANGE[1],
        r"^apps/api/SEEDING\.md$",
        r"^docs/TESTING_AND_SEED_POLICY\.md$",
        r"^\.github/workflows/",
        r"^(package\.json|pnpm-lock\.yaml|pnpm-workspace\.yaml|turbo\.json)$",
        r"^scripts/",
    ])
});
static SYSTEM_BREAKING: LazyLock<AnyOf> = LazyLock::new(|| {
    AnyOf::new(&[
        DATA_CHANGE[0],
        DATA_CHANGE[1],
        r"(?i)^\.github/workflows/(?:release|deploy|go-live|production|hotfix|ship|ios|android)",
        r"(?i)^scripts/(?:release|deploy|go-live|production|rollback|seed|reseed|reset|migrate)",
    ])
});
static CRITICAL_APP: LazyLock<AnyOf> = LazyLock::new(|| {
    AnyOf::new(&[
        r"^apps/api/src/modules/auth/",
        r"^apps/api/src/modules/subscription/",
        r"^apps/api/src/common/decorators/current-org\.decorator\.ts$",
        r"^apps/api/src/common/services/effective-organization-context\.service\.ts$",
    ])
});

pub fn is_low_risk(p: &str) -> bool {
    LOW_RISK.hit(p)
}
pub fn is_doc(p: &str) -> bool {
    DOC.hit(p)
}
pub fn is_test(p: &str) -> bool {
    TEST.hit(p)
}
pub fn is_locale_resource(p: &str) -> bool {
    LOCALE_RESOURCE.is_match(p)
}
/// Product code that is not a test, a doc or a locale file.
pub fn is_product_non_test(p: &str) -> bool {
    !is_doc(p)
        && !is_test(p)
        && !is_locale_resource(p)
        && (p.starts_with("apps/") || p.starts_with("packages/"))
}
pub fn is_mobile_route(p: &str) -> bool {
    MOBILE_ROUTE.is_match(p) && !is_test(p)
}
pub fn is_auth_critical(p: &str) -> bool {
    AUTH_CRITICAL.hit(p)
}
pub fn is_auth_adjacent(p: &str) -> bool {
    is_auth_critical(p) || AUTH_ADJACENT.hit(p)
}
pub fn is_mobile_regression(p: &str) -> bool {
    MOBILE_REGRESSION.hit(p)
}
pub fn is_critical_infra(p: &str) -> bool {
    CRITICAL_INFRA.hit(p)
}
pub fn is_system_breaking(p: &str) -> bool {
    SYSTEM_BREAKING.hit(p)
}
pub fn is_critical_app(p: &str) -> bool {
    CRITICAL_APP.hit(p)
}

/// The first route segment of a mobile route file (Expo route groups such
/// as `(tabs)` skipped): `apps/mobile/app/(tabs)/settings/x.tsx` -> `settings`.
pub fn mobile_surface(p: &str) -> String {
    let rel = p.strip_prefix("apps/mobile/app/").unwrap_or(p);
    let rel = CODE_SUFFIX.replace(rel, "");
    rel.split('/')
        .filter(|s| !s.is_empty() && !GROUP_SEGMENT.is_match(s))
        .map(str::to_string)
        .next()
        .unwrap_or_else(|| rel.to_string())
}

/// How a PR's files fall into the tiers and scope counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileScope {
    pub is_mobile_regression_pr: bool,
    /// Files outside the low-risk allowlist.
    pub disallowed: Vec<String>,
    pub critical_infra: Vec<String>,
    pub critical_app: Vec<String>,
    pub system_breaking: Vec<String>,
    pub product_non_test: usize,
    pub mobile_product: usize,
    pub locale_resources: usize,
    pub mobile_routes: usize,
    pub mobile_surfaces: usize,
    pub split_reasons: Vec<String>,
}

impl FileScope {
    /// Sorts `files` of a PR titled `title` into tiers and scope counts.
    pub fn of(files: &[String], title: &str) -> Self {
        let regression_pr = MOBILE_REGRESSION_TITLE.is_match(title)
            && !files.is_empty()
            && files
                .iter()
                .all(|f| is_low_risk(f) || is_mobile_regression(f));
        let pick = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
            files.iter().filter(|f| keep(f)).cloned().collect()
        };
        let critical_infra = pick(&|f| is_critical_infra(f));
        let critical_app = pick(&|f| !critical_infra.iter().any(|c| c == f) && is_critical_app(f));
        let product = pick(&is_product_non_test);
        let routes: Vec<&String> = product.iter().filter(|f| is_mobile_route(f)).collect();
        let surfaces: BTreeSet<String> = routes.iter().map(|f| mobile_surface(f)).collect();
        let auth_mixed = if product.iter().any(|f| is_auth_critical(f)) {
            product.iter().filter(|f| !is_auth_adjacent(f)).count()
        } else {
            0
        };
        let mut scope = Self {
            is_mobile_regression_pr: regression_pr,
            disallowed: pick(&|f| !(is_low_risk(f) || (regression_pr && is_mobile_regression(f)))),
            system_breaking: critical_infra
                .iter()
                .filter(|f| is_system_breaking(f))
                .cloned()
                .collect(),
            critical_infra,
            critical_app,
            product_non_test: product.len(),
            mobile_product: product
                .iter()
                .filter(|f| f.starts_with("apps/mobile/"))
                .count(),
            locale_resources: files.iter().filter(|f| is_locale_resource(f)).count(),
            mobile_routes: routes.len(),
            mobile_surfaces: surfaces.len(),
            split_reasons: Vec::new(),
        };
        scope.split_reasons = scope.limits_exceeded(auth_mixed);
        scope
    }

    fn limits_exceeded(&self, auth_mixed: usize) -> Vec<String> {
        let mut out = Vec::new();
        let product = self.product_non_test;
        if product > 14 {
            out.push(format!("product_non_test_count={product} exceeds max=14"));
        }
        if self.mobile_product > 8 {
            out.push(format!(
                "mobile_product_count={} exceeds max=8",
                self.mobile_product
            ));
        }
        if self.locale_resources > 8 && product >= 6 {
            out.push(format!(
                "locale_resource_count={} with product_non_test_count={product} exceeds mixed-scope limit",
                self.locale_resources
            ));
        }
        if self.mobile_routes > 3 {
            out.push(format!(
                "mobile_route_file_count={} exceeds max=3",
                self.mobile_routes
            ));
        }
        if self.mobile_surfaces > 2 {
            out.push(format!(
                "mobile_surface_count={} exceeds max=2",
                self.mobile_surfaces
            ));
        }
        if auth_mixed > 0 {
            out.push(format!(
                "auth_mixed_scope_count={auth_mixed} requires a dedicated auth slice"
            ));
        }
        out
    }

    /// `critical-infra` > `critical-app` > `low` (nothing disallowed) > `high`.
    pub fn tier(&self) -> &'static str {
        if !self.critical_infra.is_empty() {
            "critical-infra"
        } else if !self.critical_app.is_empty() {
            "critical-app"
        } else if self.disallowed.is_empty() {
            "low"
        } else {
            "high"
        }
    }

    /// Why the tier is what it is, naming the paths that decided it.
    pub fn reason(&self) -> String {
        match self.tier() {
            "low" if self.is_mobile_regression_pr => {
                "file-scope-within-low-risk-mobile-regression-allowlist".to_string()
            }
            "low" => "file-scope-within-low-risk-allowlist".to_string(),
            "critical-infra" => format!(
                "paths-within-critical-infra-allowlist:{}",
                self.critical_infra.join(",")
            ),
            "critical-app" => format!(
                "paths-within-critical-app-allowlist:{}",
                self.critical_app.join(",")
            ),
            _ => format!(
                "paths-outside-low-risk-allowlist:{}",
                self.disallowed.join(",")
            ),
        }
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
    fn tiers_follow_the_most_critical_file() {
        assert_eq!(
            FileScope::of(&files(&["docs/a.md", "README.md"]), "t").tier(),
            "low"
        );
        assert_eq!(
            FileScope::of(&files(&["tools/bin/x.sh"]), "t").tier(),
            "high"
        );
        let app = FileScope::of(&files(&["apps/api/src/modules/auth/a.ts"]), "t");
        assert_eq!(app.tier(), "critical-app");
        assert_eq!(
            app.reason(),
            "paths-within-critical-app-allowlist:apps/api/src/modules/auth/a.ts"
        );
        let infra = FileScope::of(&files(&["db/x.SQL", "package.json", "docs/a"]), "t");
        assert_eq!(infra.tier(), "critical-infra");
        assert_eq!(infra.system_breaking, ["db/x.SQL"]);
        let wf = FileScope::of(&files(&[".github/workflows/Deploy-prod.yml"]), "t");
        assert_eq!(wf.system_breaking.len(), 1);
        let ci = FileScope::of(&files(&[".github/workflows/ci.yml"]), "t");
        assert!(ci.system_breaking.is_empty());
    }

    #[test]
    fn mobile_regression_prs_are_low_risk_within_their_allowlist() {
        let f = files(&["apps/mobile/src/__tests__/a.test.ts", "docs/x.md"]);
        let s = FileScope::of(&f, "test(mobile): pin it");
        assert_eq!(s.tier(), "low");
        assert_eq!(
            s.reason(),
            "file-scope-within-low-risk-mobile-regression-allowlist"
        );
        assert_eq!(FileScope::of(&f, "fix: pin it").tier(), "high");
    }

    #[test]
    fn scope_limits() {
        let routes = files(&[
            "apps/mobile/app/a.tsx",
            "apps/mobile/app/(tabs)/b/x.tsx",
            "apps/mobile/app/c/y.ts",
            "apps/mobile/app/c/z.jsx",
        ]);
        let s = FileScope::of(&routes, "t");
        assert_eq!(s.mobile_routes, 4);
        assert_eq!(s.mobile_surfaces, 3);
        assert_eq!(
            s.split_reasons,
            [
                "mobile_route_file_count=4 exceeds max=3",
                "mobile_surface_count=3 exceeds max=2"
            ]
        );
        let auth = files(&["apps/api/src/modules/auth/a.ts", "apps/web/src/page.tsx"]);
        assert_eq!(
            FileScope::of(&auth, "t").split_reasons,
            ["auth_mixed_scope_count=1 requires a dedicated auth slice"]
        );
        assert_eq!(mobile_surface("apps/mobile/app/(auth)/login.tsx"), "login");
    }
}
