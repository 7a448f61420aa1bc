"""Registry of image functions by stable name.

A pipeline file names functions (``"gaussian_blur"``) and never stores code, so
every function a step may call is registered here under a name that does not
change between releases. Built-ins live in this package; third-party packages
add theirs through the ``openhcs_gui.functions`` entry point group. Both are
loaded once, lazily, the first time a name is looked up, so importing the
registry stays cheap.

Function contract
-----------------
A function takes a read-only 3-D stack ``(n, y, x)`` as its first positional
argument plus keyword parameters with type hints and defaults (the GUI builds
its form from :func:`inspect.signature`). Numeric parameters declare their
range once, in the hint: ``sigma: Annotated[float, Field(ge=0, le=200)]``.
A step checks its values against it when it is built or loaded, and the GUI
form uses it as the editor's minimum and maximum. It returns a stack, or
``(stack, {"table_name": rows})`` where ``rows`` is a list of dict rows (or a
DataFrame) in stack order with an ``"index"`` column; the engine adds the
image identifier columns.

Names a biologist searches for
------------------------------
Each function carries a ``display_name`` ("Find nuclei"), a ``category`` and
``keywords`` ("segment", "count", "DAPI"...); :func:`~openhcs_gui.functions.search` finds functions by
any word of their name, display name, description or keywords, so a picker can
filter as the user types. ``description`` is the docstring's first paragraph
after the summary line: what the function does, in a biologist's words.

Parameters the engine fills in
------------------------------
A parameter named in :data:`CONTEXT_PARAMETERS` (``pixel_size_um``, ``measure_objects``) is
not a form field: the engine passes the plate's value (from its
:class:`~openhcs_gui.metadata.PlateMetadata`) to every function whose signature
declares it, unless the step sets it explicitly (see :func:`with_context`).
That is how a function takes lengths in micrometres (``diameter_um``) and
converts them to pixels itself, with a pixel fallback (``diameter_px``) when
the plate does not record its pixel size. A length parameter says its unit in
its ``Field(title=...)``, which the generated form shows as the label.

``default_variable_components`` is a hint for the step editor: the components
that should vary *within* one stack. Projections need the z-planes of one
image (``(Component.Z,)``), stitching needs the sites of one well
(``(Component.SITE,)``). ``None`` means "any grouping works" (per-image
functions), so the step's own ``variable_components`` apply unchanged.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
import re
import threading
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Annotated, Any, TypeVar, get_args, get_origin, overload

import annotated_types as at
from pydantic.fields import FieldInfo

from openhcs_gui.constants import Component
from openhcs_gui.errors import FunctionNotFoundError, PipelineError
from openhcs_gui.functions.context import CONTEXT_PARAMETERS, with_context

__all__ = [
    "ENTRY_POINT_GROUP",
    "RegisteredFunction",
    "register_function",
    "get_function",
    "list_functions",
    "name_of",
    "plugin_errors",
    "annotation_bounds",
    "CONTEXT_PARAMETERS",
    "with_context",
]

log = logging.getLogger(__name__)

#: Entry point group third-party packages use to contribute functions.
ENTRY_POINT_GROUP = "openhcs_gui.functions"

#: Modules whose import registers the built-in functions.
_BUILTIN_MODULES = (
    "openhcs_gui.functions.filters",
    "openhcs_gui.functions.projections",
    "openhcs_gui.functions.measure",
    "openhcs_gui.functions.assemble",
    "openhcs_gui.functions.segmentation",
    "openhcs_gui.functions.quality",
)

F = TypeVar("F", bound=Callable[..., Any])



@dataclass(frozen=True)
class RegisteredFunction:
    """A function known to the registry, with what a form and a pipeline file need.

    Attributes
    ----------
    name
        Stable name used in pipeline files.
    func
        The callable itself.
    category
        Menu group in the GUI (``"filter"``, ``"projection"``, ``"measure"``...).
    doc
        First line of the docstring (tooltip / list entry).
    parameters
        Keyword parameters after the stack argument, as :class:`inspect.Parameter`
        (annotation + default), in signature order; parameters the engine
        supplies (:data:`CONTEXT_PARAMETERS`) are left out.
    default_variable_components
        Components that should vary within one stack, or ``None`` for "any".
    source
        ``"builtin"`` or the entry point that provided the function.
    display_name
        Name shown to the user ("Find nuclei"); defaults to the name in words.
    keywords
        Extra words :func:`~openhcs_gui.functions.search` matches ("segment", "count", "DAPI").
    description
        First paragraph of the docstring after the summary line (plain words).
    context
        Engine-supplied parameters the function declares (``("pixel_size_um",)``).
    """

    name: str
    func: Callable[..., Any]
    category: str = "general"
    doc: str = ""
    parameters: dict[str, inspect.Parameter] = field(default_factory=dict)
    default_variable_components: tuple[Component, ...] | None = None
    source: str = "builtin"
    display_name: str = ""
    keywords: tuple[str, ...] = ()
    description: str = ""
    context: tuple[str, ...] = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Call the underlying function."""
        return self.func(*args, **kwargs)

    def bounds(self) -> dict[str, tuple[float | None, float | None]]:
        """Inclusive ``(minimum, maximum)`` of each parameter that declares a range (``None`` = open)."""
        out = {k: annotation_bounds(p.annotation) for k, p in self.parameters.items()}
        return {k: b for k, b in out.items() if b != (None, None)}

    def defaults(self) -> dict[str, Any]:
        """Default value of every parameter that has one (the initial form values)."""
        return {
            k: p.default for k, p in self.parameters.items() if p.default is not inspect.Parameter.empty
        }


