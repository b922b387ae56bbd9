"""`charrnn-tui --help` groups its options, and every command's help ends with examples."""

from __future__ import annotations

import importlib
import re

import pytest

from charrnn_tui.cli.main import COMMANDS, SUBCOMMANDS, build_parser

from .helpers import run_cli

GROUPS = ("model", "training", "sampling", "files", "display")


def subcommands() -> list[str]:
    """The commands `main` dispatches on."""
    return list(SUBCOMMANDS)


def test_every_option_is_in_a_group():
    groups = {g.title: g for g in build_parser()._action_groups}
    assert set(GROUPS) <= set(groups)
    loose = [a.option_strings for a in groups["options"]._group_actions
             if a.option_strings not in (["-h", "--help"], ["--version"])]
    assert not loose, f"options in no group: {loose}"
    assert all(groups[name]._group_actions for name in GROUPS)


def test_the_help_shows_the_groups_examples_and_every_command():
    done = run_cli("--help")
    assert done.returncode == 0
    headings = re.findall(r"^(\w[\w ]*):$", done.stdout, re.M)
    assert [h for h in headings if h in GROUPS] == list(GROUPS)
    examples = done.stdout.split("\nexamples:\n", 1)[1]
    assert re.search(r"^  charrnn-tui --headless", examples, re.M)
    listed = [command.name for command in COMMANDS]
    assert sorted(listed) == sorted(subcommands())
    for name in listed:  # each entry point exists
        command = SUBCOMMANDS[name]
        module = importlib.import_module(f"charrnn_tui.cli.{command.module}")
        assert callable(getattr(module, command.entry)), name
    for name in listed:
        assert re.search(rf"^  charrnn-tui {name} ", examples, re.M), name


@pytest.mark.parametrize("name", subcommands())
def test_every_command_has_examples(name):
    done = run_cli(name, "--help")
    assert done.returncode == 0, done.stderr
    examples = done.stdout.split("\nexamples:\n", 1)
    assert len(examples) == 2, done.stdout
    assert re.search(rf"^  charrnn-tui {name}\b", examples[1], re.M), examples[1]
