"""Wells on dask.distributed worker processes: same outputs, events, cancel and resume as threads.

One LocalCluster of two single-threaded worker processes serves the module;
plates are tiny (16 wells x 1 site x 2 channels x 64²) so the module stays
under a minute on a loaded two-core machine.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import time
from pathlib import Path
from typing import Any

import dask
import numpy as np
import pytest
from pipeline_helpers import slow_copy

from openhcs_gui import cli
from openhcs_gui.config import GlobalPipelineConfig
from openhcs_gui.constants import Backend, RunStatus
from openhcs_gui.errors import PathNotFoundError, PipelineError
from openhcs_gui.pipeline import (
    FunctionStep,
    ImageWritten,
    Pipeline,
    WellFinished,
    load_demo_pipeline,
    open_workspace,
)
from openhcs_gui.pipeline.events import CancelToken
from openhcs_gui.pipeline.executors import DaskExecutor
from openhcs_gui.pipeline.executors.dask import TRIM_KEY
from openhcs_gui.pipeline.runner import run_pipeline
from openhcs_gui.plates import make_synthetic_plate
from openhcs_gui.vfs.zarr_store import CODEC_THREADS_ENV

HELPERS = Path(__file__).with_name("pipeline_helpers.py")
N_WELLS = 16


@pytest.fixture(scope="module")
def tiny_plate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("dask") / "plate"
    return make_synthetic_plate(root, wells=N_WELLS, sites=1, channels=2, shape=(64, 64), seed=5)


@pytest.fixture(scope="module")
def cluster() -> Any:
    from distributed import LocalCluster

    with dask.config.set({TRIM_KEY: None}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    yield local
    local.close()


@pytest.fixture(scope="module")
def executor(cluster: Any) -> Any:
    from distributed.diagnostics.plugin import UploadFile

    ex = DaskExecutor(cluster.scheduler_address)
    # the test functions (seed_*) registered on every worker, restarted ones too; not
    # client.upload_file: its scheduler half would re-import the module in this process
    ex.client.register_plugin(UploadFile(str(HELPERS)))
    yield ex
    ex.close()


def _copy(plate: Path, tmp_path: Path) -> Path:
    target = tmp_path / "plate"
    shutil.copytree(plate, target)
    return target


def _cfg(tmp_path: Path, name: str) -> GlobalPipelineConfig:
    cfg = GlobalPipelineConfig(num_workers=2)
    cfg.materialization_defaults.output_path = tmp_path / name
    return cfg


def _demo_with_tiffs() -> Pipeline:
    pipeline = load_demo_pipeline()
    pipeline[0].force_disk_output = True  # blur -> TIFFs, count -> OME-Zarr
    return pipeline


def _files(ws: Path) -> dict[str, bytes]:
    skip = {"openhcs_metadata.json", ".openhcs-lock"}
    return {p.relative_to(ws).as_posix(): p.read_bytes() for p in sorted(ws.rglob("*"))
            if p.is_file() and p.name not in skip and not p.name.startswith("openhcs_journal")}


def _zarr_wells(ws: Path) -> set[str]:
    store = next(ws.rglob("images.zarr"))
    attrs_file = store / ".zattrs" if (store / ".zattrs").exists() else store / "zarr.json"
    attrs = json.loads(attrs_file.read_text())
    plate = attrs.get("plate") or attrs["attributes"]["ome"]["plate"]
    return {"{}{:02d}".format(*_row_col(w["path"])) for w in plate["wells"]}


def _row_col(path: str) -> tuple[str, int]:
    row, col = path.split("/")
    return row, int(col)


@pytest.fixture(scope="module")
def both_runs(tiny_plate: Path, executor: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("both")
    threads = run_pipeline(_demo_with_tiffs(), tiny_plate, _cfg(tmp, "threads"))
    events: list[Any] = []
    distributed = run_pipeline(_demo_with_tiffs(), tiny_plate, _cfg(tmp, "dask"), executor=executor,
                               progress=events.append)
    return {"threads": threads, "dask": distributed, "events": events}


def test_dask_outputs_equal_a_thread_run_byte_for_byte(both_runs: dict[str, Any]) -> None:
    threads, distributed = both_runs["threads"], both_runs["dask"]
    assert distributed.status is RunStatus.COMPLETED, distributed.errors
    a, b = _files(threads.workspace), _files(distributed.workspace)
    assert sorted(a) == sorted(b)
    assert any(name.endswith(".tif") for name in a) and any(".zarr/" in name for name in a)
    different = [name for name in a if a[name] != b[name]]  # TIFFs, zarr chunks + metadata, CSVs
    assert different == []
    assert _zarr_wells(distributed.workspace) == set(distributed.wells)
    assert len(distributed.wells) == N_WELLS


def test_provenance_names_the_worker_process_of_every_well(both_runs: dict[str, Any], executor: Any) -> None:
    doc = json.loads(both_runs["dask"].metadata_path.read_text())
    worker_pids = set(executor.client.run(os.getpid).values())
    assert os.getpid() not in worker_pids
    for well, entry in doc["wells"].items():
        assert entry["status"] == "completed", well
        assert entry["host"] and entry["pid"] in worker_pids, (well, entry)


def _codec_env() -> str | None:
    """A worker's codec thread setting (via ``client.run``)."""
    return os.environ.get(CODEC_THREADS_ENV)


