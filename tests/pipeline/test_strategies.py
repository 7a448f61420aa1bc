"""The seed's three storage strategies, end to end on a synthetic plate.

Each produces exactly the expected file tree, TIFF pixels equal to what the
functions compute, counts equal to the plate's ground truth, a zarr plate that
reads back (and validates as OME-Zarr), and provenance that matches.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile
import zarr
from pipeline_helpers import (
    CHANNELS,
    SITES,
    WELLS,
    create_final_dataset,
    detailed_analysis,
    input_image,
    preprocess,
    tree,
)

from openhcs_gui import (
    Backend,
    FunctionStep,
    GlobalPipelineConfig,
    MaterializationBackend,
    Pipeline,
    VFSConfig,
    ZarrChunkStrategy,
    ZarrCompressor,
    ZarrConfig,
)
from openhcs_gui.constants import RunStatus
from openhcs_gui.pipeline import RunResult, open_workspace
from openhcs_gui.vfs.keys import ImageKey

KEYS = [ImageKey(w, s, c) for w in WELLS for s in range(1, SITES + 1) for c in range(1, CHANNELS + 1)]


def _expected(plate: Path, key: ImageKey, n_funcs: int) -> np.ndarray:
    """Input image through the first ``n_funcs`` of preprocess -> analysis -> final."""
    stack = input_image(plate, key.well, key.site, key.channel)[np.newaxis]
    for func in (preprocess, lambda s: detailed_analysis(s)[0], create_final_dataset)[:n_funcs]:
        stack = func(stack)
    return stack[0]


def _tiffs(folder: str, tables: tuple[str, ...] = ()) -> set[str]:
    files = {f"{folder}/{k.filename()}" for k in KEYS}
    for name in tables:
        files |= {f"{folder}/{w}_{name}.csv" for w in WELLS} | {f"{folder}/{name}.csv"}
    return files


def _check_counts(result: RunResult, step: str, ground_truth: dict[tuple[str, int], int]) -> None:
    rows = [r for r in result.get_table(step, "counts") if r["channel"] == 1]
    assert {(r["well"], r["site"]): r["count"] for r in rows} == ground_truth
    per_well = Path(result.step(step).folder) / "A01_counts.csv"
    # the plate records channel names (DAPI/FITC), so each row says which channel in words too
    assert per_well.read_text().splitlines()[0] == "well,site,channel,channel_name,z,count"


def _check_zarr(result: RunResult, step: str, plate: Path, n_funcs: int, level: int) -> None:
    out = result.step(step)
    store = Path(out.image_dir)
    group = zarr.open_group(str(store), mode="r")
    assert "plate" in group.attrs.asdict() or "ome" in group.attrs.asdict()
    for key in KEYS:
        np.testing.assert_array_equal(result.get_image(step, key), _expected(plate, key, n_funcs))
    arrays = json.loads(result.metadata_path.read_text())["steps"][out.index]["zarr_arrays"]
    assert arrays, "provenance lists the zarr arrays"
    zarray = json.loads((store / arrays[0] / ".zarray").read_text())
    assert f"'clevel': {level}" in str(zarray["compressor"]) or zarray["compressor"].get("clevel") == level
    from ome_zarr_models.v04.hcs import HCS

    HCS.from_zarr(zarr.open_group(str(store), mode="r"))  # raises if not a valid NGFF 0.4 plate


def _check_provenance(result: RunResult, backends: list[Backend]) -> None:
    doc = json.loads(result.metadata_path.read_text())
    assert doc["status"] == "completed" and not doc["errors"]
    assert [s["backend"] for s in doc["steps"]] == [b.value for b in backends]
    assert set(doc["wells"]) == set(WELLS) and all(w["status"] == "completed" for w in doc["wells"].values())
    assert doc["software"]["numpy"] == np.__version__
    assert doc["config"]["num_workers"] == 2
    assert [s["name"] for s in doc["pipeline"]["steps"]] == [s.name for s in result.steps]
    reopened = open_workspace(result.workspace)
    assert reopened.status is RunStatus.COMPLETED
    assert [s.backend for s in reopened.steps] == backends
    assert [s.keys for s in reopened.steps] == [s.keys for s in result.steps]
    for out in reopened.steps:
        if out.backend is not Backend.MEMORY:
            key = KEYS[-1]
            np.testing.assert_array_equal(reopened.get_image(out.name, key), result.get_image(out.name, key))


def test_high_performance_memory_then_forced_disk(plate, cfg, ground_truth) -> None:
    cfg.materialization_defaults.backend = Backend.MEMORY
    pipeline = Pipeline([
        FunctionStep(func=preprocess, name="preprocess"),
        FunctionStep(func=create_final_dataset, name="mask"),
        FunctionStep(func=detailed_analysis, name="final_results", force_disk_output=True),
    ])
    result = pipeline.run(plate, cfg)
    assert result.status is RunStatus.COMPLETED, result.errors
    ws = result.workspace
    assert ws == cfg.materialization_defaults.output_path / "plate_workspace"
    assert tree(ws) == {"openhcs_metadata.json"} | _tiffs("step3_final_results", ("counts",))
    for key in KEYS:
        mask = create_final_dataset(preprocess(input_image(plate, key.well, key.site, key.channel)[None]))
        want = detailed_analysis(mask)[0][0]
        np.testing.assert_array_equal(tifffile.imread(ws / "step3_final_results" / key.filename()), want)
        np.testing.assert_array_equal(result.get_image("preprocess", key), _expected(plate, key, 1))
    _check_provenance(result, [Backend.MEMORY, Backend.MEMORY, Backend.DISK])


def test_large_dataset_zarr_level6_with_checkpoint(plate, cfg, ground_truth) -> None:
    cfg.materialization_defaults.backend = Backend.ZARR
    cfg.materialization_defaults.compression_level = 6
    pipeline = Pipeline([
        FunctionStep(func=preprocess, name="preprocess"),
        FunctionStep(func=detailed_analysis, name="checkpoint", force_disk_output=True),
        FunctionStep(func=create_final_dataset, name="final"),
    ])
    result = pipeline.run(plate, cfg)
    assert result.status is RunStatus.COMPLETED, result.errors
    ws = result.workspace
    assert tree(ws) == ({"openhcs_metadata.json", "step3_final/images.zarr/"}
                        | _tiffs("step2_checkpoint", ("counts",)))
    for key in KEYS:
        np.testing.assert_array_equal(tifffile.imread(ws / "step2_checkpoint" / key.filename()),
                                      _expected(plate, key, 2))
    _check_counts(result, "checkpoint", ground_truth)
    _check_zarr(result, "final", plate, 3, level=6)
    _check_provenance(result, [Backend.MEMORY, Backend.DISK, Backend.ZARR])


def test_mixed_strategy_and_seed_example_as_written(plate, tmp_path, ground_truth) -> None:
    plate_dir = plate
    # --- the ARCHITECTURE / seed example, verbatim except for the output folder ---
    cfg = GlobalPipelineConfig(
        vfs=VFSConfig(intermediate_backend=Backend.MEMORY,
                      materialization_backend=MaterializationBackend.ZARR),
        zarr=ZarrConfig(store_name="images.zarr", compressor=ZarrCompressor.ZSTD,
                        compression_level=1, shuffle=True,
                        chunk_strategy=ZarrChunkStrategy.SINGLE,
                        ome_zarr_metadata=True, write_plate_metadata=True),
        num_workers=8)
    cfg.materialization_defaults.backend = Backend.ZARR
    cfg.materialization_defaults.output_path = str(tmp_path / "results")
    cfg.materialization_defaults.compression_level = 6
    pipeline = Pipeline([
        FunctionStep(func=preprocess, name="preprocess"),
        FunctionStep(func=detailed_analysis, name="analysis", force_disk_output=True),
        FunctionStep(func=create_final_dataset, name="final", backend=Backend.ZARR),
    ])
    result = pipeline.run(plate_dir, cfg)
    # -------------------------------------------------------------------------
    assert result.status is RunStatus.COMPLETED, result.errors
    ws = result.workspace
    assert ws == tmp_path / "results" / "plate_workspace"
    assert tree(ws) == ({"openhcs_metadata.json", "step3_final/images.zarr/"}
                        | _tiffs("step2_analysis", ("counts",)))
    for key in KEYS:
        np.testing.assert_array_equal(result.get_image("analysis", key), _expected(plate, key, 2))
        np.testing.assert_array_equal(result.get_image("preprocess", key), _expected(plate, key, 1))
    _check_counts(result, "analysis", ground_truth)
    _check_zarr(result, "final", plate, 3, level=6)
    doc = json.loads(result.metadata_path.read_text())
    assert doc["config"]["materialization_defaults"]["compression_level"] == 6
    assert doc["steps"][1]["images"] == sorted(k.filename() for k in KEYS)


@pytest.mark.parametrize("workers", [1, 3])
def test_results_do_not_depend_on_worker_count(plate, cfg, workers: int) -> None:
    cfg.num_workers = workers
    events: list[object] = []
    pipeline = Pipeline([FunctionStep(preprocess, name="p"), FunctionStep(detailed_analysis, name="a")])
    result = pipeline.run(plate, cfg, progress=events.append)
    assert [r["well"] for r in result.get_table("a", "counts")] == sorted(
        [w for w in WELLS for _ in range(SITES * CHANNELS)])
    assert list(result.timings) == WELLS
    names = [type(e).__name__ for e in events]
    assert names[0] == "RunStarted" and names[-1] == "RunFinished"
    assert names.count("StepFinished") == len(WELLS) * 2 and names.count("WellFinished") == len(WELLS)
    written = [e for e in events if type(e).__name__ == "ImageWritten" and e.backend is Backend.DISK]
    assert sum(e.nbytes for e in written) == result.bytes_written > 0
