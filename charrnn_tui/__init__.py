"""charrnn-tui: watch and steer a min-char-rnn as it trains, in the terminal."""

import os

__version__ = "0.1.0"

# one BLAS thread: see engine/__init__.py (this runs first when the command starts)
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")
