#!/usr/bin/env bash
# agent-control-plane: issue reconcile policy hooks (placeholder; the reconcile
# issue fills this in). Sourced by the issue reconciler when it is given
# --hook-file; every function the reconciler calls has a default there.
