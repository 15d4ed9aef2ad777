"""Hostile configuration input, timed (bench/README.md, section "Hostile input").

    python -m bench.hostile                 # YAML alias bombs, then 1k/10k/100k-stage chains
    python -m bench.hostile --stages 1000   # chains of one size only

(a) YAML alias bombs ("billion laughs") of 397 and 489 bytes, the sizes of issue 12 row 8, through
    `load_config_text`: wall time and the peak RSS of a fresh process doing only that;
(b) a process whose `stages` chain N teams (issue 12 row 9): schema validation, then
    `validate_config` (cross-references, ownership and the hand-off cycle check) and, up to 10,000
    stages, the whole `load_config_text` from YAML text.
Each case runs in its own interpreter, so one case's memory does not count towards the next.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from typing import Any

BOMB_SIZES = (397, 489)
BOMB_LEVELS = {397: 9, 489: 11}
"""Nine and eleven nested lists of nine aliases each, padded with a comment to the issue's sizes."""
CHAIN_SIZES = (1_000, 10_000, 100_000)
YAML_CHAIN_LIMIT = 10_000


def alias_bomb(size: int) -> str:
    names = "abcdefghijklmnopqrstuvwxyz"
    levels = BOMB_LEVELS[size]
    lines = ["a: &a [" + ",".join(["lol"] * 9) + "]"]
    for level in range(1, levels):
        name, previous = names[level], names[level - 1]
        lines.append(f"{name}: &{name} [" + ",".join([f"*{previous}"] * 9) + "]")
    body = "\n".join(lines) + "\n"
    padding = size - len(body) - 3  # "# " and its newline
    if padding < 0:
        raise ValueError(f"{levels} levels do not fit in {size} bytes")
    return f"# {'x' * padding}\n{body}"


def chain_config(stages: int) -> dict[str, Any]:
    teams = {f"t{i}": {"calendar": "always", "statuses": {"active": [f"S{i}"]}} for i in range(stages)}
    return {
        "version": 1,
        "calendars": {"always": "24x7"},
        "teams": teams,
        "processes": {"chain": {"match": {"projects": ["PROJ"]}, "stages": list(teams)}},
    }


def chain_yaml(stages: int) -> str:
    lines = ["version: 1", "calendars:", "  always: 24x7", "teams:"]
    for i in range(stages):
        lines += [f"  t{i}:", "    calendar: always", f"    statuses: {{active: [S{i}]}}"]
    lines += ["processes:", "  chain:", "    match: {projects: [PROJ]}", "    stages:"]
    lines += [f"      - t{i}" for i in range(stages)]
    return "\n".join(lines) + "\n"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_bomb(size: int) -> dict[str, Any]:
    from baton.config.errors import ConfigError
    from baton.config.loader import load_config_text

    text = alias_bomb(size)
    started = time.perf_counter()
    try:
        load_config_text(text, "bomb.yaml")
        outcome = "accepted"
    except ConfigError as error:
        outcome = str(error)
    return {"bytes": len(text.encode()), "seconds": time.perf_counter() - started, "outcome": outcome}


def run_chain(stages: int) -> dict[str, Any]:
    from baton.config.loader import load_config_text
    from baton.config.schema import BatonConfig
    from baton.config.validate import validate_config

    data = chain_config(stages)
    started = time.perf_counter()
    config = BatonConfig.model_validate(data)
    schema_s = time.perf_counter() - started
    started = time.perf_counter()
    problems = validate_config(config, lambda path: None)
    validate_s = time.perf_counter() - started
    result: dict[str, Any] = {
        "stages": stages,
        "schema_s": schema_s,
        "validate_s": validate_s,
        "problems": len(problems),
    }
    if stages <= YAML_CHAIN_LIMIT:
        text = chain_yaml(stages)
        started = time.perf_counter()
        load_config_text(text, "chain.yaml")
        result["load_text_s"] = time.perf_counter() - started
    return result


def _in_fresh_process(case: str, value: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.hostile", "--one", case, str(value)],
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(json.loads(out.stdout))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hostile", description=__doc__)
    parser.add_argument("--stages", type=int, action="append", help="chain sizes (default 1k, 10k, 100k)")
    parser.add_argument("--one", nargs=2, metavar=("CASE", "VALUE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        case, value = args.one[0], int(args.one[1])
        result = run_bomb(value) if case == "bomb" else run_chain(value)
        result["peak_rss_mb"] = _peak_rss_mb()
        print(json.dumps(result))
        return
    print("YAML alias bombs (load_config_text):")
    for size in BOMB_SIZES:
        r = _in_fresh_process("bomb", size)
        first_line = r["outcome"].splitlines()[0]
        print(
            f"  {r['bytes']:>4} bytes: {r['seconds'] * 1000:7.1f} ms, peak RSS {r['peak_rss_mb']:.0f} MB: {first_line}"
        )
    print("N-stage chain (one process, N teams):")
    for stages in args.stages or CHAIN_SIZES:
        r = _in_fresh_process("chain", stages)
        from_text = f", load_config_text {r['load_text_s']:.2f} s" if "load_text_s" in r else ""
        print(
            f"  {stages:>7,} stages: schema {r['schema_s']:.3f} s, validate_config {r['validate_s']:.3f} s"
            f"{from_text}, problems {r['problems']}, peak RSS {r['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
