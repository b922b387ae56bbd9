"""What joins a run to a screen: the monitor's snapshots and the session the screens steer."""
