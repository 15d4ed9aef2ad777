"""Load the PMO configuration file: YAML with line numbers -> schema -> semantic checks.

Every problem is collected and raised together in one `ConfigError`, each with its YAML path and
line, so an analyst fixes a file in one pass. Shape problems come from pydantic (config/schema.py);
their locations are mapped back to the YAML node they came from (the nearest existing ancestor when a
key is missing). Cross-reference problems come from `baton.config.validate`. When some entries are broken in
shape, the rest of the file is still checked for cross-reference problems (references to the broken
entries' names are then not reported as unknown).

This module is the only place in `config/` that reads a file.
"""

from __future__ import annotations

import copy
import datetime as dt
import difflib
import hashlib
import json
import os
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import RoundTripConstructor
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from baton.config.errors import ConfigError, Problem, YamlPath
from baton.config.schema import BatonConfig
from baton.config.validate import validate_config

__all__ = ["fingerprint", "load_config", "load_config_located", "load_config_text", "locator"]

_NAMED_SECTIONS = ("calendars", "teams", "processes")
_MISSING = object()

# How each branch of a union reads in an error message (keys are pydantic's branch tags).
_BRANCH_WORDS = {
    "Calendar": "a calendar mapping (timezone, hours, holidays)",
    "literal['24x7']": "the text 24x7",
    "str": "a status name",
    "StatusId": '{id: "<Jira status id>"}',
}


def load_config(path: str | os.PathLike[str]) -> BatonConfig:
    """Read and validate a config file; raise `ConfigError` listing every problem."""
    return load_config_located(path)[0]


def load_config_located(path: str | os.PathLike[str]) -> tuple[BatonConfig, Callable[[YamlPath], int | None]]:
    """`load_config`, and the function that finds the line of a YAML path in the file (for warnings and
    checks made after loading, e.g. against the stored log or a Jira site)."""
    filename = os.fspath(path)
    try:
        with open(filename, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError([Problem((), None, f"cannot read the file: {reason}")], filename) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem((), None, f"the file is not UTF-8 text: {exc.reason}")], filename) from exc
    return _load_text(text, filename)


def load_config_text(text: str, filename: str = "<text>") -> BatonConfig:
    """Validate config text (as if read from `filename`); raise `ConfigError` listing every problem."""
    return _load_text(text, filename)[0]


def _load_text(text: str, filename: str) -> tuple[BatonConfig, Callable[[YamlPath], int | None]]:
    doc = _parse_yaml(text, filename)
    _refuse_alias_expansion(text, filename)
    locate = locator(doc)
    if doc is None:
        raise ConfigError(
            [Problem((), 1, "the file is empty; start from config/examples/delivery.yaml")], filename
        )
    if not isinstance(doc, CommentedMap):
        raise ConfigError(
            [Problem((), 1, "the file must be a mapping with calendars, teams and processes")], filename
        )
    data = _plain(doc)
    try:
        config = BatonConfig.model_validate(data)
    except ValidationError as exc:
        problems = _schema_problems(exc, data, locate)
        problems.extend(_semantic_problems_despite(data, exc, locate))
        raise ConfigError(_unique(problems), filename) from None
    problems = validate_config(config, locate)
    if problems:
        raise ConfigError(problems, filename)
    return config, locate


