"""Background work of the process (relay, sweeper, notification retry, pruning)."""
