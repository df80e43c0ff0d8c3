//! Typed views of the run-directory state files (run.env, runner.env, result.env).
