"""Configuration problems, each tied to a YAML path and line, and the one error that carries them all.

A PMO analyst fixes a config file in one pass only if every problem is reported at once, each with the
place to look: `baton.yaml:12: processes.delivery.sla[0].response: '4x' is not a duration; ...`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

PathPart = str | int
YamlPath = tuple[PathPart, ...]


def dotted(path: YamlPath) -> str:
    """`("processes", "delivery", "sla", 0, "response")` -> `processes.delivery.sla[0].response`."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a config file: where (YAML path, 1-based line if known) and what."""

    path: YamlPath
    line: int | None
    message: str

    @property
    def dotted_path(self) -> str:
        return dotted(self.path)

    def format(self, filename: str) -> str:
        """`FILE:LINE: dotted.yaml.path: message`; without `:LINE` when the line is unknown and without
        the path for problems of the whole file (YAML syntax, unreadable file)."""
        where = f"{filename}:{self.line}" if self.line is not None else filename
        if not self.path:
            return f"{where}: {self.message}"
        return f"{where}: {self.dotted_path}: {self.message}"

    def sort_key(self) -> int:
        """File order; problems on one line keep the order they were found in (schema field order)."""
        return self.line if self.line is not None else 0


class ConfigError(Exception):
    """A configuration file was rejected; `.problems` lists every problem found, in file order."""

    def __init__(self, problems: Iterable[Problem], filename: str = "<text>") -> None:
        self.problems: tuple[Problem, ...] = tuple(sorted(problems, key=Problem.sort_key))
        self.filename = filename
        super().__init__(self.__str__())

    def lines(self) -> list[str]:
        """One `FILE:LINE: path: message` line per problem."""
        return [problem.format(self.filename) for problem in self.problems]

    def __str__(self) -> str:
        return "\n".join(self.lines())
