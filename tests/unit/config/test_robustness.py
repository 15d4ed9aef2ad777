"""Whatever the analyst writes, loading ends in a config or a ConfigError whose problems have lines."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from baton.config import ConfigError, load_config_text

EXAMPLE_LINES = (Path(__file__).parents[3] / "config" / "examples" / "multi.yaml").read_text().splitlines()
TOKENS = [
    "null",
    "[]",
    "{}",
    "1",
    "-1",
    "true",
    "x",
    "24x7",
    "'4h'",
    "[a, {b: 1}]",
    "{id: 3}",
    "0.3",
    "2026-13-01",
    "dev",
]


def _load(text: str) -> None:
    try:
        load_config_text(text)
    except ConfigError as error:
        assert error.problems
        for problem in error.problems:
            assert problem.message
            assert problem.line is not None or not problem.path


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(EXAMPLE_LINES) - 1), st.sampled_from(TOKENS), st.booleans()), max_size=4
    )
)
def test_mutated_example_never_crashes(edits: list[tuple[int, str, bool]]) -> None:
    lines = list(EXAMPLE_LINES)
    for index, token, delete in edits:
        if delete:
            lines[index] = ""
        elif ":" in lines[index]:
            key, _, _ = lines[index].partition(":")
            lines[index] = f"{key}: {token}"
    _load("\n".join(lines))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_never_crashes(text: str) -> None:
    _load(text)
