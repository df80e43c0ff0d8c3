//! Profiles: scaffold, init, adopt, smoke, remove.
