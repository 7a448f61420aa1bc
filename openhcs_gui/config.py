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
        description="Where step outputs that nothing asks to keep live during a run "
        "(memory is fastest and is dropped after the last reader).",
    )
    materialization_backend: MaterializationBackend = Field(
        default=MaterializationBackend.DISK,
        description="Persistent backend for the final step unless a step or "
        "materialization_defaults says otherwise.",
    )


class ZarrConfig(ConfigModel):
    """How the zarr backend writes its OME-Zarr HCS plate."""

    store_name: str = Field(
        default="images.zarr",
        min_length=1,
        pattern=r"^[^/\\]+$",
        description="Folder name of the zarr store inside each step folder.",
    )
    compressor: ZarrCompressor = Field(
        default=ZarrCompressor.ZSTD, description="Codec for chunks (zstd/lz4 run through Blosc)."
    )
    compression_level: int = Field(
        default=1, ge=MIN_LEVEL, le=MAX_LEVEL, description="Codec level, 1 (fast) to 9 (small)."
    )
    shuffle: bool = Field(default=True, description="Byte-shuffle before compressing (smaller, fast).")
    chunk_strategy: ZarrChunkStrategy = Field(
        default=ZarrChunkStrategy.SINGLE,
        description="SINGLE: one chunk per image plane (fast single-image reads); "
        "WELL: one chunk per field array.",
    )
    ome_zarr_metadata: bool = Field(default=True, description="Write multiscales + omero metadata.")
    write_plate_metadata: bool = Field(default=True, description="Write HCS plate and well metadata.")
    ngff_version: Literal["0.4", "0.5"] = Field(
        default="0.4", description="OME-NGFF version: 0.4 on zarr v2 files, 0.5 on zarr v3."
    )
    pyramid_levels: int | None = Field(
        default=None, ge=1, le=16,
        description="Resolution levels per field, full resolution included (1 = no pyramid); "
        "None: halve until the longest side is at most pyramid_min_size.",
    )
    pyramid_min_size: int = Field(
        # 128, not 256: napari's zoomed-out plate view reads the coarsest level of every well;
        # a 24-well plate of 1024² fields reads 1.4 MB per channel at 256 px, 0.4 MB at 128 px.
        default=128, ge=16,
        description="Automatic pyramid: the coarsest level's longest side is at most this (px).",
    )


class MaterializationConfig(ConfigModel):
    """Defaults for materialized (persistent) step outputs; ``None`` inherits."""

    backend: Backend | None = Field(
        default=None, description="Backend of the final step; empty = vfs.materialization_backend."
    )
    output_path: Path | None = Field(
        default=None, description="Folder the workspace is created in; empty = next to the plate."
    )
    compression_level: int | None = Field(
        default=None, ge=MIN_LEVEL, le=MAX_LEVEL, description="Zarr level; empty = zarr.compression_level."
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
        description="Wells processed in parallel.",
    )
    vfs: VFSConfig = Field(default_factory=VFSConfig)
    zarr: ZarrConfig = Field(default_factory=ZarrConfig)
    materialization_defaults: MaterializationConfig = Field(default_factory=MaterializationConfig)
    keep_intermediates: bool = Field(
        default=True,
        description="Keep in-memory step outputs after the run so they can be browsed "
        "(uses RAM); off drops each one after its last reader.",
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


def _describe(err: ValidationError) -> str:
    parts = []
    for item in err.errors():
        field = ".".join(str(p) for p in item["loc"]) or "(top level)"
        parts.append(f"field '{field}': {item['msg']}")
    return "; ".join(parts)


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
        raise ConfigFileError(f"Config file {source} is invalid: {_describe(e)}.") from e
