"""Structured server logs: one JSON object per line, for log collectors.

Only what the server chose to log goes out: the request log carries method,
path (never the query string), status and duration as fields; no names, staff
codes, answers, cookies or request bodies are ever logged, in either format.
"""

from __future__ import annotations

import datetime as dt
import json
import logging

FIELDS = ("http_method", "http_path", "http_status", "duration_ms")
"""Extra attributes of ``lms.http`` records that become JSON fields."""


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", …}``; exceptions by type only."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            if hasattr(record, name):
                out[name] = getattr(record, name)
        if record.exc_info and record.exc_info[0] is not None:
            # the type, not the traceback text: exception messages can quote data
            out["error"] = record.exc_info[0].__name__
        return json.dumps(out, ensure_ascii=False)
