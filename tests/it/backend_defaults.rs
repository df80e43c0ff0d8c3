//! Every launcher starts from the one table of backend defaults,
//! `acp_core::config::backends::DEFAULTS`: its `--help` names the table's
//! value for each option that has a default, so a backend that spells its
//! own default again (and drifts from the table) fails here. The tools' own
//! launch tests check the run.env a launch writes with nothing set against
//! the same table.

use acp_core::config::backends::DEFAULTS as D;

use crate::harness::{World, run};

/// The help text of `--flag`: its line and the description lines after it,
/// up to the next option, as one line.
fn option_help(help: &str, flag: &str) -> Option<String> {
    let long = format!("--{flag}");
    let is_option = |l: &str| l.trim_start().starts_with('-');
    let names_it = |l: &str| {
        is_option(l)
            && l.trim_start()
                .split([' ', ',', '='])
                .take_while(|w| w.starts_with('-') || w.is_empty())
                .any(|w| w == long.as_str())
    };
    let mut lines = help.lines().skip_while(|l| !names_it(l));
    let first = lines.next()?;
    let rest = lines.take_while(|l| !is_option(l));
    let words: Vec<&str> = std::iter::once(first)
        .chain(rest)
        .flat_map(str::split_whitespace)
        .collect();
    Some(words.join(" "))
}

/// Whether `text` says `default <value>` or `default: <value>`, the value
/// ending at `]` or `)`.
fn names_default(text: &str, value: &str) -> bool {
    ["default ", "default: "].iter().any(|lead| {
        [']', ')']
            .iter()
            .any(|end| text.contains(&format!("{lead}{value}{end}")))
    })
}

#[test]
fn each_launchers_help_shows_the_tables_defaults() {
    let w = World::new();
    let n = |v: u64| v.to_string();
    let (c, claude, oc, ol, pi) = (&D.codex, &D.claude, &D.openclaw, &D.ollama, &D.pi);
    let tools: Vec<(&str, Vec<(&str, String)>)> = vec![
        (
            "agent-project-run-claude-session",
            vec![
                ("claude-model", claude.model.into()),
                ("claude-permission-mode", claude.permission_mode.into()),
                ("claude-effort", claude.effort.into()),
                ("claude-timeout-seconds", n(claude.timeout_seconds)),
                ("claude-max-attempts", n(claude.max_attempts.into())),
                (
                    "claude-retry-backoff-seconds",
                    n(claude.retry_backoff_seconds),
                ),
                ("claude-stall-seconds", n(claude.stall_seconds)),
            ],
        ),
        (
            "agent-project-run-openclaw-session",
            vec![
                ("openclaw-model", oc.model.into()),
                ("openclaw-thinking", oc.thinking.into()),
                ("openclaw-timeout-seconds", n(oc.timeout_seconds)),
                ("openclaw-stall-seconds", n(oc.stall_seconds)),
            ],
        ),
        (
            "agent-project-run-ollama-session",
            vec![
                ("ollama-model", ol.model.into()),
                ("ollama-base-url", ol.base_url.into()),
                ("ollama-timeout-seconds", n(ol.timeout_seconds)),
            ],
        ),
        (
            "agent-project-run-pi-session",
            vec![
                ("pi-model", pi.model.into()),
                ("pi-thinking", pi.thinking.into()),
                ("pi-timeout-seconds", n(pi.timeout_seconds)),
                ("pi-stall-seconds", n(pi.stall_seconds)),
            ],
        ),
        (
            "agent-project-run-opencode-session",
            vec![
                ("opencode-model", D.opencode.model.into()),
                ("opencode-timeout-seconds", n(D.opencode.timeout_seconds)),
                ("opencode-stall-seconds", n(D.opencode.stall_seconds)),
            ],
        ),
        (
            "agent-project-run-kilo-session",
            vec![
                ("kilo-model", D.kilo.model.into()),
                ("kilo-timeout-seconds", n(D.kilo.timeout_seconds)),
                ("kilo-stall-seconds", n(D.kilo.stall_seconds)),
            ],
        ),
        (
            "agent-project-run-codex-session",
            vec![
                ("safe-profile", c.launcher_profile.into()),
                ("bypass-profile", c.launcher_profile.into()),
            ],
        ),
        (
            "agent-project-run-codex-resilient",
            vec![
                ("safe-profile", c.launcher_profile.into()),
                ("bypass-profile", c.launcher_profile.into()),
                ("max-resume-attempts", n(c.max_resume_attempts.into())),
                (
                    "auth-refresh-timeout-seconds",
                    n(c.auth_refresh_timeout_seconds),
                ),
                ("auth-refresh-poll-seconds", n(c.auth_refresh_poll_seconds)),
                ("stall-seconds", n(c.stall_seconds)),
                ("timeout-seconds", n(c.timeout_seconds)),
            ],
        ),
    ];
    for (tool, options) in tools {
        let (code, out, err) = run(w.shim(&format!("tools/bin/{tool}")).arg("--help"));
        assert_eq!(code, 0, "{tool}: {err}");
        for (flag, value) in options {
            let text = option_help(&out, flag).unwrap_or_else(|| panic!("{tool}: no --{flag}"));
            assert!(
                names_default(&text, &value),
                "{tool} --{flag}: the table's default is {value}, the help says: {text}"
            );
        }
    }
}

#[test]
fn option_help_reads_one_option() {
    let help = "Use --a-model m.\nOptions:\n      --a-model <A_MODEL>\n          Model [env: X; default\n          m/1]\n      --a-timeout <S>\n          (default 9)\n";
    assert_eq!(
        option_help(help, "a-model").as_deref(),
        Some("--a-model <A_MODEL> Model [env: X; default m/1]")
    );
    assert!(names_default(&option_help(help, "a-timeout").unwrap(), "9"));
    assert!(!names_default(
        &option_help(help, "a-timeout").unwrap(),
        "90"
    ));
    assert_eq!(option_help(help, "a"), None);
}
