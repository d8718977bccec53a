"""Every CLI option and subcommand is documented: non-empty help saying what it is, its default
where it has one, and help text that argparse can render."""

from __future__ import annotations

import argparse

import pytest

from moetheory.cli import build_parser


def _subcommands() -> tuple[argparse.ArgumentParser, argparse._SubParsersAction]:
    parser = build_parser()
    sub = parser._subparsers._group_actions[0]
    assert isinstance(sub, argparse._SubParsersAction)
    return parser, sub


def _documented(action: argparse.Action) -> bool:
    return isinstance(action.help, str) and bool(action.help.strip())


def test_every_subcommand_has_help_and_a_description():
    _, sub = _subcommands()
    helps = {choice.dest: choice.help for choice in sub._choices_actions}
    assert set(helps) == set(sub.choices)
    for name, command in sub.choices.items():
        assert helps[name] and helps[name].strip(), name
        assert command.description and command.description.strip(), name


def test_every_option_has_help():
    parser, sub = _subcommands()
    undocumented = [
        f"moetheory {action.dest}"
        for action in parser._actions
        if not isinstance(action, argparse._HelpAction) and not _documented(action)
    ]
    for name, command in sub.choices.items():
        undocumented += [
            f"{name} {'/'.join(action.option_strings) or action.dest}"
            for action in command._actions
            if not isinstance(action, argparse._HelpAction) and not _documented(action)
        ]
    assert not undocumented, undocumented


def test_every_default_is_stated():
    """An option with a default names it (argparse's %(default)s, or the words 'default ...')."""
    _, sub = _subcommands()
    silent = [
        f"{name} {action.option_strings[0]}"
        for name, command in sub.choices.items()
        for action in command._actions
        if action.option_strings
        and action.default not in (None, False, argparse.SUPPRESS)
        and "default" not in action.help
    ]
    assert not silent, silent


@pytest.mark.parametrize("name", sorted(_subcommands()[1].choices))
def test_help_renders(name):
    """%(default)s and %(choices)s expand (a stray % would raise here, not at a user's --help)."""
    text = _subcommands()[1].choices[name].format_help()
    assert "%(" not in text and "None" not in text
