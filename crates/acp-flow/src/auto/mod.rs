//! `heartbeat-safe-auto.sh` (spec 1.2, 3.2).
