"""The shared vocabulary (instruments, snapshots, orders, trades, clock); standard library only."""
