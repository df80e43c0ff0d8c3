//! The guided `setup`/`onboard` command: detection, plan, scaffold, sync, smoke, start.