def annotation_bounds(annotation: Any) -> tuple[float | None, float | None]:
    """``(ge, le)`` declared by ``Annotated[T, Field(ge=, le=)]`` (or annotated-types ``Ge``/``Le``/``Interval``).

    Exclusive ``gt``/``lt`` are reported as the bound itself. Anything without
    metadata gives ``(None, None)``.
    """
    if get_origin(annotation) is not Annotated:
        return None, None
    metadata: list[Any] = []
    for m in get_args(annotation)[1:]:
        metadata.extend(m.metadata if isinstance(m, FieldInfo) else [m])
    lo: float | None = None
    hi: float | None = None
    for m in metadata:
        if isinstance(m, at.Ge | at.Gt | at.Interval):
            value = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else getattr(m, "gt", None)
            lo = value if value is not None else lo
        if isinstance(m, at.Le | at.Lt | at.Interval):
            value = getattr(m, "le", None) if getattr(m, "le", None) is not None else getattr(m, "lt", None)
            hi = value if value is not None else hi
    return lo, hi


_registry: dict[str, RegisteredFunction] = {}
_lock = threading.RLock()
_loaded = False
_plugin_errors: list[str] = []


def _first_line(doc: str | None) -> str:
    return inspect.cleandoc(doc).splitlines()[0].strip() if doc and doc.strip() else ""


def _description(doc: str | None) -> str:
    """The paragraph after the summary line, joined into one line ("" if none)."""
    if not doc or not doc.strip():
        return ""
    paragraphs = re.split(r"\n\s*\n", inspect.cleandoc(doc))
    if len(paragraphs) < 2 or re.match(r"[A-Z][A-Za-z ]+\n-{3,}", paragraphs[1]):
        return ""
    return " ".join(line.strip() for line in paragraphs[1].splitlines())


def _words(name: str) -> str:
    return name.replace("_", " ").strip().capitalize()


