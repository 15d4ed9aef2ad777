"""Hostile configuration files (issue 12 rows 8 and 9): an alias bomb is refused with its line before
anything expands it, and a ten-thousand-stage chain is validated without recursion."""

from __future__ import annotations

from pathlib import Path

import pytest

from baton.config import ConfigError, load_config_text
from baton.config.schema import BatonConfig
from baton.config.validate import validate_config
from bench.hostile.__main__ import alias_bomb, chain_config

EXAMPLE = (Path(__file__).parents[3] / "config" / "examples" / "delivery.yaml").read_text()
ALIAS_MESSAGE = (
    "aliases (*name) expand the file by more than 100,000 values; "
    "an alias may repeat a block, not multiply it: write the repeated parts out"
)


def _nested_aliases(levels: int) -> str:
    """`levels` lists, each of nine aliases to the one before: 9**levels values once expanded."""
    lines = ["l0: &l0 [" + ",".join(["lol"] * 9) + "]"]
    for level in range(1, levels):
        lines.append(f"l{level}: &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _problems(text: str) -> list[tuple[int | None, str]]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, "pmo.yaml")
    return [(problem.line, problem.message) for problem in caught.value.problems]


def test_nested_aliases_are_refused_at_the_line_that_overflows() -> None:
    # 9**6 = 531,441 values: line 5's aliases add 9 * 6,561 (under the cap), line 6's 9 * 59,049.
    assert _problems(_nested_aliases(6)) == [(6, ALIAS_MESSAGE)]


@pytest.mark.parametrize("size", [397, 489])
def test_the_issue_sized_bombs_are_refused_with_one_problem(size: int) -> None:
    text = alias_bomb(size)
    assert len(text.encode()) == size
    assert _problems(text) == [(7, ALIAS_MESSAGE)]  # line 1 is the padding comment


def test_aliases_that_repeat_a_block_still_work() -> None:
    shared = EXAMPLE.replace("  berlin:\n", "  berlin: &berlin_calendar\n", 1).replace(
        "\n# --- Teams", "  vienna: *berlin_calendar\n\n# --- Teams", 1
    )
    config = load_config_text(shared)
    assert config.calendars["vienna"] == config.calendars["berlin"]


def test_an_alias_inside_its_own_block_is_read_as_null_not_expanded() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text("version: &v [1, *v]\n", "pmo.yaml")
    assert caught.value.problems[0].message == "expected 1, got a list"


def test_a_ten_thousand_stage_chain_validates() -> None:
    config = BatonConfig.model_validate(chain_config(10_000))
    assert validate_config(config, lambda path: None) == []


def test_a_ten_thousand_stage_loop_is_reported_once_with_its_closing_stage() -> None:
    data = chain_config(10_000)
    data["processes"]["chain"]["stages"].append("t0")
    config = BatonConfig.model_validate(data)
    problems = validate_config(config, lambda path: None)
    cycle = " -> ".join([*(f"t{i}" for i in range(10_000)), "t0"])
    assert [(p.path, p.message) for p in problems] == [
        (
            ("processes", "chain", "stages", 10_000),
            f"cycle in the forward hand-offs: {cycle}; forward rules must not loop "
            "(sending work back is a return, which Baton detects by itself)",
        )
    ]


@pytest.mark.parametrize(
    "text", ["a: " + "[" * 5000 + "]" * 5000 + "\n", "a: " + "{b: " * 3000 + "1" + "}" * 3000]
)
def test_yaml_nested_beyond_the_parser_is_a_config_error_not_a_recursion_error(text: str) -> None:
    assert _problems(text) == [
        (None, "the YAML is nested too deeply to read; a configuration needs a few levels, not hundreds")
    ]
