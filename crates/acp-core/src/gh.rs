//! A thin wrapper around the GitHub CLI (`gh`), faked in tests by a script on `PATH`.
