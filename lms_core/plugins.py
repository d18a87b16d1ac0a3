"""Building the plugin manager and asking it what is installed.

One function builds the manager: it registers the hookspecs and loads the
``lms`` entry-point group, where first-party plugins are registered exactly
like third-party ones.  Tests pass ``load_entry_points=False`` and register
what they need.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import EntryPoint, entry_points
from typing import Any, cast

import click
import pluggy

from lms_core import hookspecs
from lms_core.errors import LmsError
from lms_core.exercises import ExerciseType

ENTRY_POINT_GROUP = "lms"


class PluginError(LmsError):
    """A plugin cannot be loaded, or two plugins clash."""


@dataclass(frozen=True, slots=True)
class PluginInfo:
    """What ``lms plugins`` shows about one plugin."""

    name: str
    distribution: str
    version: str
    exercise_types: list[str] = field(default_factory=list)


def _load(entry: EntryPoint) -> object:
    try:
        return entry.load()
    except Exception as exc:
        dist = entry.dist.name if entry.dist else "?"
        raise PluginError(
            f"plugin '{entry.name}' ({entry.value}, from {dist}) failed to load: "
            f"{type(exc).__name__}: {exc} (reinstall or uninstall that package)"
        ) from exc


class LmsPluginManager(pluggy.PluginManager):
    """A pluggy manager that remembers which distribution each plugin came from."""

    def __init__(self) -> None:
        super().__init__(hookspecs.PROJECT_NAME)
        self.distributions: dict[str, tuple[str, str]] = {}


def make_plugin_manager(
    *, load_entry_points: bool = True, plugins: Iterable[object] = ()
) -> LmsPluginManager:
    """A plugin manager with the hookspecs, the installed plugins and ``plugins``."""
    pm = LmsPluginManager()
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        for entry in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            if pm.get_plugin(entry.name) is not None or pm.is_blocked(entry.name):
                continue
            plugin = _load(entry)
            pm.register(plugin, name=entry.name)
            if entry.dist is not None:
                pm.distributions[entry.name] = (entry.dist.name, entry.dist.version)
    for plugin in plugins:
        pm.register(plugin)
    return pm


def _offered(impl: pluggy.HookImpl) -> list[ExerciseType[Any]]:
    return cast(list[ExerciseType[Any]], impl.function() or [])


def exercise_types(pm: pluggy.PluginManager) -> dict[str, ExerciseType[Any]]:
    """Every exercise type by fence name; two plugins claiming one name is an error."""
    found: dict[str, ExerciseType[Any]] = {}
    owner: dict[str, str] = {}
    for impl in pm.hook.lms_exercise_types.get_hookimpls():
        for kind in _offered(impl):
            if kind.name in found:
                raise PluginError(
                    f"two plugins offer the exercise type '{kind.name}': "
                    f"{owner[kind.name]} and {impl.plugin_name} (uninstall one)"
                )
            found[kind.name] = kind
            owner[kind.name] = impl.plugin_name
    return found


def cli_commands(pm: pluggy.PluginManager) -> list[click.Command]:
    """Commands that plugins add to ``lms``."""
    return [command for commands in pm.hook.lms_cli_commands() for command in commands or []]


def describe_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """Installed plugins with their distributions, versions and exercise types."""
    dists = pm.distributions if isinstance(pm, LmsPluginManager) else {}
    types: dict[str, list[str]] = {}
    for impl in pm.hook.lms_exercise_types.get_hookimpls():
        types[impl.plugin_name] = sorted(kind.name for kind in _offered(impl))
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is hookspecs:
            continue
        dist, version = dists.get(name, ("", ""))
        out.append(PluginInfo(name, dist, version, types.get(name, [])))
    return sorted(out, key=lambda p: p.name)
