//! The launcher contract shared by every `agent-project-run-*-session`: common
//! flags, run.env, the inner script, tmux start, delayed reconcile, exit marker.
