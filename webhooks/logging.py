"""Structured JSON logs, one object per line, with nothing secret in them.

Callers log an `event` name and plain fields through `extra=`; the formatter drops any field whose
name says it holds a credential or a body, so a careless `extra={"body": ...}` cannot leak.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}
_FORBIDDEN = ("secret", "signature", "token", "password", "authorization", "body", "payload", "cookie")


_ALLOWED: dict[str, bool] = {}


def _allowed(name: str) -> bool:
    """Whether a field may be logged; decided once per field name (this runs for every log line)."""
    allowed = _ALLOWED.get(name)
    if allowed is None:
        lowered = name.lower()
        allowed = name not in _STANDARD and not name.startswith("_")
        allowed = allowed and not any(word in lowered for word in _FORBIDDEN)
        _ALLOWED[name] = allowed
    return allowed


_SECOND: list[Any] = [None, ""]


def _timestamp(created: float, msecs: float) -> str:
    second = int(created)
    if _SECOND[0] != second:  # strftime once per second, not once per line
        _SECOND[0], _SECOND[1] = second, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
    return f"{_SECOND[1]}.{int(msecs):03d}Z"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created, record.msecs),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in record.__dict__.items():
            if _allowed(key):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = self.formatException(record.exc_info)[-4000:]
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str | int | None = None) -> None:
    """Send `baton.*` logs to stderr as JSON lines (level: the argument, i.e. the settings'
    BATON_LOG_LEVEL, else INFO). Idempotent."""
    level = level or "INFO"
    logger = logging.getLogger("baton")
    if any(getattr(h, "_baton_json", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._baton_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
