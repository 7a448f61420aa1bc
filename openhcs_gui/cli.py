"""``openhcs-gui`` command line: run | demo | info | gui | export-script | schema.

No arguments, or a plate folder as the only argument (``openhcs-gui PLATE``, as
the desktop entry's ``Exec=openhcs-gui %f`` passes it), starts the GUI.

Exit codes (also in ``--help``): 0 success, 1 the run finished but some wells
failed, 2 bad input or an unusable file or folder (one line on stderr, no
traceback), 130 cancelled with Ctrl-C. ``-v`` writes a line per finished
well, ``-vv`` adds the engine's debug log, ``-q`` keeps only errors; when stderr is not a terminal, progress is written
as log lines instead of a progress bar. This module imports no Qt; ``gui``
imports :mod:`openhcs_gui.ui.app` only when a display is available.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from openhcs_gui.display import has_display
from openhcs_gui.errors import OpenHCSError

__all__ = ["main", "build_parser", "has_display"]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_CANCELLED = 0, 1, 2, 130
DEMO_DIR = "demo_plate"
EXIT_CODES = f"""exit codes:
  {EXIT_OK}    success
  {EXIT_FAILED}    the run finished but some wells failed (see the summary and 'info')
  {EXIT_BAD_INPUT}    bad input: missing or invalid plate, pipeline, config or workspace, an
       unwritable folder or a full disk (one line on stderr, no traceback)
  {EXIT_CANCELLED}  cancelled with Ctrl-C (finished wells are kept; continue with --resume)"""
PROGRESS_EVERY = 2.0  #: seconds between two progress log lines when stderr is not a terminal
log = logging.getLogger("openhcs_gui.cli")


class _BadInput(Exception):
    """A user error reported as one line with exit code 2."""


def _version() -> str:
    from openhcs_gui import __version__

    return __version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for docs and tests)."""
    parser = argparse.ArgumentParser(
        prog="openhcs-gui",
        description="High-content-screening pipelines: memory-first engine, OME-Zarr output, napari GUI.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    _add_verbosity(parser, default=0)
    common = argparse.ArgumentParser(add_help=False)
    _add_verbosity(common, default=argparse.SUPPRESS)  # after the subcommand too, without resetting it
    parser.add_argument(
        "--smoke-test", metavar="OUTPUT_DIR",
        help="self-check: open the window, run the demo pipeline, show its zarr output, "
             "write screenshot.png + smoke_report.json to OUTPUT_DIR",
    )
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run a pipeline on a plate, headless", parents=[common], epilog=EXIT_CODES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    run.add_argument("plate", help="plate folder (ImageXpress, Opera, OME-Zarr or a workspace step folder)")
    run.add_argument("--pipeline", help="pipeline JSON file (default: the bundled demo pipeline)")
    run.add_argument("--config", help="GlobalPipelineConfig JSON/TOML file (default: the settings saved with the pipeline, else the defaults)")
    run.add_argument("--output", help="folder to create <plate>_workspace in (default: next to the plate)")
    run.add_argument("--backend", choices=["zarr", "disk"], help="backend of the final step")
    run.add_argument("--workers", type=int, help="wells processed in parallel (with --dask local: worker processes)")
    run.add_argument("--dask", metavar="local|tcp://HOST:PORT",
                     help="run wells as dask.distributed tasks: 'local' starts --workers processes here, "
                          "tcp://HOST:PORT uses a running scheduler (see docs/cluster.md)")
    run.add_argument("--overwrite", action="store_true", help="replace an existing workspace")
    run.add_argument("--resume", nargs="?", const=True, default=None, metavar="WORKSPACE",
                     help="continue a killed or failed run in its workspace (default: the plate's newest), "
                          "skipping wells it completed; pipeline and config default to the workspace's own")
    run.add_argument("--json", action="store_true",
                     help="print the result summary as JSON on stdout (instead of the sentence)")
    demo = sub.add_parser("demo", help="write the demo plate (8 wells x 4 sites x 2 channels)", parents=[common], epilog=EXIT_CODES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    demo.add_argument("path", nargs="?", default=DEMO_DIR, help="folder to write it to")
    info = sub.add_parser("info", help="print the provenance of a workspace", parents=[common], epilog=EXIT_CODES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    info.add_argument("workspace", help="workspace folder (or its openhcs_metadata.json)")
    info.add_argument("--json", action="store_true", help="print the raw JSON")
    gui = sub.add_parser("gui", help="start the desktop app (the default)", parents=[common], epilog=EXIT_CODES,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    gui.add_argument("plate", nargs="?", help="plate to open")
    gui.add_argument("--demo-if-missing", action="store_true",
                     help=f"without PLATE, open ./{DEMO_DIR} (generated if absent) with the demo pipeline")
    gui.add_argument("--pipeline", help="pipeline JSON file to load into the editor")
    export = sub.add_parser("export-script", parents=[common], epilog=EXIT_CODES,
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            help="write a Python script that rebuilds a pipeline + config and runs it "
                                 "(python SCRIPT.py PLATE [OUTPUT])")
    export.add_argument("pipeline", help="pipeline JSON file")
    export.add_argument("--config", help="GlobalPipelineConfig JSON/TOML file (default: the settings saved with the pipeline, else the defaults)")
    export.add_argument("-o", "--output", metavar="SCRIPT.py", help="write here (default: stdout)")
    schema = sub.add_parser("schema", parents=[common], epilog=EXIT_CODES,
                            formatter_class=argparse.RawDescriptionHelpFormatter,
                            help="print the JSON Schema of pipeline, config or project files")
    schema.add_argument("kind", nargs="?", choices=["pipeline", "config", "project"],
                        help="which file (default: all, as {\"pipeline\": ..., \"config\": ..., "
                        "\"project\": ...})")
    return parser


def _add_verbosity(parser: argparse.ArgumentParser, default: Any) -> None:
    parser.add_argument("-v", "--verbose", action="count", default=default,
                        help="more output on stderr (-v: a line per finished well, -vv: the engine's debug log)")
    parser.add_argument("-q", "--quiet", action="count", default=default,
                        help="only errors on stderr (no progress, no warnings)")


@contextmanager
def _logging(verbose: int, quiet: int) -> Iterator[None]:
    """Send ``openhcs_gui`` log records to the current stderr as one line each, for one command."""
    level = logging.ERROR if quiet else (logging.WARNING, logging.WARNING, logging.DEBUG)[min(verbose, 2)]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("openhcs-gui: %(levelname)s: %(message)s"))
    root = logging.getLogger("openhcs_gui")
    old_level, old_propagate = root.level, root.propagate
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False
    cli_level = log.level
    log.setLevel(logging.ERROR if quiet else logging.INFO)  # progress lines unless -q
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        root.propagate = old_propagate
        log.setLevel(cli_level)


def _config(args: argparse.Namespace, recorded: dict[str, Any] | None = None, saved: Any = None) -> Any:
    """The run's config, then flags: ``--config``, else the resumed workspace's (``recorded``), else the
    settings saved with the pipeline (``saved``), else defaults."""
    from openhcs_gui.config import GlobalPipelineConfig, describe_validation_error, load_config
    from openhcs_gui.constants import Backend

    if getattr(args, "config", None):
        cfg = load_config(args.config)
    elif recorded is not None:
        from pydantic import ValidationError

        try:
            cfg = GlobalPipelineConfig.model_validate(recorded)
        except ValidationError as e:
            raise _BadInput(f"The workspace's recorded config is invalid ({describe_validation_error(e, most=1)}); "
                            "pass --config.") from e
    elif saved is not None:
        cfg = saved.model_copy(deep=True)
    else:
        cfg = GlobalPipelineConfig()
    if getattr(args, "output", None):
        cfg.materialization_defaults.output_path = Path(args.output).resolve()
    if getattr(args, "backend", None):
        cfg.materialization_defaults.backend = Backend(args.backend)
    if getattr(args, "workers", None) is not None:
        if args.workers < 1:
            raise _BadInput(f"--workers must be at least 1, got {args.workers}.")
        cfg.num_workers = args.workers
    # nobody can browse a headless run's memory after it exits: keep RAM bounded
    cfg.keep_intermediates = False
    return cfg


class _Progress:
    """A tqdm bar on a terminal; otherwise a log line at most every :data:`PROGRESS_EVERY` s and at the end."""

    def __init__(self, quiet: bool, verbose: int = 0) -> None:
        from tqdm import tqdm  # type: ignore[import-untyped]

        self.quiet, self.verbose = quiet, verbose
        self.lines = not quiet and not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty())
        self.bar = tqdm(total=0, unit="step", desc="wells x steps", file=sys.stderr,
                        disable=True if quiet or self.lines else None)
        self.wells = self.done = 0
        self.t0 = self.last = time.monotonic()

    def __call__(self, event: Any) -> None:
        from openhcs_gui.pipeline import (
            RunStarted,
            RunWarning,
            StepFinished,
            WellFailed,
            WellFinished,
        )

        if isinstance(event, RunStarted):
            self.wells = event.total_wells
            self.bar.total = event.total_wells * len(event.steps)
            self.bar.refresh()
            if self.lines:
                log.info("running %d wells x %d steps into %s", event.total_wells, len(event.steps),
                         event.workspace)
        elif isinstance(event, StepFinished):
            self.bar.update(1)
        elif isinstance(event, WellFinished) and self.verbose and not self.quiet:
            self.done += 1
            self.write(f"well {event.well} {'done' if event.ok else 'stopped'} in {event.seconds:.2f} s "
                       f"({self.done}/{self.wells})")
        elif isinstance(event, WellFinished) and self.lines:
            self.done += 1
            now = time.monotonic()
            if now - self.last >= PROGRESS_EVERY or self.done == self.wells:
                self.last = now
                log.info("%d/%d wells done (%.0f %%), %.1f s", self.done, self.wells,
                         100 * self.done / max(self.wells, 1), now - self.t0)
        elif isinstance(event, WellFailed) or (isinstance(event, RunWarning) and not self.quiet):
            kind = "error" if isinstance(event, WellFailed) else "warning"
            self.write(f"{kind}: {getattr(event, 'well', '')} {event.message}".replace(":  ", ": "))

    def write(self, text: str) -> None:
        """One line on stderr that does not break the bar."""
        self.bar.write(text, file=sys.stderr)


def _result_dict(result: Any, code: int) -> dict[str, Any]:
    """The run's summary as plain data (``run --json``)."""
    return {
        "status": result.status.value, "exit_code": code, "seconds": round(result.seconds, 3),
        "workspace": str(result.workspace), "provenance": str(result.metadata_path),
        "wells": list(result.wells), "skipped_wells": list(result.skipped_wells),
        "images_written": result.images_written, "bytes_written": result.bytes_written,
        "steps": [{"index": s.index, "name": s.name, "backend": s.backend.value, "image_dir": s.image_dir,
                   "images": len(s.keys), "tables": [f"{s.folder}/{t}.csv" for t in s.tables]}
                  for s in result.steps],
        "errors": [{"well": e.well, "step": e.step, "message": e.message} for e in result.errors],
    }


def _run(plate: str | Path, pipeline: Any, cfg: Any, overwrite: bool, resume: bool | str | None = None,
         *, as_json: bool = False, quiet: bool = False, verbose: int = 0, executor: Any = None) -> int:
    """Run with progress on stderr and a summary (sentence or JSON) on stdout; return the exit code."""
    from openhcs_gui.pipeline import CancelToken, run_pipeline

    cancel = CancelToken()
    progress = _Progress(quiet, verbose)
    box: dict[str, Any] = {}
    done = threading.Event()  # not Thread.join: an interrupted join() can return early (< 3.13)

    def work() -> None:
        try:
            box["result"] = run_pipeline(pipeline, plate, cfg, progress=progress, cancel=cancel,
                                         overwrite=overwrite, resume=resume or False, executor=executor)
        except BaseException as e:  # re-raised in the main thread
            box["error"] = e
        finally:
            done.set()

    threading.Thread(target=work, name="openhcs-run", daemon=True).start()
    while not done.is_set():
        try:
            done.wait(0.2)
        except KeyboardInterrupt:
            if not cancel.cancelled:
                progress.write("Cancelling: finishing the current function calls...")
            cancel.cancel()
    progress.bar.close()
    if "error" in box:
        raise box["error"]
    result = box["result"]
    code = {"completed": EXIT_OK, "failed": EXIT_FAILED}.get(result.status.value, EXIT_CANCELLED)
    print(json.dumps(_result_dict(result, code), indent=2) if as_json else result.summary())
    return code


def _cmd_run(args: argparse.Namespace) -> int:
    from openhcs_gui.pipeline import Pipeline, load_demo_pipeline, load_pipeline

    if not Path(args.plate).exists():
        raise _BadInput(f"Plate {args.plate} does not exist.")
    recorded: dict[str, Any] = {}
    if args.resume is not None:
        if args.overwrite:
            raise _BadInput("--resume continues a workspace and --overwrite deletes it: use one of them.")
        recorded = _recorded_run(args)
    if args.pipeline:
        pipeline = load_pipeline(args.pipeline)
    elif recorded.get("pipeline"):
        pipeline = Pipeline.from_dict(recorded["pipeline"])
    else:
        pipeline = load_demo_pipeline()
    last = pipeline[-1] if len(pipeline) else None
    if args.backend and not args.quiet and last is not None and last.backend is not None and last.backend.value != args.backend:
        print(f"warning: --backend {args.backend} does not apply to the last step '{last.name}', "
              f"which sets backend={last.backend.value}.", file=sys.stderr)
    resume = str(recorded["workspace"]) if recorded else None
    cfg = _config(args, recorded.get("config"), pipeline.config)
    executor = _dask_executor(args.dask, cfg.num_workers, cfg.memory_budget_gb) if args.dask else None
    try:
        return _run(args.plate, pipeline, cfg, args.overwrite, resume,
                    as_json=args.json, quiet=bool(args.quiet), verbose=args.verbose, executor=executor)
    finally:
        if executor is not None:
            executor.close()


def _dask_executor(target: str, workers: int, memory_budget_gb: float | None = None) -> Any:
    """A connected DaskExecutor for ``--dask`` (a bad address fails here, before any workspace)."""
    if target != "local" and "://" not in target:
        raise _BadInput(f"--dask must be 'local' or a scheduler address like tcp://HOST:8786, got {target!r}.")
    from openhcs_gui.pipeline.executors import DaskExecutor

    executor = DaskExecutor(target, n_workers=workers, memory_budget_gb=memory_budget_gb)
    executor.client  # noqa: B018 - connect (or start the local cluster) now
    return executor


def _recorded_run(args: argparse.Namespace) -> dict[str, Any]:
    """The workspace ``--resume`` means, with the pipeline and config it was written with."""
    from openhcs_gui.pipeline.provenance import read_provenance
    from openhcs_gui.pipeline.resume import ResumeError, find_workspace

    workspace = find_workspace(Path(args.plate), _config(args), args.resume)
    try:
        doc = read_provenance(workspace)
    except OpenHCSError as e:
        raise ResumeError(f"Cannot resume {workspace}: {e}") from e
    return {"workspace": workspace, "pipeline": doc.get("pipeline"), "config": doc.get("config")}


def _demo_plate(path: str | Path) -> Path:
    from openhcs_gui.plates import make_demo_plate

    root = Path(path)
    if (root / "ground_truth.csv").is_file():
        return root  # already a demo plate: reuse it
    return Path(make_demo_plate(root))


def _cmd_demo(args: argparse.Namespace) -> int:
    from openhcs_gui.pipeline import demo_pipeline_path

    plate = _demo_plate(args.path)
    print(f"Demo plate: {plate.resolve()}\nRun it with: openhcs-gui run {plate} "
          f"--pipeline {demo_pipeline_path()}")
    return EXIT_OK


def _cmd_info(args: argparse.Namespace) -> int:
    from openhcs_gui.pipeline.provenance import METADATA_NAME, open_workspace, read_provenance

    result = open_workspace(args.workspace)
    doc = read_provenance(args.workspace)  # the document with its journal merged in
    if args.json:
        print(json.dumps(doc, indent=2))
        return EXIT_OK
    wells = doc.get("wells", {})
    counts: dict[str, int] = {}
    for w in wells.values():
        counts[w.get("status", "?")] = counts.get(w.get("status", "?"), 0) + 1
    software = doc.get("software", {})
    print(f"Workspace {result.workspace} ({METADATA_NAME})")
    print(f"Status: {result.status.value}; started {doc.get('started')}, updated {doc.get('updated')}, "
          f"{doc.get('seconds', 0):.1f} s")
    print(f"Plate: {doc.get('plate', {}).get('path')} ({doc.get('plate', {}).get('format', '?')})")
    print("Wells: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    print(f"Software: openhcs-gui {software.get('openhcs-gui')}, python {software.get('python')}, "
          + ", ".join(f"{k} {v}" for k, v in software.items() if k not in ("openhcs-gui", "python", "platform")))
    print(str(result.plan))
    for step in doc.get("steps", []):
        print(f"  step {step['index'] + 1} '{step['name']}': {len(step.get('images', []))} images, "
              f"tables {step.get('consolidated_tables', [])}, zarr arrays {len(step.get('zarr_arrays', []))}")
    for err in result.errors:
        print(f"Error: well {err.well}, step '{err.step}': {err.message}")
    return EXIT_OK


def _cmd_gui(args: argparse.Namespace) -> int:
    plate = args.plate
    if not has_display():
        print("No display found (DISPLAY/WAYLAND_DISPLAY unset and QT_QPA_PLATFORM is not offscreen); "
              "running the demo pipeline headless instead.")
        from openhcs_gui.config import GlobalPipelineConfig
        from openhcs_gui.pipeline import load_demo_pipeline

        target = Path(plate) if plate else _demo_plate(DEMO_DIR)
        if not target.exists():
            raise _BadInput(f"Plate {target} does not exist.")
        return _run(target, load_demo_pipeline(), GlobalPipelineConfig(keep_intermediates=False), False)
    pipeline = args.pipeline
    if plate is None and args.demo_if_missing:
        plate = str(_demo_plate(DEMO_DIR))
        if pipeline is None:  # a new user's first screen: demo plate + demo pipeline, press Run
            from openhcs_gui.pipeline import demo_pipeline_path

            pipeline = str(demo_pipeline_path())
    try:
        from openhcs_gui.ui.app import main as gui_main  # Qt only from here on
    except ModuleNotFoundError as e:  # an engine-only install (cluster node, CI box)
        raise _BadInput(
            f"The desktop app needs {e.name}, which is not installed here; headless runs work "
            "('openhcs-gui run PLATE'), or install the full app with 'pip install openhcs-gui'."
        ) from None
    return int(gui_main(plate, pipeline) or 0)


def _cmd_export_script(args: argparse.Namespace) -> int:
    from openhcs_gui.config import GlobalPipelineConfig, load_config
    from openhcs_gui.pipeline import load_pipeline
    from openhcs_gui.pipeline.export import export_script, pipeline_script

    pipeline = load_pipeline(args.pipeline)
    cfg = load_config(args.config) if args.config else (pipeline.config or GlobalPipelineConfig())
    if args.output:
        target = export_script(pipeline, args.output, cfg)
        print(f"Wrote {target}; run it with: python {target} PLATE [OUTPUT]", file=sys.stderr)
    else:
        sys.stdout.write(pipeline_script(pipeline, cfg))
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from openhcs_gui.pipeline.schemas import KINDS, json_schema

    doc = json_schema(args.kind) if args.kind else {kind: json_schema(kind) for kind in KINDS}
    print(json.dumps(doc, indent=2))
    return EXIT_OK


_COMMANDS = ("run", "demo", "info", "gui", "export-script", "schema")


def _with_command(argv: list[str]) -> list[str]:
    """``argv`` with ``gui`` put before a bare plate path (``openhcs-gui PLATE``) or when no command is given."""
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in ("-h", "--help", "--version") or arg.startswith("--smoke-test"):
            return argv  # the top-level parser handles these itself
        if arg.startswith("-"):
            i += 1
            continue
        if arg in _COMMANDS:
            return argv
        if not Path(arg).exists():
            raise _BadInput(f"'{arg}' is neither a command ({', '.join(_COMMANDS)}) nor an existing "
                            "plate folder.")
        return [*argv[:i], "gui", *argv[i:]]
    return [*argv, "gui"]


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``openhcs-gui`` and ``python -m openhcs_gui``; returns the exit code."""
    raw = list(sys.argv[1:] if argv is None else argv)
    try:
        raw = _with_command(raw)
    except _BadInput as e:
        print(f"openhcs-gui: error: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    args = build_parser().parse_args(raw)
    if args.smoke_test:
        from openhcs_gui.ui.smoke import run_smoke_test  # Qt only when asked for

        return run_smoke_test(args.smoke_test)
    if args.command is None:  # e.g. only -v: the GUI
        args = build_parser().parse_args([*raw, "gui"])
    handlers = {"run": _cmd_run, "demo": _cmd_demo, "info": _cmd_info, "gui": _cmd_gui,
                "export-script": _cmd_export_script, "schema": _cmd_schema}
    try:
        with _logging(args.verbose, args.quiet):
            code = handlers[args.command](args)
    except (_BadInput, OpenHCSError, FileNotFoundError, PermissionError) as e:
        message = " ".join(str(e).split())
        print(f"openhcs-gui: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if code == EXIT_CANCELLED and argv is None:  # this process is the command (not a caller's import)
        _exit_cancelled()
    return code


def _exit_cancelled() -> None:
    """End a cancelled run's process now, without waiting for abandoned function calls.

    Called only after the run returned: its outputs and provenance are on
    disk, its storage closed, the summary printed. A call abandoned on
    Ctrl-C (``pipeline/calls.py``) may compute for minutes more, and
    interpreter shutdown would also tear down every imported module (0.5-1.5 s
    with zarr, dask and scipy loaded); ``os._exit`` skips both, after the
    standard streams and log handlers are flushed.
    """
    import contextlib
    import os

    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing left to say
            stream.flush()
    os._exit(EXIT_CANCELLED)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
