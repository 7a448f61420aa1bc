"""The CLI's answer to damaged input files and its output options: one line, exit 2; -q/-v, --json, logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from openhcs_gui import cli
from openhcs_gui.pipeline import demo_pipeline_path
from openhcs_gui.plates import make_synthetic_plate

DEEP = 200_000


@pytest.fixture
def small_plate(tmp_path: Path) -> Path:
    return make_synthetic_plate(tmp_path / "small", wells=["A01", "B02"], sites=1, channels=1,
                                shape=(32, 32), seed=5)


@pytest.fixture
def workspace(small_plate: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert cli.main(["run", str(small_plate), "--output", str(tmp_path / "o"), "-q"]) == 0
    capsys.readouterr()
    return tmp_path / "o" / "small_workspace"


def _one_line_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = cli.main(args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("openhcs-gui: error: "), err
    return err


@pytest.mark.parametrize("kind", ["pipeline", "config", "toml"])
def test_files_nested_200k_deep_are_refused_in_one_line(kind: str, small_plate, tmp_path, capsys) -> None:
    if kind == "pipeline":
        path, text, flag = tmp_path / "p.json", '{"steps": ' + "[" * DEEP + "]" * DEEP + "}", "--pipeline"
    elif kind == "config":
        path, text, flag = tmp_path / "c.json", '{"zarr": ' + "[" * DEEP + "]" * DEEP + "}", "--config"
    else:
        path, text, flag = tmp_path / "c.toml", "zarr = " + "[" * DEEP + "]" * DEEP + "\n", "--config"
    path.write_text(text)
    err = _one_line_exit_2(["run", str(small_plate), flag, str(path)], capsys)
    assert f"{path.name} is nested more than 100 levels deep." in err


def test_nan_in_a_pipeline_file_is_not_json(small_plate, tmp_path, capsys) -> None:
    data = json.loads(demo_pipeline_path().read_text())
    data["steps"][0]["func"]["kwargs"]["sigma"] = float("nan")
    (tmp_path / "p.json").write_text(json.dumps(data))  # Python writes NaN; strict JSON has none
    err = _one_line_exit_2(["run", str(small_plate), "--pipeline", str(tmp_path / "p.json")], capsys)
    assert "p.json is not valid JSON: NaN is not a JSON number" in err


def _damage(ws: Path, change) -> None:  # noqa: ANN001
    meta = ws / "openhcs_metadata.json"
    doc = json.loads(meta.read_text())
    change(doc)
    meta.write_text(json.dumps(doc))


DAMAGE = {
    "no wells": (lambda d: d.pop("wells"), "'wells' is missing"),
    "wells is a list": (lambda d: d.update(wells=[]), "'wells' should be an object, not a list"),
    "timings text": (lambda d: d["wells"]["A01"].update(timings="fast"),
                     "'wells.A01.timings' should be an object, not text"),
    "step index text": (lambda d: d["steps"][0].update(index="1"), "'steps[0].index' should be an integer"),
    "error without message": (lambda d: d.update(errors=[{"well": "A01", "step": "x"}]),
                              "'errors[0].message' is missing"),
    "plan without steps": (lambda d: d["plan"].pop("steps"), "'plan' is malformed"),
    "unknown status": (lambda d: d.update(status="exploded"), "'status' 'exploded' is not one of"),
    "top level list": (lambda d: d.clear(), "'format' is missing"),
    "pipeline steps number": (lambda d: d["pipeline"].update(steps=3), "'pipeline.steps' should be a list"),
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_info_and_resume_on_damaged_provenance_say_which_field(case: str, workspace, small_plate,
                                                               capsys) -> None:
    change, message = DAMAGE[case]
    _damage(workspace, change)
    err = _one_line_exit_2(["info", str(workspace)], capsys)
    assert "is not a valid OpenHCS workspace file: " in err and message in err
    err = _one_line_exit_2(["run", str(small_plate), "--resume", str(workspace)], capsys)
    assert err.startswith(f"openhcs-gui: error: Cannot resume {workspace}: ") and message in err


def test_resume_with_a_recorded_config_of_wrong_types(workspace, small_plate, capsys) -> None:
    _damage(workspace, lambda d: d["config"].update(num_workers="many"))
    err = _one_line_exit_2(["run", str(small_plate), "--resume", str(workspace)], capsys)
    assert "recorded config is invalid (field 'num_workers'" in err


def test_run_json_prints_the_summary_as_json(small_plate, tmp_path, capsys) -> None:
    assert cli.main(["run", str(small_plate), "--output", str(tmp_path / "o"), "--json", "-q"]) == 0
    out = capsys.readouterr()
    summary = json.loads(out.out)
    ws = tmp_path / "o" / "small_workspace"
    assert summary["status"] == "completed" and summary["exit_code"] == 0
    assert summary["workspace"] == str(ws) and summary["provenance"] == str(ws / "openhcs_metadata.json")
    assert summary["wells"] == ["A01", "B02"] and summary["errors"] == []
    assert [s["name"] for s in summary["steps"]] == ["blur", "background", "count"]
    assert sorted(summary["steps"][2]["tables"]) == [f"{ws}/step3_count/{t}.csv" for t in ("nuclei", "objects")]
    assert out.err == ""  # -q: no progress, no warnings


def test_progress_is_log_lines_when_stderr_is_not_a_terminal(small_plate, tmp_path, capsys) -> None:
    assert cli.main(["run", str(small_plate), "--output", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("openhcs-gui: INFO: running 2 wells x 3 steps into ")
    assert err[-1].startswith("openhcs-gui: INFO: 2/2 wells done (100 %), ")
    assert not any("\r" in line or "wells x steps" in line for line in err)  # no progress bar in a log


def test_verbose_writes_a_line_per_well_and_quiet_nothing(small_plate, tmp_path, capsys) -> None:
    assert cli.main(["run", str(small_plate), "--output", str(tmp_path / "o"), "--workers", "1", "-v"]) == 0
    err = capsys.readouterr().err
    assert "well A01 done in " in err and "(1/2)" in err and "well B02 done in " in err and "(2/2)" in err
    assert cli.main(["-q", "run", str(small_plate), "--output", str(tmp_path / "o")]) == 0
    assert capsys.readouterr().err == ""


def test_help_lists_the_exit_codes(capsys) -> None:
    for args in (["--help"], ["run", "--help"]):
        with pytest.raises(SystemExit) as stop:
            cli.main(args)
        assert stop.value.code == 0
        text = capsys.readouterr().out
        assert "exit codes:" in text
        for code, words in [(0, "success"), (1, "some wells failed"), (2, "bad input"), (130, "Ctrl-C")]:
            assert any(line.strip().startswith(f"{code} ") and words in line for line in text.splitlines())
