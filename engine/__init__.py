"""The numpy engine of charrnn-tui: min-char-rnn's model, data walk, Adagrad and training loop.

Never imports textual, rich or charrnn_tui: the CLI, the app, the benchmark and the tests all
drive training through this one API.
"""

import os

# batch-1 products are too small to share between cores: BLAS threads only add handoffs,
# compete with the UI thread, and change summation order (so results) with the core count.
# Set before numpy loads its BLAS; an explicit setting in the environment wins.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

from .config import Config, ConfigError  # noqa: E402
from .data import Corpus, CorpusError, corpus_from_text, load_corpus  # noqa: E402
from .history import LossHistory  # noqa: E402
from .inspect.gradcheck import GradCheckResult, TrainerCheck, check_trainer, gradient_check  # noqa: E402
from .loop import Control, Outcome, run  # noqa: E402
from .nets.cells import GRUCell, LSTMCell, TanhCell  # noqa: E402
from .nets.min_char import PARAM_NAMES, RNN, FlatParams  # noqa: E402
from .nets.network import ModelSpec, ModelSpecError, Network, Params, WindowRecord  # noqa: E402
from .nets.optimizers import Adam, AdamConfig, RMSprop, RMSpropConfig  # noqa: E402
from .trainer import (  # noqa: E402
    EXACT_WARMUP,
    Diverged,
    LastWindow,
    OutOfMemory,
    StepResult,
    Trainer,
    TrainStats,
    WindowView,
    check_fits,
)

__all__ = [
    "EXACT_WARMUP", "PARAM_NAMES", "RNN", "Config", "ConfigError", "Control", "Corpus",
    "CorpusError", "Diverged", "FlatParams", "GradCheckResult", "LastWindow", "LossHistory",
    "OutOfMemory", "Outcome", "StepResult", "TrainStats", "Trainer", "TrainerCheck", "WindowView",
    "check_fits", "check_trainer", "corpus_from_text", "gradient_check", "load_corpus", "run",
    "GRUCell", "LSTMCell", "TanhCell", "ModelSpec", "ModelSpecError", "Network", "Params",
    "WindowRecord", "Adam", "AdamConfig", "RMSprop", "RMSpropConfig",
]
