//! Resident controllers: `controller.env`, the live controller of a lane,
//! and the reaper of stale controllers and their pending-launch files
//! (spec 2, 3.9, 3.10).
