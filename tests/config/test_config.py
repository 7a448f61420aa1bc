"""Config models: the seed example, validation naming fields, files, inheritance, events."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from openhcs_gui.config import (
    INHERITED_FROM,
    EffectiveMaterialization,
    MaterializationConfig,
    effective_materialization,
    effective_value,
    load_config,
    save_config,
)
from openhcs_gui.errors import ConfigFileError


def _seed_config() -> Any:
    # The seed document's own example, verbatim (openhcs.* -> openhcs_gui).
    from openhcs_gui import (
        Backend,
        FunctionStep,  # noqa: F401  (part of the seed's import line)
        GlobalPipelineConfig,
        MaterializationBackend,
        Pipeline,  # noqa: F401
        VFSConfig,
        ZarrChunkStrategy,
        ZarrCompressor,
        ZarrConfig,
    )

    cfg = GlobalPipelineConfig(
        vfs=VFSConfig(intermediate_backend=Backend.MEMORY,
                      materialization_backend=MaterializationBackend.ZARR),
        zarr=ZarrConfig(store_name="images.zarr", compressor=ZarrCompressor.ZSTD,
                        compression_level=1, shuffle=True,
                        chunk_strategy=ZarrChunkStrategy.SINGLE,
                        ome_zarr_metadata=True, write_plate_metadata=True),
        num_workers=8)
    cfg.materialization_defaults.backend = Backend.ZARR
    cfg.materialization_defaults.output_path = "/data/results"
    cfg.materialization_defaults.compression_level = 6
    return cfg


def test_seed_example_builds() -> None:
    from openhcs_gui import Backend, MaterializationBackend, ZarrChunkStrategy, ZarrCompressor

    cfg = _seed_config()
    assert cfg.num_workers == 8
    assert cfg.vfs.intermediate_backend is Backend.MEMORY
    assert cfg.vfs.materialization_backend is MaterializationBackend.ZARR
    assert cfg.zarr.compressor is ZarrCompressor.ZSTD and cfg.zarr.compression_level == 1
    assert cfg.zarr.chunk_strategy is ZarrChunkStrategy.SINGLE and cfg.zarr.shuffle
    assert cfg.materialization_defaults.backend is Backend.ZARR
    assert cfg.materialization_defaults.output_path == Path("/data/results")
    assert isinstance(cfg.materialization_defaults.output_path, Path)  # coerced from str
    assert cfg.materialization_defaults.compression_level == 6


def test_defaults() -> None:
    from openhcs_gui import Backend, GlobalPipelineConfig, MaterializationBackend

    cfg = GlobalPipelineConfig()
    assert cfg.num_workers >= 1
    assert cfg.vfs.intermediate_backend is Backend.MEMORY
    assert cfg.vfs.materialization_backend is MaterializationBackend.DISK
    assert cfg.zarr.store_name == "images.zarr" and cfg.zarr.compression_level == 1
    assert cfg.materialization_defaults == MaterializationConfig()
    assert cfg.materialization_defaults.backend is None  # None = inherit


def _field_of(err: ValidationError) -> list[str]:
    return [".".join(str(p) for p in e["loc"]) for e in err.errors()]


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda m: m.ZarrConfig(compression_level=0), "compression_level"),
        (lambda m: m.ZarrConfig(compression_level=10), "compression_level"),
        (lambda m: m.MaterializationConfig(compression_level=0), "compression_level"),
        (lambda m: m.GlobalPipelineConfig(num_workers=0), "num_workers"),
        (lambda m: m.GlobalPipelineConfig(num_wrokers=4), "num_wrokers"),
        (lambda m: m.VFSConfig(intermediate_backend="tape"), "intermediate_backend"),
        (lambda m: m.VFSConfig(materialization_backend="memory"), "materialization_backend"),
        (lambda m: m.GlobalPipelineConfig(zarr={"compresor": "zstd"}), "zarr.compresor"),
        (lambda m: m.ZarrConfig(store_name="a/b.zarr"), "store_name"),
    ],
)
def test_invalid_values_name_the_field(build: Any, field: str) -> None:
    import openhcs_gui.config as m

    with pytest.raises(ValidationError) as info:
        build(m)
    assert field in _field_of(info.value)
    assert field.split(".")[-1] in str(info.value)


def test_invalid_assignment_is_refused_and_keeps_value() -> None:
    cfg = _seed_config()
    with pytest.raises(ValidationError, match="compression_level"):
        cfg.materialization_defaults.compression_level = 0
    with pytest.raises(ValidationError, match="backend"):
        cfg.materialization_defaults.backend = "floppy"
    with pytest.raises(ValidationError, match="num_workers"):
        cfg.num_workers = 0
    with pytest.raises(ValidationError, match="typo"):
        cfg.vfs.typo = 1
    assert cfg.materialization_defaults.compression_level == 6 and cfg.num_workers == 8


def test_backend_accepts_string_values() -> None:
    from openhcs_gui import Backend

    cfg = _seed_config()
    cfg.materialization_defaults.backend = "disk"
    assert cfg.materialization_defaults.backend is Backend.DISK


# ---------------------------------------------------------------- files
def test_json_round_trip(tmp_path: Path) -> None:
    cfg = _seed_config()
    path = save_config(cfg, tmp_path / "cfg.json")
    data = json.loads(path.read_text())
    assert data["materialization_defaults"] == {
        "backend": "zarr", "output_path": "/data/results", "compression_level": 6
    }
    assert load_config(path) == cfg
    assert [p.name for p in tmp_path.iterdir()] == ["cfg.json"]  # no temp file left


def test_toml_load(tmp_path: Path) -> None:
    path = tmp_path / "cfg.toml"
    path.write_text(
        'num_workers = 8\n[vfs]\nintermediate_backend = "memory"\nmaterialization_backend = "zarr"\n'
        '[zarr]\ncompression_level = 1\n'
        '[materialization_defaults]\nbackend = "zarr"\noutput_path = "/data/results"\n'
        "compression_level = 6\n"
    )
    assert load_config(path) == _seed_config()


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ('{"zarr": {"compression_level": 0}}', ["zarr.compression_level"]),
        ('{"num_workers": 0}', ["num_workers"]),
        ('{"vfs": {"intermediate_backend": "tape"}}', ["vfs.intermediate_backend"]),
        ('{"unknown": 1}', ["unknown"]),
        ("{not json", ["not valid"]),
        ("[1, 2]", ["object at the top level"]),
    ],
)
def test_bad_file_names_file_and_field(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ConfigFileError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message
    assert isinstance(info.value, ValueError)


def test_missing_file_names_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="nothere.json"):
        load_config(tmp_path / "nothere.json")


def test_bad_toml_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[zarr]\ncompression_level = 42\n")
    with pytest.raises(ConfigFileError, match=r"bad\.toml.*zarr\.compression_level"):
        load_config(path)


# ----------------------------------------------------------- inheritance
def test_effective_materialization_inherits() -> None:
    from openhcs_gui import Backend, GlobalPipelineConfig

    cfg = GlobalPipelineConfig()
    eff = effective_materialization(cfg, "/plates/P1")
    assert eff == EffectiveMaterialization(
        backend=Backend.DISK, output_root=Path("/plates"), compression_level=1
    )
    assert effective_materialization(cfg).output_root is None
    cfg.vfs.materialization_backend = "zarr"
    cfg.zarr.compression_level = 4
    eff = effective_materialization(cfg, "/plates/P1")
    assert eff.backend is Backend.ZARR and eff.compression_level == 4


def test_effective_materialization_explicit_wins() -> None:
    from openhcs_gui import Backend

    eff = effective_materialization(_seed_config(), "/plates/P1")
    assert eff == EffectiveMaterialization(
        backend=Backend.ZARR, output_root=Path("/data/results"), compression_level=6
    )


def test_effective_value_follows_table() -> None:
    from openhcs_gui import Backend, GlobalPipelineConfig

    cfg = GlobalPipelineConfig()
    for path, source in INHERITED_FROM.items():
        assert effective_value(cfg, path) == effective_value(cfg, source)
    assert effective_value(cfg, ("materialization_defaults", "backend")) is Backend.DISK
    cfg.materialization_defaults.backend = Backend.MEMORY
    assert effective_value(cfg, ("materialization_defaults", "backend")) is Backend.MEMORY
    cfg.materialization_defaults.backend = None  # back to inheriting
    assert effective_value(cfg, ("materialization_defaults", "backend")) is Backend.DISK
    assert effective_value(cfg, ("num_workers",)) == cfg.num_workers


# ----------------------------------------------------------------- events
def test_events_fire_only_on_change() -> None:
    from openhcs_gui import Backend, GlobalPipelineConfig

    cfg = GlobalPipelineConfig(num_workers=2)
    seen: list[Any] = []
    cfg.events.num_workers.connect(seen.append)
    cfg.materialization_defaults.events.backend.connect(seen.append)
    cfg.zarr.events.compression_level.connect(seen.append)
    cfg.num_workers = 3
    cfg.num_workers = 3  # same value: no event
    cfg.materialization_defaults.backend = Backend.ZARR
    cfg.zarr.compression_level = 5
    assert seen == [3, Backend.ZARR, 5]
    with pytest.raises(ValidationError):
        cfg.num_workers = -1
    assert seen == [3, Backend.ZARR, 5]  # a refused value emits nothing


def test_validation_errors_read_as_one_line_naming_each_field_or_the_first() -> None:
    """One formatter for config files, pipeline settings, project files and the CLI."""
    from openhcs_gui.config import GlobalPipelineConfig, describe_validation_error

    with pytest.raises(ValidationError) as info:
        GlobalPipelineConfig.model_validate({"num_workers": 0, "vfs": {"intermediate_backend": "tape"}})
    every = describe_validation_error(info.value)
    assert every.count("field '") == 2 and "field 'num_workers'" in every and "\n" not in every
    first = describe_validation_error(info.value, most=1)
    assert first.count("field '") == 1 and first.endswith("(and 1 more)")
