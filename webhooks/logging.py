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


def _allowed(name: str) -> bool:
    lowered = name.lower()
    return not any(word in lowered for word in _FORBIDDEN)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_") and _allowed(key):
                entry[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
        if record.exc_info and record.exc_info[0] is not None:
            entry["exc_type"] = record.exc_info[0].__name__
            entry["exc"] = self.formatException(record.exc_info)[-4000:]
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str | int = "INFO") -> None:
    """Send `baton.*` logs to stderr as JSON lines. Idempotent."""
    logger = logging.getLogger("baton")
    if any(getattr(h, "_baton_json", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._baton_json = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
