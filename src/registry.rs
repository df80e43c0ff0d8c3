//! Every tool of the multicall binary, by crate.

use acp_core::ToolSpec;

/// The tool tables of all tool crates.
const ALL: &[&[ToolSpec]] = &[
    worker_status::TOOLS,
    render_flow_config::TOOLS,
    workflow_catalog::TOOLS,
    profile_activate::TOOLS,
    retry_state::TOOLS,
    provider_cooldown_state::TOOLS,
    record_verification::TOOLS,
    archive_run::TOOLS,
    capture_worker::TOOLS,
    detached_launch::TOOLS,
    run_codex_session::TOOLS,
    run_codex_resilient::TOOLS,
    run_claude_session::TOOLS,
    run_openclaw_session::TOOLS,
    run_ollama_session::TOOLS,
    run_pi_session::TOOLS,
    run_opencode_session::TOOLS,
    run_kilo_session::TOOLS,
    run_codex_task::TOOLS,
    run_codex_safe::TOOLS,
    run_codex_bypass::TOOLS,
    codex_quota::TOOLS,
    cleanup_session::TOOLS,
    branch_verification_guard::TOOLS,
];

/// All registered tools, in crate order.
pub fn tools() -> impl Iterator<Item = &'static ToolSpec> {
    ALL.iter().flat_map(|t| t.iter())
}

/// The tool selected by `word` (original file name or crate name).
pub fn find(word: &str) -> Option<&'static ToolSpec> {
    tools().find(|t| t.matches(word))
}
