"""Fuzz: random pipeline, config and provenance JSON never gets past the loaders or the CLI as a traceback.

Each example is a real file (the demo pipeline, the default config, a real
workspace's provenance and journal) with random parts replaced, deleted or
nested 200k deep, with NaN and wrong types, or plain garbage. The loaders
may only raise an :class:`~openhcs_gui.errors.OpenHCSError` with a one-line
message; ``openhcs_gui.cli.main`` may only return 0, 1 or 2, and 2 with
exactly one line on stderr.
"""

from __future__ import annotations

import json
import shutil
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from openhcs_gui import cli
from openhcs_gui.config import GlobalPipelineConfig, load_config
from openhcs_gui.errors import OpenHCSError
from openhcs_gui.pipeline import demo_pipeline_path, load_pipeline, open_workspace
from openhcs_gui.pipeline.provenance import JOURNAL_NAME, METADATA_NAME, read_provenance
from openhcs_gui.plates import make_synthetic_plate

DEEP = "__deep__"
FUZZ = settings(max_examples=25, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["A01", "zarr", "disk", "memory", "completed", "running", DEEP]),
)
values = st.recursive(leaves, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                                          inner, max_size=4),
                      max_leaves=12)


def _mutate(value: Any, data: st.DataObject, depth: int = 0) -> Any:
    """Replace, delete or keep random parts of ``value`` (a JSON document)."""
    if depth > 0 and data.draw(st.integers(0, 5)) == 0:
        return data.draw(values)
    if isinstance(value, dict) and value:
        out = dict(value)
        for key in data.draw(st.lists(st.sampled_from(sorted(out)), min_size=depth == 0, max_size=3, unique=True)):
            if data.draw(st.booleans()):
                del out[key]
            else:
                out[key] = _mutate(out[key], data, depth + 1)
        return out
    if isinstance(value, list) and value:
        out = list(value)
        i = data.draw(st.integers(0, len(out) - 1))
        out[i] = _mutate(out[i], data, depth + 1)
        return out
    return value


def _text(value: Any, data: st.DataObject) -> str:
    """JSON with Python's NaN/Infinity, a 200k-deep array where DEEP is, or garbage."""
    mode = data.draw(st.sampled_from(["json", "deep", "garbage"]))
    if mode == "garbage":
        return data.draw(st.sampled_from(["", "{", "[]", "null", "\ufeff{}", "{" * 300_000, '{"a": 1e999}',
                                          '{"a": NaN}', "\x00\xff"]) | st.text(max_size=20))
    if mode == "deep" and isinstance(value, dict):
        value = {**value, data.draw(st.sampled_from(sorted(value) or ["x"])): DEEP}
    depth = data.draw(st.sampled_from([200_000, 101, 3]))
    return json.dumps(value).replace(json.dumps(DEEP), "[" * depth + "]" * depth)


def _documented(call: Any) -> Any:
    """Run ``call``; an OpenHCSError with a one-line message is fine, anything else fails the test."""
    try:
        return call()
    except OpenHCSError as e:
        assert "\n" not in str(e).strip() and str(e).strip(), repr(e)
        return None


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code in (0, 1, 2), (code, err)
    if code == 2:
        assert err.count("\n") == 1 and err.startswith("openhcs-gui: error: "), err


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A one-well 16² plate and a finished (then journaled) workspace of it."""
    root = tmp_path_factory.mktemp("fuzz")
    plate = make_synthetic_plate(root / "plate", wells=["A01"], sites=1, channels=1, shape=(16, 16), seed=1)
    assert cli.main(["run", str(plate), "--output", str(root / "o"), "-q"]) == 0
    ws = root / "o" / "plate_workspace"
    return {"root": root, "plate": plate, "ws": ws, "doc": json.loads((ws / METADATA_NAME).read_text()),
            "journal": {"well": "A01", "entry": {"status": "completed", "seconds": 0.1, "timings": {}},
                        "steps": {"0": {"images": ["A01_s1_w1_z1.tif"], "tables": []}}, "errors": [],
                        "images_written": 1, "bytes_written": 512}}


@FUZZ
@given(data=st.data())
def test_fuzzed_pipeline_and_config_files(world, data, capsys) -> None:
    root = world["root"]
    pipeline = _text(_mutate(json.loads(demo_pipeline_path().read_text()), data), data)
    config = _text(_mutate(GlobalPipelineConfig().model_dump(mode="json"), data), data)
    (root / "p.json").write_text(pipeline, encoding="utf-8")
    (root / "c.json").write_text(config, encoding="utf-8")
    _documented(lambda: load_pipeline(root / "p.json"))
    _documented(lambda: load_config(root / "c.json"))
    which = data.draw(st.sampled_from(["--pipeline", "--config"]))
    _cli(["run", str(world["plate"]), which, str(root / ("p.json" if which == "--pipeline" else "c.json")),
          "--output", str(root / "runs"), "-q"], capsys)


@FUZZ
@given(data=st.data())
def test_fuzzed_provenance_and_journal(world, data, capsys) -> None:
    ws = world["root"] / "ws"
    shutil.rmtree(ws, ignore_errors=True)
    shutil.copytree(world["ws"], ws)
    (ws / METADATA_NAME).write_text(_text(_mutate(world["doc"], data), data), encoding="utf-8")
    if data.draw(st.booleans()):
        lines = [_text(_mutate(world["journal"], data), data) for _ in range(data.draw(st.integers(1, 3)))]
        torn = data.draw(st.sampled_from(["", '{"well": "A0']))
        (ws / JOURNAL_NAME).write_text("\n".join(lines) + "\n" + torn, encoding="utf-8")
    _documented(lambda: read_provenance(ws))
    _documented(lambda: open_workspace(ws))
    _cli(["info", str(ws)], capsys)
    _cli(["run", str(world["plate"]), "--resume", str(ws), "-q"], capsys)
