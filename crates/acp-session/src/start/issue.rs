//! `start-issue-worker.sh` (spec 3.5).
