"""The engine's benchmark: speed against the original loop, and the model family's bars."""
