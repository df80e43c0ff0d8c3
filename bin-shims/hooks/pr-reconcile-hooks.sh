#!/usr/bin/env bash
# agent-control-plane: pr reconcile policy hooks (placeholder; the reconcile
# issue fills this in). Sourced by the pr reconciler when it is given
# --hook-file; every function the reconciler calls has a default there.
