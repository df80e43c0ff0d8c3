//! Publishing the package into the runtime home (sync, ensure-sync), the doctor and the smoke test.

pub mod doctor;
pub mod ensure;
pub mod publish;
pub mod smoke;
pub mod tree;
