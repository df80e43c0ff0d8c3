//! The resident issue queue: `issue-queue/pending/issue-<id>.env` entries and
//! the `claims/` leases they are moved to (spec 2, 3.10).
