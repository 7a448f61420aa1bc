"""Docstrings in the step form: RST rendered, parameter tooltips from numpydoc."""

from __future__ import annotations

import pytest

from openhcs_gui.ui.docstrings import parameter_docs, rst_to_html, summary_html

DOC = """Smooth each image with a Gaussian of ``sigma`` pixels.

    Uses :func:`scipy.ndimage.gaussian_filter`; see `Notes`.

    Parameters
    ----------
    stack
        Images ``(n, y, x)``; not modified.
    sigma : float
        Standard deviation in pixels
        along y and x (0 returns a copy).
    low, high : int
        Clip range; *inclusive*.

    Returns
    -------
    numpy.ndarray
        Blurred stack.
    """


@pytest.mark.parametrize(("rst", "html"), [
    ("a ``sigma`` b", "a <code>sigma</code> b"),
    ("see :func:`~pkg.mod.name`", "see <code>name</code>"),
    ("the `default` role", "the <i>default</i> role"),
    ("*really*", "<i>really</i>"),
    ("a < b & ``x<y``", "a &lt; b &amp; <code>x&lt;y</code>"),
    ("no markup", "no markup"),
])
def test_rst_to_html(rst: str, html: str) -> None:
    assert rst_to_html(rst) == html


def test_summary_is_first_paragraph_only() -> None:
    assert summary_html(DOC) == "Smooth each image with a Gaussian of <code>sigma</code> pixels."
    assert summary_html(None) == "" and summary_html("  ") == ""


def test_parameter_docs_from_numpydoc_section() -> None:
    docs = parameter_docs(DOC)
    assert docs["stack"] == "Images <code>(n, y, x)</code>; not modified."
    assert docs["sigma"] == "Standard deviation in pixels along y and x (0 returns a copy)."
    assert docs["low"] == docs["high"] == "Clip range; <i>inclusive</i>."
    assert "numpy.ndarray" not in docs  # Returns is not Parameters
    assert parameter_docs("One line, no sections.") == {}


def test_step_form_shows_rendered_doc_and_parameter_tooltips(make_main_window, qtbot) -> None:
    window = make_main_window()
    window.pipeline_editor.add_function("gaussian_blur")
    window.pipeline_editor.select_row(0)
    form = window.pipeline_editor.step_form
    assert "<code>sigma</code>" in form.doc_label.text() and "``" not in form.doc_label.text()
    tooltip = form.kwargs_form.form.editors["sigma"].inner.toolTip()
    assert "Standard deviation in pixels" in tooltip
