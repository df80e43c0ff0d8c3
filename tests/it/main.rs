//! One integration-test binary for every tool (a module per tool).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod blocking_suite;
mod dispatch;
mod fake_github;
mod gh_budget;
mod harness;
mod one_shot_suite;
mod profiles_fixture;
mod worktree_fixture;

mod agent_cleanup_worktree;
mod agent_github_update_labels;
mod archive_run;
mod audit_agent_worktrees;
mod audit_issue_routing;
mod audit_retained_layout;
mod audit_retained_overlap;
mod audit_retained_worktrees;
mod backend_defaults;
mod branch_verification_guard;
mod capture_worker;
mod catch_up_issue_pr_links;
mod catch_up_merged_prs;
mod catch_up_scheduled_issue_retries;
mod check_skill_contracts;
mod cleanup_session;
mod cleanup_worktree;
mod codex_quota;
mod create_follow_up_issue;
mod detached_launch;
mod ensure_runtime_sync;
mod envfile;
mod flow_runtime_doctor;
mod heartbeat_hooks;
mod heartbeat_loop;
mod heartbeat_recovery_preflight;
mod heartbeat_safe_auto;
mod init_worktree;
mod issue_publish_localization_guard;
mod issue_publish_scope_guard;
mod issue_requires_local_workspace_install;
mod issue_resource_class;
mod kick_scheduler;
mod label_follow_up_issues;
mod new_pr_worktree;
mod new_worktree;
mod open_issue_worktree;
mod open_pr_worktree;
mod pr_risk;
mod prepare_worktree;
mod profile_activate;
mod profile_adopt;
mod profile_smoke;
mod project_init;
mod project_remove;
mod provider_cooldown_state;
mod publish_issue_pr;
mod quota_reset_cooldowns;
mod reconcile_issue_session;
mod reconcile_pr_session;
mod record_verification;
mod render_flow_config;
mod retry_state;
mod reuse_issue_worktree;
mod run_claude_session;
mod run_codex_bypass;
mod run_codex_resilient;
mod run_codex_safe;
mod run_codex_session;
mod run_codex_task;
mod run_kilo_session;
mod run_ollama_session;
mod run_openclaw_session;
mod run_opencode_session;
mod run_pi_session;
mod scaffold_profile;
mod shims;
mod split_retained_slice;
mod start_issue_worker;
mod start_pr_workers;
mod start_resident_issue_loop;
mod sync_agent_repo;
mod sync_anchor_repo;
mod sync_dependency_baseline;
mod sync_pr_labels;
mod sync_recurring_issue_checklist;
mod sync_shared_agent_home;
mod sync_vscode_workspace;
mod templates;
mod test_smoke;
mod worker_status;
mod workflow_catalog;
