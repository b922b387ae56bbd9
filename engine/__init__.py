"""The numpy engine of charrnn-tui: min-char-rnn's model, data walk, Adagrad and training loop.

Never imports textual, rich or charrnn_tui: the CLI, the app, the benchmark and the tests all
drive training through this one API.
"""

from .config import Config, ConfigError
from .data import Corpus, CorpusError, corpus_from_text, load_corpus
from .gradcheck import gradient_check
from .history import LossHistory
from .loop import Control, Outcome, run
from .model import PARAM_NAMES, RNN, FlatParams
from .trainer import Diverged, StepResult, Trainer, TrainStats, WindowView, check_fits

__all__ = [
    "PARAM_NAMES", "RNN", "Config", "ConfigError", "Control", "Corpus", "CorpusError", "Diverged",
    "FlatParams", "LossHistory", "Outcome", "StepResult", "TrainStats", "Trainer", "WindowView",
    "check_fits", "corpus_from_text", "gradient_check", "load_corpus", "run",
]
