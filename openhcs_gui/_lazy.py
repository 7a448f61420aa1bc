"""PEP 562 lazy re-exports, written once for every package that needs them.

Packages re-export their public names without importing the heavy modules
behind them (scipy, zarr, tifffile), so ``import openhcs_gui`` stays cheap and
Qt-free. Each package passes a name -> module table and gets back the module
``__getattr__`` / ``__dir__`` pair.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_exports", "lazy_module"]


def lazy_exports(
    package: str, table: Mapping[str, str], namespace: dict[str, Any], public: Iterable[str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module ``__getattr__`` and ``__dir__`` resolving ``table`` names on first use.

    Parameters
    ----------
    package
        The package's ``__name__`` (for the AttributeError message).
    table
        Public name -> module that defines it.
    namespace
        The package's ``globals()``; a resolved name is cached there so the
        lookup happens once.
    public
        Everything ``dir(package)`` should list (usually ``__all__``).
    """
    names = sorted(set(public))

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return names

    return __getattr__, __dir__


class _LazyModule:
    """A module imported on its first attribute access.

    The first access also rebinds the importing module's name to the real
    module, so every later ``np.zeros`` is a plain global lookup: a proxy's ``__getattr__`` costs ~2 µs per access, which a
    per-image hot path (the memory backend, a function call's result check)
    cannot afford. Tests that monkeypatch the real module then see their patch.
    """

    def __init__(self, name: str, namespace: dict[str, Any]) -> None:
        self._name = name
        self._namespace = namespace

    def __getattr__(self, attr: str) -> Any:
        # import_module, not sys.modules: a module another thread is still importing is
        # waited for rather than read half-initialised
        module = importlib.import_module(self._name)
        for key, value in list(self._namespace.items()):
            if value is self:
                self._namespace[key] = module
        return getattr(module, attr)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str, namespace: dict[str, Any]) -> Any:
    """``name`` (e.g. ``"scipy.ndimage"``), imported when first used rather than now.

    The function library is imported to list its functions (names, parameters,
    docstrings) when the window opens; scipy's ``ndimage`` alone took a third of
    the desktop app's start and is only needed once an image is processed.
    ``namespace`` is the caller's ``globals()``: the name bound to the proxy is
    rebound to the real module on first use (no cost afterwards).
    """
    return _LazyModule(name, namespace)
