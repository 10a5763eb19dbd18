"""The training engine: a run's state, its steps, its loop, its checkpoints and its report."""