def fingerprint(config: BatonConfig) -> str:
    """Stable hash of the normalised config (durations in seconds, defaults filled in).

    Two files that mean the same thing (different comments, layout, `4h` vs `240m`, defaults written
    out or not) share a fingerprint; the store compares it to notice a config change and re-derive
    history. Mapping order is kept, not sorted: the first matching process wins, so reordering
    processes can change results. The `alerts` section is left out: it does not change a number."""
    # alerts say where notifications go, not how requests are derived: changing them re-derives nothing
    normal = config.model_dump(mode="json", by_alias=True, exclude={"alerts"})
    blob = json.dumps(normal, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --- YAML -------------------------------------------------------------------------------------


class _Constructor(RoundTripConstructor):
    """Round-trip constructor that leaves timestamps as the text written: `2026-13-01` must become a
    clear "not a date" problem with its line, not a crash inside the YAML parser."""

    def construct_yaml_timestamp(self, node: Any, values: Any = None) -> Any:
        return self.construct_scalar(node)


_Constructor.add_constructor("tag:yaml.org,2002:timestamp", _Constructor.construct_yaml_timestamp)


def _parse_yaml(text: str, filename: str) -> Any:
    yaml = YAML(typ="rt")
    yaml.Constructor = _Constructor
    try:
        return yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        what = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        hint = ""
        if "found character '\\t'" in what:
            hint = "; indent with spaces, not tabs"
        duplicate = re.search(r'found duplicate key "([^"]*)"', what)
        if duplicate:
            what = f"duplicate key '{duplicate.group(1)}'"
            hint = "; each key may appear only once in a mapping"
        raise ConfigError([Problem((), line, f"YAML syntax error: {what}{hint}")], filename) from None
    except YAMLError as exc:
        raise ConfigError([Problem((), None, f"YAML syntax error: {exc}")], filename) from None
    except RecursionError:
        message = "the YAML is nested too deeply to read; a configuration needs a few levels, not hundreds"
        raise ConfigError([Problem((), None, message)], filename) from None
    except (TypeError, ValueError) as exc:  # the parser's own limits, e.g. a mapping used as a key
        message = f"the YAML could not be read ({exc}); check for a list or mapping used as a key"
        raise ConfigError([Problem((), None, message)], filename) from None


# --- aliases ------------------------------------------------------------------------------------

MAX_ALIAS_EXPANSION = 100_000
"""How many values aliases (`*name`) may add to a document by repeating anchored blocks. Reusing a
calendar or a status list adds tens or hundreds; nine nested lists of nine aliases (a "billion
laughs", 400 bytes) would add 400 million, which took minutes and gigabytes to expand. The size
written out in the file is not limited: a large configuration is linear work."""


def _refuse_alias_expansion(text: str, filename: str) -> None:
    """ConfigError at the first alias that takes the expansion past MAX_ALIAS_EXPANSION.

    Counted on the parser's events, before anything is built from them: each anchored block's size
    is known when it closes, and each alias adds that size. Linear in the file, whatever it would
    expand to, and the alias's own line is at hand (a built document only knows its anchor's)."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    sizes: dict[str, int] = {}
    open_blocks: list[tuple[str | None, int]] = []  # (anchor, values counted when it opened)
    counted = added = 0
    for event in YAML(typ="rt").parse(text):
        if isinstance(event, AliasEvent):
            # An alias to a block still open (a block containing itself) is read as null.
            size = sizes.get(str(event.anchor), 1)
            counted += size
            added += size - 1
            if added > MAX_ALIAS_EXPANSION:
                message = (
                    f"aliases (*name) expand the file by more than {MAX_ALIAS_EXPANSION:,} values; "
                    "an alias may repeat a block, not multiply it: write the repeated parts out"
                )
                line = event.start_mark.line + 1 if event.start_mark is not None else None
                raise ConfigError([Problem((), line, message)], filename)
        elif isinstance(event, CollectionStartEvent):
            counted += 1
            open_blocks.append((event.anchor, counted))
        elif isinstance(event, CollectionEndEvent):
            anchor, opened_at = open_blocks.pop()
            if anchor is not None:
                sizes[str(anchor)] = counted - opened_at + 1
        elif isinstance(event, NodeEvent):  # a scalar
            counted += 1
            if event.anchor is not None:
                sizes[str(event.anchor)] = 1


def _plain(node: Any) -> Any:
    """ruamel's round-trip nodes -> plain dict/list/str/int/float/bool for pydantic.

    Unquoted dates (`2026-12-24`) come back as text so `holidays.extra` reads as written."""
    if isinstance(node, Mapping):
        return {_plain_key(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, ScalarBoolean):
        return bool(node)
    if isinstance(node, dt.date):
        return node.isoformat()
    if isinstance(node, str):
        return str(node)
    if isinstance(node, bool):
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def _plain_key(key: Any) -> Any:
    """YAML allows a list or mapping as a key (`[a, b]: x`); it can only be a mistake here, so it
    becomes text that the schema then reports as an unknown key or name."""
    if isinstance(key, Mapping | list | tuple):
        return str(key)
    return _plain(key)


def locator(doc: Any) -> Callable[[YamlPath], int | None]:
    """A function YAML path -> 1-based line of that key or item (nearest existing ancestor)."""

    def locate(path: YamlPath) -> int | None:
        node, line = doc, (1 if doc is not None else None)
        for part in path:
            if isinstance(node, CommentedMap):
                key = _find_key(node, part)
                if key is _MISSING:
                    break
                line = node.lc.key(key)[0] + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        return line

    return locate


def _find_key(node: CommentedMap, part: object) -> object:
    if part in node:
        return part
    for key in node:  # keys the YAML parser typed (dates, numbers) are plain text in our paths
        if _plain_key(key) == part:
            return key
    return _MISSING


# --- schema errors -> problems ----------------------------------------------------------------


def _walk(data: Any, loc: Sequence[str | int], error_type: str) -> tuple[YamlPath, YamlPath, str | None]:
    """Split a pydantic location into the YAML path it points at, the path where a union was
    tried (if any) and that union branch's tag."""
    node: Any = data
    path: list[str | int] = []
    union_at: YamlPath = ()
    tag: str | None = None
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if _has(node, part):
            path.append(part)
            node = node[part]
        elif part == "[key]":
            node = _MISSING
        elif last and error_type == "missing":
            path.append(part)
            node = _MISSING
        elif isinstance(part, str) and tag is None:
            union_at, tag = tuple(path), part
        else:
            path.append(part)
            node = _MISSING
    return tuple(path), union_at, tag


def _has(node: object, part: str | int) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _lookup(data: Any, path: YamlPath) -> Any:
    node = data
    for part in path:
        node = node[part]
    return node


def _schema_problems(
    exc: ValidationError, data: Any, locate: Callable[[YamlPath], int | None]
) -> list[Problem]:
    plain: list[Problem] = []
    unions: dict[YamlPath, list[tuple[str, ErrorDetails, YamlPath]]] = {}
    for err in exc.errors():
        path, union_at, tag = _walk(data, err["loc"], err["type"])
        if tag is None:
            plain.append(Problem(path, locate(path), _message(err, path)))
        else:
            unions.setdefault(union_at, []).append((tag, err, path))
    for union_at, tried in unions.items():
        plain.extend(_union_problems(union_at, tried, data, locate))
    return plain


def _union_problems(
    union_at: YamlPath,
    tried: list[tuple[str, ErrorDetails, YamlPath]],
    data: Any,
    locate: Callable[[YamlPath], int | None],
) -> list[Problem]:
    """A value that fits no branch of a union: report the branch the value was evidently meant for
    (a mapping -> the model branch), or one line naming what would fit."""
    value = _lookup(data, union_at)
    modelled = [t for t in tried if t[0][:1].isupper()]
    if isinstance(value, dict) and modelled:
        return [Problem(path, locate(path), _message(err, path)) for _, err, path in modelled]
    wanted = " or ".join(dict.fromkeys(_BRANCH_WORDS.get(tag, tag) for tag, _, _ in tried))
    return [Problem(union_at, locate(union_at), f"expected {wanted}, got {_show(value)}")]


def _show(value: Any) -> str:
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value)
    return f"{type(value).__name__} {value!r}"


