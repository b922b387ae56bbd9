"""Looking inside a trained model: probes of what it learned, and gradient checks."""
