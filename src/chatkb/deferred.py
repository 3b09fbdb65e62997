"""A module imported at its first use instead of when the importing module loads.

numpy takes longer to import than an unchanged ``chatkb add`` takes to check every file, and
the store and ingest modules every command loads all use it. A module that writes::

    if TYPE_CHECKING:
        import numpy as np
    else:
        np = deferred("numpy", globals(), "np")

imports numpy the first time it reads an attribute of ``np`` (a vector is touched), and that
read rebinds its ``np`` to the real module, so every later use costs what a plain import
costs. Type checkers see the plain import.

Why not ``importlib.util.LazyLoader``: it replaces the module in ``sys.modules`` for every
importer (libraries included), and on Python 3.11 two threads that touch it first at the same
time can see it half-loaded. Here the real import is ``importlib.import_module``, which holds
the import lock: concurrent first uses all wait for one import and get the same module.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class _Deferred:
    __slots__ = ("_alias", "_module_name", "_namespace")

    def __init__(self, module_name: str, namespace: dict[str, Any], alias: str) -> None:
        self._module_name = module_name
        self._namespace = namespace
        self._alias = alias

    def _load(self) -> ModuleType:
        module = importlib.import_module(self._module_name)
        if self._namespace.get(self._alias) is self:
            self._namespace[self._alias] = module
        return module

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._load(), attribute)

    def __repr__(self) -> str:
        return f"<deferred import of {self._module_name!r}>"


def deferred(module_name: str, namespace: dict[str, Any], alias: str) -> Any:
    """A stand-in for ``module_name``, bound as ``alias`` in ``namespace`` (a module's
    ``globals()``), that imports it on the first attribute read and replaces itself there."""
    return _Deferred(module_name, namespace, alias)