def _message(err: ErrorDetails, path: YamlPath) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    key = path[-1] if path else ""
    if kind == "missing":
        return f"required key `{key}` is missing"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(path[:-1])
        hint = ""
        close = difflib.get_close_matches(str(key), allowed, n=1)
        if close:
            hint = f"; did you mean `{close[0]}`?"
        elif allowed:
            hint = f"; allowed here: {', '.join(allowed)}"
        return f"unknown key `{key}`{hint}"
    if kind in ("value_error", "assertion_error"):
        error = ctx.get("error")
        return str(error) if error is not None else err["msg"]
    if kind == "string_type":
        return f"expected text, got {_show(value)}"
    if kind == "list_type":
        return f"expected a list such as [a, b], got {_show(value)}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"expected a mapping of keys to values, got {_show(value)}"
    if kind in ("float_type", "float_parsing", "int_type", "int_parsing"):
        return f"expected a number, got {_show(value)}"
    if kind == "literal_error":
        return f"expected {ctx.get('expected')}, got {_show(value)}"
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return f"{err['msg'].replace('Input should be', 'must be')} (got {value!r})"
    return f"{err['msg']} (got {_show(value)})"


def _allowed_keys(path: YamlPath) -> list[str]:
    """The keys the schema accepts at a YAML path (for "did you mean" hints)."""
    model: Any = BatonConfig
    for part in path:
        model = _step(model, part)
        if model is None:
            return []
    model = _unwrap_model(model)
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]


def _step(annotation: Any, part: str | int) -> Any:
    model = _unwrap_model(annotation)
    if model is not None:
        for name, field in model.model_fields.items():
            if part in (name, field.alias):
                return field.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _step(args[0], part)
    if origin in (dict, Mapping) and len(args) == 2:
        return args[1]
    if origin in (list, Sequence) and args:
        return args[0]
    if origin in (typing.Union, types.UnionType):
        for arg in args:
            found = _step(arg, part)
            if found is not None:
                return found
    return None


