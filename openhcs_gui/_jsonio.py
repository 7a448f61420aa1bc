"""Strict JSON in and out: what we write is valid JSON, what we read cannot crash us.

Python's :mod:`json` writes ``NaN`` and ``Infinity`` (not JSON; other readers
refuse the file) and raises :class:`RecursionError` on a document nested a few
thousand levels deep. Every JSON file the engine writes goes through
:func:`dumps` (``allow_nan=False``, the offending field named) or
:func:`finite_or_null` first, and every file it reads through :func:`loads`
(depth bounded, non-finite numbers refused, one error class chosen by the
caller so its message names the file).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

__all__ = ["MAX_DEPTH", "check_depth", "dumps", "finite_or_null", "loads", "nonfinite_paths", "read_file"]

#: Deepest nesting a config, pipeline or provenance file may have (they need < 15).
MAX_DEPTH = 100


def _walk(value: Any) -> Any:
    """Yield ``(path, value, depth)`` for every node, iteratively (no recursion)."""
    stack: list[tuple[str, Any, int]] = [("", value, 0)]
    while stack:
        path, node, depth = stack.pop()
        yield path, node, depth
        if isinstance(node, dict):
            stack.extend((f"{path}.{k}" if path else str(k), v, depth + 1) for k, v in node.items())
        elif isinstance(node, list | tuple):
            stack.extend((f"{path}[{i}]", v, depth + 1) for i, v in enumerate(node))


def check_depth(value: Any, where: str, error: Callable[[str], Exception]) -> None:
    """Raise ``error`` if ``value`` nests deeper than :data:`MAX_DEPTH` (checked without recursion)."""
    if any(depth > MAX_DEPTH for _path, _node, depth in _walk(value)):
        raise error(f"{where} is nested more than {MAX_DEPTH} levels deep.")


def nonfinite_paths(value: Any) -> list[str]:
    """Dotted paths of every NaN or infinite float inside ``value`` (sorted)."""
    return sorted(p or "(top level)" for p, v, _ in _walk(value) if isinstance(v, float) and not math.isfinite(v))


def finite_or_null(value: Any) -> Any:
    """A copy of ``value`` (dicts, lists, tuples) with every NaN/infinity replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_or_null(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(v) for v in value]
    return value


def dumps(value: Any, where: str, error: Callable[[str], Exception], *, indent: int | None = 2,
          default: Callable[[Any], Any] | None = None) -> str:
    """``json.dumps`` with ``allow_nan=False``; a non-finite number raises ``error`` naming its field.

    Parameters
    ----------
    value
        The data to write.
    where
        The file or object written, for the message ("pipeline file p.json").
    error
        The error class (or factory) to raise, e.g. ``PipelineError``.
    indent, default
        As for :func:`json.dumps`.

    Raises
    ------
    Exception
        ``error(message)`` when ``value`` holds NaN or infinity.
    """
    try:
        return json.dumps(value, indent=indent, default=default, allow_nan=False)
    except ValueError as e:
        bad = nonfinite_paths(value)
        if not bad:
            raise
        raise error(f"Cannot write {where}: {bad[0]} is not a finite number, and JSON has no NaN or "
                    f"infinity.") from e


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a JSON number")
    return value


def loads(text: str | bytes, where: str, error: Callable[[str], Exception]) -> Any:
    """Parse strict JSON: UTF-8, finite numbers, at most :data:`MAX_DEPTH` levels deep.

    Parameters
    ----------
    text
        The file's content (bytes are decoded as UTF-8).
    where
        The file, for the message ("Pipeline file p.json").
    error
        The error class (or factory) to raise.

    Raises
    ------
    Exception
        ``error("<where> is not valid JSON: <reason>.")`` for anything that is
        not such a document.
    """
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
    except RecursionError as e:
        raise error(f"{where} is nested more than {MAX_DEPTH} levels deep.") from e
    except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = " ".join(str(e).split())
        raise error(f"{where} is not valid JSON: {reason}.") from e
    check_depth(value, where, error)
    return value


def read_file(source: Any, kind: str, error: Callable[[str], Exception]) -> Any:
    """Read and parse the strict-JSON file ``source`` (a ``Path``), a *kind* file ("pipeline", "project").

    Every loader says the same two sentences for the same two faults: the file
    cannot be read, or it is not strict JSON (see :func:`loads`).
    """
    try:
        raw = source.read_bytes()
    except OSError as e:
        raise error(f"Cannot read {kind} file {source}: {e.strerror or e}.") from e
    return loads(raw, f"{kind.capitalize()} file {source}", error)
