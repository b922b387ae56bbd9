"""The models and their optimizers: min-char-rnn as the original, and the batched network family."""
