//! Publishing the package into the runtime home (sync, ensure-sync), the doctor and the smoke test.
