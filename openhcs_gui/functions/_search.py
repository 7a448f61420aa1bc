"""Find registered functions by the words a user types ("nuclei", "background", "count")."""

from __future__ import annotations

import re

from openhcs_gui.functions.registry import RegisteredFunction, list_functions

__all__ = ["search"]


def _haystack(entry: RegisteredFunction) -> str:
    words = (entry.name, entry.name.replace("_", " "), entry.display_name, entry.category,
             entry.doc, entry.description, *entry.keywords)
    return " ".join(words).lower()


def search(text: str) -> list[RegisteredFunction]:
    """Functions matching every word of ``text`` (case-insensitive), best matches first.

    A word matches when it occurs in the function's name, display name,
    category, summary, description or keywords ("segment" finds "segment_nuclei",
    "count" finds the functions that count objects). Functions whose name,
    display name or keywords hold the words come before those that only
    mention them in their description (the stable name counts most,
    then the display name, then keywords); ties keep name order. Empty ``text``
    gives every function.

    Parameters
    ----------
    text
        What the user typed, e.g. ``"nuclei"`` or ``"background subtract"``.

    Returns
    -------
    list of RegisteredFunction
    """
    words = [w for w in re.split(r"\s+", text.lower().strip()) if w]
    found = []
    for entry in list_functions():
        hay = _haystack(entry)
        if all(w in hay for w in words):
            name, shown = entry.name.lower(), entry.display_name.lower()
            keys = " ".join(entry.keywords).lower()
            score = sum((3 if w in name else 2 if w in shown else 0) + (w in keys) for w in words)
            found.append((-score, entry.name, entry))
    return [entry for *_, entry in sorted(found, key=lambda t: (t[0], t[1]))]
