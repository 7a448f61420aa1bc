"""napari / magicgui-style functions as pipeline steps.

napari users write image functions as ``def f(image: ImageData, sigma: float = 1.0)
-> LabelsData``: one image in, one image (or labels, or a layer-data tuple) out,
keyword parameters with type hints and defaults (magicgui builds its widget from
them). :func:`adapt` turns such a function into our stack contract — called once
per plane of the ``(n, y, x)`` stack the engine hands a step — and
:func:`register_annotated` registers it under a stable name, so a pipeline file
can name it. Functions provided by other packages through the
``openhcs_gui.functions`` entry point group are adapted the same way when they
are loaded (see ``docs/plugins.md``).

The engine never imports napari: annotations are recognised by name
(``ImageData``, ``napari.types.LabelsData``), whether
they are objects or strings (``from __future__ import annotations``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = ["IMAGE_TYPE_NAMES", "LABELS_TYPE_NAMES", "PlaneFunction", "adapt", "is_plane_function",
           "register_annotated"]

#: Annotation names of a napari image argument or result (``napari.types.ImageData``).
#: ``numpy.ndarray`` is *not* one: our own stack functions are annotated with it.
IMAGE_TYPE_NAMES = frozenset({"ImageData"})
#: Annotation names of a label image: a function returning one makes a labels output.
LABELS_TYPE_NAMES = frozenset({"LabelsData"})
_LAYER_TUPLE_NAMES = frozenset({"LayerDataTuple", "FullLayerData", "LayerData"})


def _type_name(annotation: Any) -> str:
    """``"ImageData"`` for ``napari.types.ImageData``, ``"napari.types.ImageData"``, ``NDArray[...]``..."""
    if annotation is inspect.Parameter.empty or annotation is None:
        return ""
    if isinstance(annotation, str):
        text = annotation.strip().strip("'\"").split("[", 1)[0].strip()
        if "|" in text or text.startswith("Optional"):
            return ""
        return text.rsplit(".", 1)[-1]
    origin = getattr(annotation, "__origin__", None)
    if origin is not None and not getattr(annotation, "__metadata__", None):
        annotation = origin
    return str(getattr(annotation, "__name__", "") or "")


def _signature(func: Callable[..., Any]) -> inspect.Signature:
    """The signature with every annotation that can be resolved resolved (the rest stay strings)."""
    try:
        return inspect.signature(func, eval_str=True)
    except (NameError, TypeError, SyntaxError, AttributeError):
        sig = inspect.signature(func)
    namespace = dict(getattr(func, "__globals__", {}))

    def resolve(annotation: Any) -> Any:
        if not isinstance(annotation, str):
            return annotation
        try:
            return eval(annotation, namespace)  # noqa: S307 - the function's own hint, as eval_str does
        except Exception:  # an unresolvable hint (napari not installed) stays a string
            return annotation

    params = [p.replace(annotation=resolve(p.annotation)) for p in sig.parameters.values()]
    return sig.replace(parameters=params, return_annotation=resolve(sig.return_annotation))


def is_plane_function(func: Callable[..., Any]) -> bool:
    """True if ``func``'s first parameter is annotated ``ImageData``/``LabelsData`` (napari style)."""
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return False
    if not params:
        return False
    return _type_name(params[0].annotation) in IMAGE_TYPE_NAMES | LABELS_TYPE_NAMES


def _layer_data(result: Any) -> Any:
    """The array of a layer-data tuple ``(data, kwargs[, type])`` or a list of them; else ``result``."""
    if isinstance(result, list) and result and isinstance(result[0], tuple):
        result = result[0]
    if isinstance(result, tuple) and 1 <= len(result) <= 3 and (len(result) == 1 or isinstance(result[1], dict)):
        return result[0]
    return result


class PlaneFunction:
    """A napari-style image function applied to each plane of a stack (our function contract).

    Picklable (it holds the plugin's importable function), so it runs on dask
    workers too. ``outputs == "labels"`` when the function returns
    ``LabelsData`` (or a ``"labels"`` layer-data tuple): the planner then
    records a labels output and storage writes it as labels.

    Parameters
    ----------
    func
        ``func(image, **kwargs) -> image | labels | layer-data tuple``.
    """

    def __init__(self, func: Callable[..., Any]) -> None:
        functools.update_wrapper(self, func)
        self.func = func
        self.__signature__ = _signature(func)
        kind = _type_name(self.__signature__.return_annotation)
        self.outputs = "labels" if kind in LABELS_TYPE_NAMES else "image"

    def __call__(self, stack: np.ndarray, /, **kwargs: Any) -> np.ndarray:
        """Call the function on each ``(y, x)`` plane of ``stack`` and stack the results."""
        planes = [np.asarray(_layer_data(self.func(plane, **kwargs))) for plane in np.asarray(stack)]
        out = np.stack(planes) if planes else np.asarray(stack)
        if self.outputs == "labels" and not np.issubdtype(out.dtype, np.integer):
            out = out.astype(np.int32)
        return out

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return PlaneFunction, (self.func,)

    def __repr__(self) -> str:
        return f"PlaneFunction({self.func.__module__}.{self.func.__qualname__})"


def adapt(func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` as a stack function: wrapped in :class:`PlaneFunction` if napari-style, else unchanged."""
    if isinstance(func, PlaneFunction) or not is_plane_function(func):
        return func
    return PlaneFunction(func)


def register_annotated(
    func: Callable[..., Any],
    name: str | None = None,
    *,
    category: str = "napari",
    display_name: str | None = None,
    keywords: Sequence[str] = (),
    overwrite: bool = False,
) -> Callable[..., Any]:
    """Register a napari/magicgui-style function as a step function under a stable name.

    Parameters
    ----------
    func
        ``def f(image: ImageData, sigma: float = 1.0) -> ImageData`` (or
        ``-> LabelsData``); a function already following the stack contract is
        registered unchanged.
    name
        Stable name for pipeline files (default ``func.__name__``).
    category, display_name, keywords, overwrite
        As for :func:`~openhcs_gui.functions.register_function`.

    Returns
    -------
    callable
        The registered (adapted) function; use it in ``FunctionStep(func=...)``.

    Raises
    ------
    PipelineError
        If another function already holds ``name`` and ``overwrite`` is False.
    """
    from openhcs_gui.functions.registry import register_function

    adapted = adapt(func)
    return register_function(name or func.__name__, category=category, display_name=display_name,
                             keywords=keywords, overwrite=overwrite)(adapted)
