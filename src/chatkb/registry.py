"""Name → factory registries for every seam; built-ins register the same way as plug-ins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from chatkb.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps a backend name to a factory.

    Third-party packages add backends through the entry-point group ``chatkb.<seam>``;
    those are looked up only when a name is not registered already.
    """

    def __init__(self, seam: str) -> None:
        self.seam = seam
        self._factories: dict[str, Callable[..., T]] = {}
        self._plugins_loaded = False

    def register(self, name: str) -> Callable[[Callable[..., T]], Callable[..., T]]:
        def decorate(factory: Callable[..., T]) -> Callable[..., T]:
            self._factories[name] = factory
            return factory

        return decorate

    def names(self, *, plugins: bool = True) -> list[str]:
        """Every registered name; ``plugins=False``: without looking for plug-ins (a scan of
        every installed package's entry points, which help texts need not pay for)."""
        if plugins:
            self._load_plugins()
        return sorted(self._factories)

    def get(self, name: str) -> Callable[..., T]:
        if name not in self._factories:
            self._load_plugins()
        try:
            return self._factories[name]
        except KeyError:
            valid = ", ".join(self.names()) or "(none)"
            raise ConfigError(f"unknown {self.seam} {name!r}; valid names: {valid}") from None

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points  # 20 ms of imports, for plug-ins only

        for entry in entry_points(group=f"chatkb.{self.seam}"):
            self._factories.setdefault(entry.name, entry.load())
