"""What a run leaves on disk: checkpoints, run logs, reading them back, and opening files safely."""
