//! The dashboard snapshot (`/api/snapshot.json`), built in process from the profile registry.
