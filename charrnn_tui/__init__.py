"""charrnn-tui: watch and steer a min-char-rnn as it trains, in the terminal."""

__version__ = "0.5.0"