def _signature_parameters(func: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """Keyword parameters after the first (stack) argument, with hints resolved."""
    try:
        sig = inspect.signature(func, eval_str=True)
    except (NameError, TypeError):  # unresolvable hints: keep them as strings
        sig = inspect.signature(func)
    params = list(sig.parameters.values())
    kinds = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return {p.name: p for p in params[1:] if p.kind not in kinds}


def _parameters(func: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    """Form parameters: the signature's keywords minus the engine-supplied ones."""
    return {k: p for k, p in _signature_parameters(func).items() if k not in CONTEXT_PARAMETERS}


def _add(
    func: Callable[..., Any],
    name: str,
    category: str,
    variable_components: Sequence[Component] | None,
    source: str,
    overwrite: bool,
    display_name: str | None = None,
    keywords: Sequence[str] = (),
) -> RegisteredFunction:
    if isinstance(keywords, str):
        raise TypeError(f"register_function('{name}'): keywords must be a list of words, not one string.")
    entry = RegisteredFunction(
        name=name,
        func=func,
        category=category,
        doc=_first_line(func.__doc__),
        parameters=_parameters(func),
        default_variable_components=(
            tuple(Component(c) for c in variable_components) if variable_components else None
        ),
        source=source,
        display_name=display_name or _words(name),
        keywords=tuple(str(k) for k in keywords),
        description=_description(func.__doc__),
        context=tuple(k for k in _signature_parameters(func) if k in CONTEXT_PARAMETERS),
    )
    with _lock:
        old = _registry.get(name)
        same = old is not None and (
            old.func is func or getattr(old.func, "__qualname__", None) == func.__qualname__
            and old.func.__module__ == func.__module__
        )
        if old is not None and not same and not overwrite:
            raise PipelineError(
                f"A function named '{name}' is already registered "
                f"({old.func.__module__}.{old.func.__qualname__}); pick another name "
                "or pass overwrite=True."
            )
        _registry[name] = entry
    return entry


@overload
def register_function(name: F, /) -> F: ...
@overload
def register_function(
    name: str | None = None,
    /,
    *,
    category: str = "general",
    default_variable_components: Sequence[Component] | None = None,
    overwrite: bool = False,
    display_name: str | None = None,
    keywords: Sequence[str] = (),
) -> Callable[[F], F]: ...
def register_function(
    name: str | Callable[..., Any] | None = None,
    /,
    *,
    category: str = "general",
    default_variable_components: Sequence[Component] | None = None,
    overwrite: bool = False,
    display_name: str | None = None,
    keywords: Sequence[str] = (),
) -> Any:
    """Register a function under a stable name (usable bare or with arguments).

    Parameters
    ----------
    name
        Stable name; defaults to ``func.__name__``. When the decorator is used
        bare (``@register_function``) this is the function itself.
    category
        Group shown in the GUI's function picker.
    default_variable_components
        Components that should vary within a stack (see module docstring).
    overwrite
        Replace a different function already registered under ``name``.
    display_name
        Name shown to the user ("Find nuclei"); default: ``name`` in words.
    keywords
        Words :func:`~openhcs_gui.functions.search` also matches (synonyms, stains, tasks).

    Returns
    -------
    callable
        The function unchanged, so it stays directly callable and picklable.

    Raises
    ------
    PipelineError
        If another function already holds the name and ``overwrite`` is False.
    """

    def deco(func: F) -> F:
        if not callable(func):
            raise TypeError(f"register_function expects a callable, got {type(func).__name__}.")
        reg_name = name if isinstance(name, str) else func.__name__
        _add(func, reg_name, category, default_variable_components, "builtin"
             if func.__module__.startswith("openhcs_gui.") else func.__module__, overwrite,
             display_name, keywords)
        return func

    if callable(name):
        return deco(name)
    return deco


def _load_entry_points() -> None:
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as e:  # a broken plugin must not take the app down
            msg = f"Could not load function plugin '{ep.name}' ({ep.value}): {e}"
            log.warning(msg)
            _plugin_errors.append(msg)
            continue
        if isinstance(obj, types.ModuleType):
            continue  # its @register_function decorators ran on import
        if callable(obj) and name_of(obj) is None:
            from openhcs_gui.functions.external import adapt  # napari-style: one plane in, one out

            _add(adapt(obj), ep.name, "plugin", None, f"entry point {ep.value}", False)


def _ensure_loaded() -> None:
    """Import the built-ins and the entry point plugins, once."""
    global _loaded
    if _loaded:
        return
    with _lock:
        if _loaded:
            return
        for mod in _BUILTIN_MODULES:
            importlib.import_module(mod)
        _load_entry_points()
        _loaded = True


def get_function(name: str) -> RegisteredFunction:
    """Look up a function by its registered name.

    Raises
    ------
    FunctionNotFoundError
        Naming the unknown function and the closest registered names.
    """
    _ensure_loaded()
    with _lock:
        entry = _registry.get(name)
        known = sorted(_registry)
    if entry is None:
        close = difflib.get_close_matches(str(name), known, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise FunctionNotFoundError(
            f"No function named '{name}' is registered.{hint} "
            f"Known functions: {', '.join(known) or '(none)'}."
        )
    return entry


def list_functions(category: str | None = None) -> list[RegisteredFunction]:
    """Every registered function (optionally one category), sorted by name."""
    _ensure_loaded()
    with _lock:
        entries = list(_registry.values())
    return sorted(
        (e for e in entries if category is None or e.category == category), key=lambda e: e.name
    )


def name_of(func: Callable[..., Any] | RegisteredFunction) -> str | None:
    """Registered name of ``func`` (by identity), or ``None`` if it is not registered."""
    if isinstance(func, RegisteredFunction):
        return func.name
    with _lock:
        for entry in _registry.values():
            if entry.func is func:
                return entry.name
    return None


def plugin_errors() -> list[str]:
    """Messages of entry point plugins that failed to load (shown by the GUI)."""
    _ensure_loaded()
    return list(_plugin_errors)
