//! Where sessions run (issue 10, section 2): the pass lists, probes, starts
//! and ends sessions only through [`SessionHost`], so that running sessions
//! on other machines later is a new implementation, not a rewrite. The one
//! implementation today is local tmux.
