//! `start-pr-review-worker.sh`, `start-pr-fix-worker.sh`, `start-pr-merge-repair-worker.sh` (spec 3.6-3.8).
