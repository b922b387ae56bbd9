"""The numpy engine of charrnn-tui: min-char-rnn's model, data walk, Adagrad and training loop.

Never imports textual, rich or charrnn_tui: the CLI, the app, the benchmark and the tests all
drive training through this one API. Importing it sets numpy's BLAS to one thread for the
process, unless the environment sets a count (engine/threads.py).
"""

from .config import Config, ConfigError
from .data import Corpus, CorpusError, corpus_from_text, load_corpus
from .history import LossHistory
from .inspect.gradcheck import GradCheckResult, TrainerCheck, check_trainer, gradient_check
from .loop import Control, Outcome, run
from .nets.cells import GRUCell, LSTMCell, TanhCell
from .nets.min_char import PARAM_NAMES, RNN, FlatParams
from .nets.network import ModelSpec, ModelSpecError, Network, Params, WindowRecord
from .nets.optimizers import Adam, AdamConfig, RMSprop, RMSpropConfig
from .threads import threads_for
from .trainer import (
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
    "WindowRecord", "Adam", "AdamConfig", "RMSprop", "RMSpropConfig", "threads_for",
]
