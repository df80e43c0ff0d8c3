//! What the reconcilers of finished worker runs share (the issue
//! reconciler today; the PR reconciler may reuse it). Nothing here prints
//! or exits; every function returns what it found or did.
//!
//! - [`status`]: the worker-status report of a session ([`status::WorkerReport`]),
//!   the run it names or, when its run dir is gone, the latest archived run
//!   of the session ([`status::locate_run`]), and the runner.env
//!   normalisation a reconcile ends with ([`status::normalize_runner`]).
//! - [`reasons`]: failure reasons: the codex quota normalisation, the
//!   runtime signatures of a session log, the reason a blocker comment
//!   states, and the reason a publish failure names.
//! - [`comments`]: the host's blocker comments (their `# Blocker:`
//!   headings are matched by other tools and tests and must not change).
//! - [`effects`]: GitHub writes through the run's outbox
//!   ([`effects::Effects`]): a write that fails is kept in
//!   `<run dir>/outbox/` and replayed; a write refused for good is set
//!   aside in `outbox/dead/` so it never blocks the writes behind it.
//! - [`marker`]: `reconciled.ok` and the per-session reconcile lock.
//! - [`resident`]: the resident lane's metadata.env update.
//! - [`verify`]: host verification recovery: which commands may run
//!   (an allow-list, never text from the issue) and running them.

pub mod comments;
pub mod effects;
pub mod marker;
pub mod reasons;
pub mod resident;
pub mod status;
pub mod verify;
