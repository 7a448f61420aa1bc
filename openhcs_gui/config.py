"""Pipeline configuration: pydantic v2 models with a change event per field.

The models are psygnal ``EventedModel``s (napari's pattern): the GUI form
connects to ``cfg.events.<field>`` and headless runs pay nothing for it.
``None`` in a field means *inherit*; :func:`effective_materialization` is the
one place that turns inherited fields into effective values, so the GUI only
displays what that function returns and never parses text back into values.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from psygnal import EventedModel
from pydantic import ConfigDict, Field, ValidationError, field_validator

from openhcs_gui import _jsonio
from openhcs_gui._atomic import write_text_atomic
from openhcs_gui.constants import (
    Backend,
    MaterializationBackend,
    ZarrChunkStrategy,
    ZarrCompressor,
)
from openhcs_gui.errors import ConfigFileError

__all__ = [
    "ConfigModel",
    "VFSConfig",
    "ZarrConfig",
    "MaterializationConfig",
    "GlobalPipelineConfig",
    "EffectiveMaterialization",
    "INHERITED_FROM",
    "effective_materialization",
    "save_config",
    "load_config",
]

#: Compression levels accepted by every supported codec (Blosc and zlib use 1..9).
MIN_LEVEL, MAX_LEVEL = 1, 9


class ConfigModel(EventedModel):
    """Base of every config model: typos are errors, assignments are validated."""

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        use_enum_values=False,
        validate_default=True,
    )


class VFSConfig(ConfigModel):
    """Which backend intermediates and final results go to."""

    intermediate_backend: Backend = Field(
        default=Backend.MEMORY,
        title="Results between steps go to",
        description="Where the images passed from one step to the next are put during a run. "
        "Memory is fastest; TIFF files or OME-Zarr keep them on disk for inspection.",
        json_schema_extra={"advanced": True},
    )
    materialization_backend: MaterializationBackend = Field(
        default=MaterializationBackend.DISK,
        title="Final results format",
        description="How the last step's images are saved: OME-Zarr (one plate store, opens in "
        "napari and OMERO) or TIFF files (one file per image). A step can choose its own.",
    )


class ZarrConfig(ConfigModel):
    """How the zarr backend writes its OME-Zarr HCS plate."""

    store_name: str = Field(
        default="images.zarr",
        min_length=1,
        pattern=r"^[^/\\]+$",
        title="OME-Zarr folder name",
        description="Name of the OME-Zarr folder inside each step's results folder.",
    )
    compressor: ZarrCompressor = Field(
        default=ZarrCompressor.ZSTD, title="Compression method",
        description="How OME-Zarr images are compressed (lossless: pixel values never change).",
    )
    compression_level: int = Field(
        default=1, ge=MIN_LEVEL, le=MAX_LEVEL, title="Compression (1–9)",
        description="How hard OME-Zarr images are compressed: 1 saves fastest, 9 gives the smallest files; lossless either way.",
    )
    shuffle: bool = Field(default=True, title="Shuffle before compressing",
                          description="Usually smaller files at almost no cost in speed.")
    chunk_strategy: ZarrChunkStrategy = Field(
        default=ZarrChunkStrategy.SINGLE,
        title="Store images",
        description="One piece per image: any single image opens fast when browsing. "
        "One piece per well: fewer, larger files.",
    )
    ome_zarr_metadata: bool = Field(default=True, title="Save channel names, colours",
                                    description="Lets napari and OMERO show zoom levels, "
                                    "channel names and colours.")
    write_plate_metadata: bool = Field(default=True, title="Save plate layout",
                                       description="Lets viewers open the results as a plate.")
    ngff_version: Literal["0.4", "0.5"] = Field(
        default="0.4", title="OME-Zarr version",
        description="0.4 opens in most tools today; 0.5 is the newer format (zarr v3).",
        json_schema_extra={"labels": {"0.4": "0.4 (opens in most tools)", "0.5": "0.5 (newest)"}},
    )
    pyramid_levels: int | None = Field(
        default=None, ge=1, le=16,
        title="Zoom levels per image",
        description="Smaller copies kept for fast zoomed-out viewing, full size included "
        "(1 = none). Empty: halve until the smallest copy fits the size below.",
    )
    pyramid_min_size: int = Field(
        # 128, not 256: napari's zoomed-out plate view reads the coarsest level of every well;
        # a 24-well plate of 1024² fields reads 1.4 MB per channel at 256 px, 0.4 MB at 128 px.
        default=128, ge=16,
        title="Smallest zoom level, px",
        description="With automatic zoom levels, the smallest copy's longest side is at most this.",
    )


class MaterializationConfig(ConfigModel):
    """Defaults for materialized (persistent) step outputs; ``None`` inherits."""

    backend: Backend | None = Field(
        default=None, title="Saved step results format",
        description="Format of results a step is asked to keep; empty: the final results format.",
        json_schema_extra={"advanced": True},
    )
    output_path: Path | None = Field(
        default=None, title="Results folder",
        description="Folder the results of a run are saved in; empty: next to the plate.",
    )
    compression_level: int | None = Field(
        # one compression setting is shown (zarr.compression_level); this override stays for
        # config files that set it
        default=None, ge=MIN_LEVEL, le=MAX_LEVEL, title="Compression of saved results",
        description="Empty: the compression setting above.",
        json_schema_extra={"hidden": True},
    )

    @field_validator("output_path", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """A NUL byte cannot be in a file name: refuse it here, not as a traceback at mkdir."""
        if isinstance(value, str | os.PathLike) and "\x00" in str(os.fspath(value)):
            raise ValueError("a folder name cannot contain a NUL byte")
        return value


class GlobalPipelineConfig(ConfigModel):
    """Everything a run needs besides the plate and the pipeline."""

    num_workers: int = Field(
        default_factory=lambda: os.cpu_count() or 1,
        ge=1,
        le=256,
        title="Wells processed at once",
        description="More is faster on a computer with many cores, and uses more memory.",
    )
    memory_budget_gb: float | None = Field(
        default=None,
        ge=0.25,
        le=65536,
        title="Memory for worker processes (GB)",
        description="When wells run in separate processes on this computer: the memory they may use "
        "together. A process that nears its share starts no new well until memory is free again. "
        "Empty: no limit.",
    )
    vfs: VFSConfig = Field(default_factory=VFSConfig, title="Results",
                           json_schema_extra={"inline": True})
    zarr: ZarrConfig = Field(default_factory=ZarrConfig, title="OME-Zarr details",
                             json_schema_extra={"advanced": True, "inline": True})
    materialization_defaults: MaterializationConfig = Field(
        default_factory=MaterializationConfig, title="Saved results", json_schema_extra={"inline": True})
    keep_intermediates: bool = Field(
        default=True,
        title="Keep intermediate results in memory",
        description="Keep every step's images after the run so you can look at them "
        "(uses memory); off frees each one as soon as the next step has read it.",
    )


#: Inheritance table: (model field path) -> (field path it inherits from when None).
#: Tuple paths, so nothing is ever parsed out of text.
INHERITED_FROM: dict[tuple[str, ...], tuple[str, ...]] = {
    ("materialization_defaults", "backend"): ("vfs", "materialization_backend"),
    ("materialization_defaults", "compression_level"): ("zarr", "compression_level"),
}


@dataclass(frozen=True)
class EffectiveMaterialization:
    """Materialization values after inheritance is resolved."""

    backend: Backend
    output_root: Path | None
    compression_level: int


def _get(model: Any, path: tuple[str, ...]) -> Any:
    for name in path:
        model = getattr(model, name)
    return model


def effective_value(cfg: GlobalPipelineConfig, path: tuple[str, ...]) -> Any:
    """The value of ``path`` after inheritance (follows ``INHERITED_FROM`` chains).

    The GUI shows this as the placeholder of an empty (inheriting) field.
    """
    value = _get(cfg, path)
    while value is None and path in INHERITED_FROM:
        path = INHERITED_FROM[path]
        value = _get(cfg, path)
    if isinstance(value, MaterializationBackend):
        value = value.as_backend()
    return value


def effective_materialization(
    cfg: GlobalPipelineConfig, plate_path: str | os.PathLike[str] | None = None
) -> EffectiveMaterialization:
    """Resolve inherited materialization settings (no I/O).

    ``output_root`` is ``materialization_defaults.output_path`` if set, else the
    plate's parent folder when ``plate_path`` is given, else ``None``. It is
    always absolute: a relative path (``"results"``, ``"~/results"``) is
    resolved here, once, against the home folder and the current working
    directory, so every output of a run lands under the same folder.
    """
    root = cfg.materialization_defaults.output_path
    if root is None and plate_path is not None:
        root = Path(os.path.abspath(plate_path)).parent
    return EffectiveMaterialization(
        backend=effective_value(cfg, ("materialization_defaults", "backend")),
        output_root=Path(os.path.abspath(Path(root).expanduser())) if root is not None else None,
        compression_level=effective_value(cfg, ("materialization_defaults", "compression_level")),
    )


def config_to_dict(cfg: ConfigModel) -> dict[str, Any]:
    """JSON-ready dict (enums as values, paths as strings)."""
    return cfg.model_dump(mode="json")


def save_config(cfg: ConfigModel, path: str | os.PathLike[str]) -> Path:
    """Write ``cfg`` as JSON atomically (temp file + rename) and return the path."""
    target = Path(path)
    text = _jsonio.dumps(config_to_dict(cfg), f"config file {target}", ConfigFileError) + "\n"
    try:
        write_text_atomic(target, text)
    except OSError as e:
        raise ConfigFileError(f"Cannot write config file {target}: {e.strerror or e}.") from e
    return target


def describe_validation_error(err: ValidationError, most: int | None = None) -> str:
    """The fields pydantic refused, as ``field 'a.b': reason; ...`` (one line for the user).

    ``most`` caps how many are named (the rest are counted: ``(and 2 more)``);
    the project file and the CLI name only the first, a config file every one.
    """
    errors = err.errors(include_url=False)
    parts = []
    for item in errors[:most]:
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"field '{field}': {item['msg']}")
    rest = len(errors) - len(parts)
    return "; ".join(parts) + (f" (and {rest} more)" if rest > 0 else "")


def load_config(
    path: str | os.PathLike[str], model: type[ConfigModel] = GlobalPipelineConfig
) -> Any:
    """Read a JSON or TOML config file and validate it.

    Raises
    ------
    ConfigFileError
        Naming the file, and the field and reason when validation fails.
    """
    source = Path(path)
    try:
        raw = source.read_bytes()
    except OSError as e:
        raise ConfigFileError(f"Cannot read config file {source}: {e.strerror or e}.") from e
    try:
        if source.suffix.lower() == ".toml":
            data = tomllib.loads(raw.decode("utf-8"))
            _jsonio.check_depth(data, f"Config file {source}", ConfigFileError)
        else:
            data = _jsonio.loads(raw, f"Config file {source}", ConfigFileError)
    except (ValueError, UnicodeDecodeError, RecursionError) as e:
        if isinstance(e, ConfigFileError):
            raise
        if isinstance(e, RecursionError):
            raise ConfigFileError(f"Config file {source} is nested more than {_jsonio.MAX_DEPTH} levels deep.") from e
        raise ConfigFileError(f"Config file {source} is not valid {source.suffix or 'JSON'}: {e}.") from e
    if not isinstance(data, dict):
        raise ConfigFileError(f"Config file {source} must contain an object at the top level.")
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise ConfigFileError(f"Config file {source} is invalid: {describe_validation_error(e)}.") from e
