"""``lms preview``: build, serve on 127.0.0.1, rebuild when a course or the theme changes.

For trainers writing a course: save a file, reload the page.  A build with
errors prints them and keeps serving the last good site.  Polling file times
(once a second) needs no extra dependency and works on every file system.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pluggy

from lms_core.config import Project
from lms_core.errors import LmsError
from lms_core.exercises import ExerciseType
from site_builder.build import BuildReport, build_site


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _snapshot(folders: list[Path]) -> dict[str, float]:
    """Modification times of every file under ``folders`` (what a rebuild depends on)."""
    times: dict[str, float] = {}
    for folder in folders:
        if folder.is_file():
            times[str(folder)] = folder.stat().st_mtime
            continue
        for dirpath, _dirs, files in os.walk(folder):
            for name in files:
                path = os.path.join(dirpath, name)
                try:
                    times[path] = os.stat(path).st_mtime
                except OSError:
                    continue
    return times


class Preview:
    """A preview server: ``start()``, then ``url``; ``stop()`` ends it."""

    def __init__(
        self,
        project: Project,
        *,
        types: Mapping[str, ExerciseType[Any]],
        host: str = "127.0.0.1",
        port: int = 8000,
        out: Path | None = None,
        poll_seconds: float = 1.0,
        on_build: Callable[[BuildReport | LmsError], None] = lambda _: None,
        pm: pluggy.PluginManager | None = None,
    ) -> None:
        self.project = project
        self.types = types
        self.pm = pm
        self.out = out or project.output_dir
        self.poll_seconds = poll_seconds
        self.on_build = on_build
        self.watched = [project.courses_dir, project.root / "theme"]
        if project.config_path is not None:
            self.watched.append(project.config_path)
        self.builds = 0
        self._stop = threading.Event()
        self._build()
        handler = functools.partial(_Quiet, directory=str(self.out))
        self.server = http.server.ThreadingHTTPServer((host, port), handler)
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}/"

    def _build(self) -> None:
        try:
            report = build_site(
                self.project, out=self.out, types=self.types, enforce_budgets=False, pm=self.pm
            )
        except LmsError as exc:
            self.on_build(exc)
        else:
            self.on_build(report)
        self.builds += 1

    def _watch(self) -> None:
        seen = _snapshot(self.watched)
        while not self._stop.wait(self.poll_seconds):
            now = _snapshot(self.watched)
            if now != seen:
                seen = now
                self._build()

    def start(self) -> Preview:
        for target in (self.server.serve_forever, self._watch):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        self.server.shutdown()
        self.server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
