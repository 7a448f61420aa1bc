"""Function docstrings for people: RST markup rendered, numpydoc parameters found.

Registered functions document themselves in numpydoc with RST inline markup
(````sigma````, ``:func:`name```). Shown raw in the step form, a bench
scientist reads the backticks. These helpers turn the summary into Qt rich
text (``<code>sigma</code>``) and pull each parameter's description out of the
``Parameters`` section, so a parameter's tooltip is what its author wrote
about it. Plain text in, HTML out; no Qt needed.
"""

from __future__ import annotations

import html
import inspect
import re

__all__ = ["parameter_docs", "rst_to_html", "summary_html"]

_CODE = re.compile(r"``(.+?)``")
_ROLE = re.compile(r":[a-z]+:`~?([^`]+?)`")  # :func:`name`, :class:`~pkg.Name`
_EMPH = re.compile(r"(?<![`\w])`([^`]+?)`(?![`\w])")  # `default role` / *emphasis*
_STAR = re.compile(r"(?<![*\w])\*([^*\s][^*]*?)\*(?![*\w])")
_UNDERLINE = re.compile(r"^\s*-{3,}\s*$")


def rst_to_html(text: str) -> str:
    """``text`` with RST inline markup as Qt rich text (everything else escaped).

    ````x```` and roles (``:func:`x```) become ``<code>x</code>``; single
    backticks and ``*x*`` become italics.
    """
    out = html.escape(" ".join(text.split()), quote=False)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _ROLE.sub(lambda m: f"<code>{m.group(1).rsplit('.', 1)[-1]}</code>", out)
    out = _EMPH.sub(r"<i>\1</i>", out)
    return _STAR.sub(r"<i>\1</i>", out)


def _sections(doc: str) -> tuple[list[str], dict[str, list[str]]]:
    """The lines before the first numpydoc section, and each section's lines by title."""
    lines = inspect.cleandoc(doc).splitlines()
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current = head
    i = 0
    while i < len(lines):
        if i + 1 < len(lines) and lines[i].strip() and _UNDERLINE.match(lines[i + 1]):
            current = sections.setdefault(lines[i].strip().lower(), [])
            i += 2
            continue
        current.append(lines[i])
        i += 1
    return head, sections


def summary_html(doc: str | None) -> str:
    """The docstring's first paragraph as rich text ("" without a docstring)."""
    if not doc or not doc.strip():
        return ""
    head, _ = _sections(doc)
    paragraph: list[str] = []
    for line in head:
        if not line.strip():
            if paragraph:
                break
            continue
        paragraph.append(line.strip())
    return rst_to_html(" ".join(paragraph))


def parameter_docs(doc: str | None) -> dict[str, str]:
    """Parameter name → its description (rich text) from the numpydoc ``Parameters`` section.

    ``a, b : int`` documents both names. Parameters the section does not
    mention are absent, so callers can fall back to something else.
    """
    if not doc:
        return {}
    _, sections = _sections(doc)
    lines = sections.get("parameters", [])
    docs: dict[str, list[str]] = {}
    names: list[str] = []
    for line in lines:
        if line.strip() and not line.startswith((" ", "\t")):
            names = [n.strip().lstrip("*") for n in line.split(":", 1)[0].split(",") if n.strip()]
            for name in names:
                docs[name] = []
        elif line.strip():
            for name in names:
                docs[name].append(line.strip())
    return {name: rst_to_html(" ".join(text)) for name, text in docs.items() if text}
