"""Text that came from a file, made safe to show: no terminal control characters in it.

A file can hold anything, and a terminal obeys what it is sent: ESC starts escape sequences
(set the window title, clear the screen, rewrite what is shown), and the other C0 and C1
controls move the cursor or erase. Text read from a file (a run log's fields and samples, a
checkpoint's strings, a corpus and its name, a text to score) passes through `visible` before
it reaches a terminal or a widget; `printable` shows one corpus character in one cell of the
inspection views. Widgets that would read Rich markup get the text with markup off.
"""

from __future__ import annotations

import re

REPLACEMENT = "\ufffd"  # what a C1 control is shown as (it has no picture of its own)
# C0 controls and DEL as Unicode's control pictures (CR as U+240D, ESC as U+241B): one cell
# each, and a CRLF text's line ends read as what they are, not as broken characters
_PICTURES = {code: chr(0x2400 + code) for code in range(0x20)} | {0x7F: "\u2421"}
_PICTURES |= {code: REPLACEMENT for code in range(0x80, 0xA0)}
# C0 (but tab and newline, which `visible` keeps only in multi-line text), DEL and C1
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_CONTROLS_AND_LINES = re.compile("[\x00-\x1f\x7f-\x9f]")


def visible(text: str, multiline: bool = False) -> str:
    """`text` with every control character (ESC, C1, and C0 but, in `multiline` text, tab and
    newline) replaced one for one, so positions in the text stay where they were: a C0 control
    or DEL by its control picture (CR as ␍), a C1 control by U+FFFD."""
    pattern = _CONTROLS if multiline else _CONTROLS_AND_LINES
    return pattern.sub(_picture, text) if pattern.search(text) else text


def _picture(match: re.Match) -> str:
    return _PICTURES[ord(match.group())]


def printable(ch: str) -> str:
    """One visible cell for a character of the corpus (newline, tab, space, controls)."""
    if ch == "\n":
        return "⏎"
    if ch == "\t":
        return "⇥"
    if ch == " ":
        return "␣"
    if _CONTROLS_AND_LINES.match(ch):
        return _PICTURES[ord(ch)]
    return ch


__all__ = ["REPLACEMENT", "printable", "visible"]
