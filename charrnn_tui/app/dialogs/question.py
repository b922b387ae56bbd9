"""The look of the dialogs that ask before an action: a bordered box with a title, a text and
a row of buttons (the subclasses say what is asked and what the answers are)."""

from __future__ import annotations

from typing import TypeVar

from textual.screen import ModalScreen

Answer = TypeVar("Answer")


class QuestionDialog(ModalScreen[Answer]):
    """A box in the middle of the screen; its parts carry the `question-*` classes."""

    DEFAULT_CSS = """
    QuestionDialog {
        align: center middle;
    }
    .question-box {
        width: 64;
        max-width: 100%;
        height: auto;
        border: thick $warning;
        background: $surface;
        padding: 1 2;
    }
    .question-title {
        text-style: bold;
    }
    .question-text {
        width: 100%;
        margin: 1 0;
    }
    .question-buttons {
        height: auto;
        align-horizontal: center;
    }
    .question-buttons Button {
        margin: 0 1;
    }
    """