def test_each_worker_gets_its_share_of_the_cores_for_codecs(both_runs: dict[str, Any], executor: Any) -> None:
    shares = executor.client.run(_codec_env)  # the fixture's workers had none set
    assert set(shares.values()) == {str(max(1, (os.cpu_count() or 1) // 2))}


def test_events_stream_back_per_step_and_well_in_order(both_runs: dict[str, Any], executor: Any) -> None:
    events = both_runs["events"]
    topics = executor.client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler._broker._topics))
    assert not [t for t in topics if t.startswith("openhcs")]  # the scheduler let go of the run's events
    finished = [e for e in events if isinstance(e, WellFinished)]
    assert sorted(e.well for e in finished) == sorted(both_runs["dask"].wells)
    steps = [e for e in events if type(e).__name__ == "StepFinished"]
    assert len(steps) == 3 * N_WELLS
    for end in finished:  # every image of a well is reported before the well's end
        last_image = max(i for i, e in enumerate(events) if isinstance(e, ImageWritten)
                         and e.path.rsplit("/", 1)[-1].startswith(end.well))
        assert last_image < events.index(end)
    assert type(events[-1]).__name__ == "RunFinished"


def test_memory_output_of_a_dask_run_says_to_rerun_in_preview(both_runs: dict[str, Any]) -> None:
    result = both_runs["dask"]
    key = result.step("background").keys[0]
    with pytest.raises(PathNotFoundError, match="stay in the worker processes; re-run the well in preview"):
        result.get_image("background", key)
    assert np.asarray(result.get_image("blur", key)).shape == (64, 64)  # disk output reads back


def _slow_pipeline(delay: float = 0.25) -> Pipeline:
    count = load_demo_pipeline()[-1]
    return Pipeline([FunctionStep(slow_copy, name="slow", delay=delay), count])


def test_cancel_stops_queued_and_running_wells_and_resume_finishes(
    tiny_plate: Path, executor: Any, tmp_path: Path
) -> None:
    plate, cfg, cancel = _copy(tiny_plate, tmp_path), _cfg(tmp_path, "out"), CancelToken()
    stamp: dict[str, float] = {}

    def on_event(event: Any) -> None:
        if isinstance(event, WellFinished) and event.ok and not cancel.cancelled:
            stamp["cancel"] = time.perf_counter()
            cancel.cancel()

    result = run_pipeline(_slow_pipeline(), plate, cfg, executor=executor, cancel=cancel, progress=on_event)
    stopped_after = time.perf_counter() - stamp["cancel"]
    assert result.status is RunStatus.CANCELLED
    doc = json.loads(result.metadata_path.read_text())
    done = sorted(w for w, e in doc["wells"].items() if e.get("status") == "completed")
    assert 1 <= len(done) <= 3  # queued wells never started; the running one stopped at its next call
    assert stopped_after < 3.0
    assert open_workspace(result.workspace).status is RunStatus.CANCELLED

    resumed = _slow_pipeline().run(plate, cfg, executor=executor, resume=True)
    assert resumed.status is RunStatus.COMPLETED and resumed.workspace == result.workspace
    assert sorted(resumed.skipped_wells) == done
    assert _zarr_wells(resumed.workspace) == set(resumed.wells)
    doc = json.loads(resumed.metadata_path.read_text())
    assert all(e["status"] == "completed" for e in doc["wells"].values())


def test_unregistered_function_fails_in_one_line(tiny_plate: Path, executor: Any, tmp_path: Path) -> None:
    def local_copy(stack: np.ndarray) -> np.ndarray:
        return stack.copy()

    with pytest.raises(PipelineError, match="Cannot run on other processes: .*local_copy"):
        run_pipeline(Pipeline([FunctionStep(local_copy, name="copy")]), _copy(tiny_plate, tmp_path),
                     _cfg(tmp_path, "out"), executor=executor)


def test_cli_run_dask_local(tiny_plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plate = _copy(tiny_plate, tmp_path)
    code = cli.main(["run", str(plate), "--dask", "local", "--workers", "2", "--output", str(tmp_path / "o"),
                     "--json", "-q"])
    assert code == cli.EXIT_OK
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "completed"
    ws = Path(out["workspace"])
    assert _zarr_wells(ws) == {p.name.split("_")[0] for p in (plate / "TimePoint_1").glob("*_w1.tif")}
    pids = {e["pid"] for e in json.loads((ws / "openhcs_metadata.json").read_text())["wells"].values()}
    assert os.getpid() not in pids


def _where() -> tuple[str, int]:
    """(host, pid) of the process running this (a worker, via ``client.run``)."""
    return platform.node(), os.getpid()


def test_cli_run_on_a_scheduler_equals_a_thread_run(
    tiny_plate: Path, executor: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The done-when run: ``run PLATE --dask tcp://...`` (a scheduler, two worker processes) vs threads."""
    plate = _copy(tiny_plate, tmp_path)
    address = executor.client.scheduler.address
    workspaces = {}
    for name, extra in (("threads", ["--workers", "2"]), ("dask", ["--dask", address])):
        code = cli.main(["run", str(plate), *extra, "--output", str(tmp_path / name), "--json", "-q"])
        assert code == cli.EXIT_OK, name
        workspaces[name] = Path(json.loads(capsys.readouterr().out)["workspace"])
    a, b = _files(workspaces["threads"]), _files(workspaces["dask"])
    assert any(".zarr/" in name for name in a) and sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []  # zarr chunks + metadata, tables
    assert len(_zarr_wells(workspaces["dask"])) == N_WELLS
    wells = json.loads((workspaces["dask"] / "openhcs_metadata.json").read_text())["wells"]
    workers = executor.client.run(_where)
    assert len(wells) == N_WELLS
    assert {(e["host"], e["pid"]) for e in wells.values()} <= set(workers.values())


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(("address", "why"), [
    (lambda: f"tcp://127.0.0.1:{_free_port()}", "refused"),
    (lambda: "tcp://no-such-scheduler.invalid:8786", "host name 'no-such-scheduler.invalid' is not known"),
    (lambda: "tcp://127.0.0.1:notaport", "port .* is not a number"),
])
def test_an_unreachable_scheduler_is_one_line_at_once(
    tiny_plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], address: Any, why: str
) -> None:
    """Nothing listening there: the CLI says why in one line (not distributed's 20 s timeout), writes nothing."""
    plate = _copy(tiny_plate, tmp_path)
    where = address()
    code = cli.main(["run", str(plate), "--dask", where, "--output", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == cli.EXIT_BAD_INPUT
    assert len(err.splitlines()) == 1, err
    assert re.search(f"Cannot run on the dask scheduler at {re.escape(where)}: .*{why}", err), err
    assert not (tmp_path / "out").exists()


def test_a_killed_worker_does_not_lose_wells(tiny_plate: Path, executor: Any, tmp_path: Path) -> None:
    """Last: the nanny restarts the killed worker, the scheduler reruns its well elsewhere."""
    pids = list(executor.client.run(os.getpid).values())
    killed: list[int] = []

    def on_event(event: Any) -> None:
        if isinstance(event, WellFinished) and not killed:
            victim = next(p for p in pids if p != event.pid)  # the other worker is mid-well now
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

    result = run_pipeline(_slow_pipeline(0.15), _copy(tiny_plate, tmp_path), _cfg(tmp_path, "out"),
                          executor=executor, progress=on_event)
    assert killed
    assert result.status is RunStatus.COMPLETED, result.errors
    assert _zarr_wells(result.workspace) == set(result.wells)
    doc = json.loads(result.metadata_path.read_text())
    assert all(e["status"] == "completed" and e["pid"] != killed[0] for e in doc["wells"].values())
    assert result.step("count").backend is Backend.ZARR
