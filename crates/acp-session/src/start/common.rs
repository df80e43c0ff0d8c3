//! What every worker start shares (spec 3.5 steps 1-4, 3.6).