def _unwrap_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap_model(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        models = [m for m in map(_unwrap_model, typing.get_args(annotation)) if m is not None]
        return models[0] if len(models) == 1 else None
    return None


# --- semantic checks on the parts whose shape is right ----------------------------------------


MAX_PRUNING_ROUNDS = 200
"""Validation rounds `_semantic_problems_despite` may spend taking broken parts out (each round takes
out at least one; a file with more broken parts than this is checked for shape problems only)."""


def _semantic_problems_despite(
    data: Any, exc: ValidationError, locate: Callable[[YamlPath], int | None]
) -> list[Problem]:
    """Cross-reference problems of a file that also has shape problems, so both come in one run.

    The parts the schema rejected are taken out, as small as they come, and the rest is validated
    again until it passes: a bad field of a calendar, team or process is removed (its default applies),
    a bad item of a list goes with the whole item (an SLA row with a bad goal, a status of the wrong
    type), a `scoring` section with any problem goes whole (its checks compare its fields), and a named
    entry goes whole only when it lacks what it needs (a team without a calendar, a process without
    stages). The semantic checks then run on what is left; names of entries taken out still count as
    known, and every problem's path and line are those of the file as written."""
    pruned = copy.deepcopy(data)
    origin: dict[int, list[int]] = {}  # id(list) -> original index of each remaining item
    broken: dict[str, set[str]] = {section: set() for section in _NAMED_SECTIONS}
    error: ValidationError | None = exc
    config: BatonConfig | None = None
    for _ in range(MAX_PRUNING_ROUNDS):
        if error is None:
            break
        targets = sorted(
            {_prune_target(pruned, err["loc"]) for err in error.errors()},
            key=lambda path: (len(path), tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in path)),
            reverse=True,  # deepest first; in one list, the last item first (earlier indexes stay valid)
        )
        removed: set[YamlPath] = set()
        under_removed: set[YamlPath] = set()  # every ancestor of a path removed this round
        for path in targets:
            if not path or (len(path) == 1 and path[0] in _NAMED_SECTIONS):
                return []  # the top level itself is wrong: nothing reliable to cross-check
            if path in under_removed or any(path[:depth] in removed for depth in range(1, len(path) + 1)):
                continue  # an ancestor or a part of it goes this round already; look again next round
            if len(path) == 2 and path[0] in _NAMED_SECTIONS:
                broken[str(path[0])].add(str(path[1]))
            _remove(pruned, path, origin)
            removed.add(path)
            under_removed.update(path[:depth] for depth in range(1, len(path)))
        if not removed:
            return []
        try:
            config = BatonConfig.model_validate(pruned)
            error = None
        except ValidationError as again:
            error = again
    if config is None:
        return []

    def original(path: YamlPath) -> YamlPath:
        out: list[str | int] = []
        node: Any = pruned
        for part in path:
            if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
                kept = origin.get(id(node))
                out.append(kept[part] if kept is not None else part)
                node = node[part]
            else:
                out.append(part)
                node = node.get(part) if isinstance(node, dict) else None
        return tuple(out)

    problems = validate_config(
        config,
        lambda path: locate(original(path)),
        known_calendars=broken["calendars"],
        known_teams=broken["teams"],
    )
    return [Problem(original(p.path), p.line, p.message) for p in problems]


def _prune_target(data: Any, loc: tuple[str | int, ...]) -> YamlPath:
    """What to take out for one schema error at `loc`: the deepest part of `loc` present in `data` (the
    rest of `loc` names a missing key or a union branch), cut after the first list index below a named
    entry (the whole list item goes), or the whole `scoring` section."""
    path: list[str | int] = []
    node = data
    for part in loc:
        node = _child(node, part)
        if node is _MISSING:
            break
        path.append(part)
    if path[:1] == ["scoring"]:
        return ("scoring",)
    for index in range(2, len(path)):
        if isinstance(path[index], int):
            return tuple(path[: index + 1])
    return tuple(path)


def _child(node: Any, part: str | int) -> Any:
    """`node[part]` of a plain mapping or list, `_MISSING` when there is none."""
    if isinstance(node, dict):
        return node.get(part, _MISSING)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return _MISSING


def _remove(data: Any, path: YamlPath, origin: dict[int, list[int]]) -> None:
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    if isinstance(parent, list) and isinstance(last, int):
        kept = origin.setdefault(id(parent), list(range(len(parent))))
        del kept[last]
        del parent[last]
    elif isinstance(parent, dict):
        parent.pop(last, None)


def _unique(problems: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(problems))
