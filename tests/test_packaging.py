"""Fast checks of the packaging files (no bundle is built here; `make package-test` does that).

They catch the mistakes that would otherwise only show up after a 4-minute build:
a spec that does not parse, a menu entry pointing at a missing icon, a broken shell
script, a screenshot checker that lets a blank canvas through.
"""

from __future__ import annotations

import configparser
import importlib.util
import json
import shutil
import subprocess
import sys
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import yaml
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
RESOURCES = ROOT / "openhcs_gui" / "resources"
ICON_SIZES = (16, 32, 48, 64, 128, 256)


def _load(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module
    spec.loader.exec_module(module)
    return module


def test_spec_is_valid_python_and_names_the_entry_script() -> None:
    source = (PACKAGING / "openhcs-gui.spec").read_text(encoding="utf-8")
    compile(source, "openhcs-gui.spec", "exec")
    assert '"packaging" / "entry.py"' in source
    assert (PACKAGING / "entry.py").is_file()
    for needed in ("napari_builtins", "vispy", "npe2", "app_model", "magicgui", "superqt",
                   "copy_metadata", "collect_data_files"):
        assert needed in source


@pytest.mark.parametrize(
    ("argv", "expected"),
    [([], None), (["gui"], None), (["--smoke-test", "out"], "out"),
     (["--smoke-test=out dir"], "out dir"), (["run", "plate"], None)],
)
def test_entry_finds_the_smoke_test_directory(argv: list[str], expected: str | None) -> None:
    entry = _load(PACKAGING / "entry.py")
    assert entry._smoke_output_dir(argv) == expected


def test_entry_rejects_smoke_test_without_directory() -> None:
    entry = _load(PACKAGING / "entry.py")
    with pytest.raises(SystemExit):
        entry._smoke_output_dir(["--smoke-test"])


def test_desktop_entry_is_complete() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read(PACKAGING / "linux" / "openhcs-gui.desktop", encoding="utf-8")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Exec"] == "openhcs-gui %f"  # a file manager's "Open with" passes the plate (issue 17)
    assert entry["Icon"] == "openhcs-gui"
    assert entry["Terminal"] == "false"
    categories = entry["Categories"]
    assert categories.endswith(";") and "Science" in categories.split(";")
    assert entry["Keywords"].endswith(";")


def test_icons_exist_in_every_size() -> None:
    root = ET.parse(RESOURCES / "icon.svg").getroot()
    assert root.tag.endswith("svg") and root.get("viewBox") == "0 0 256 256"
    for size in ICON_SIZES:
        with Image.open(RESOURCES / f"icon-{size}.png") as image:
            assert image.size == (size, size)
            assert image.mode == "RGBA"


@pytest.mark.parametrize("script", ["build.sh", "test_bundle.sh", "test_wheel.sh", "tarball.sh",
                                    "linux/install-desktop-entry.sh"])
def test_shell_scripts_parse(script: str) -> None:
    bash = shutil.which("bash")
    if bash is None:
        pytest.skip("bash not available")
    subprocess.run([bash, "-n", str(PACKAGING / script)], check=True)


def test_package_extra_and_make_targets() -> None:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        extras = tomllib.load(fh)["project"]["optional-dependencies"]
    assert any(req.startswith("pyinstaller") for req in extras["package"])
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "\npackage:" in makefile and "\npackage-test:" in makefile
    package_test = makefile.split("\npackage-test:", 1)[1].split("\n\n", 1)[0]
    assert "packaging/test_bundle.sh" in package_test and "packaging/test_wheel.sh" in package_test


WORKFLOW = ROOT / ".github" / "workflows" / "installers.yml"


def test_ci_workflow_builds_on_three_systems() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))
    runners = [item["os"] for item in workflow["jobs"]["bundle"]["strategy"]["matrix"]["include"]]
    assert "ubuntu-22.04" in runners  # the oldest glibc we support (2.35)
    assert any(r.startswith("windows") for r in runners)
    assert {"macos-14", "macos-15-intel"} <= set(runners) and "macos-13" not in runners  # retired
    steps = workflow["jobs"]["bundle"]["steps"]
    runs = " ".join(str(s.get("run", "")) for s in steps)
    assert "--smoke-test" in runs and "openhcs-gui.spec" in runs
    assert "-c packaging/constraints.txt" in runs and "SOURCE_DATE_EPOCH" in runs
    assert "openhcs-gui-cli.exe" in runs  # Windows: the console executable is exercised
    linux = next(s for s in steps if s.get("name", "").startswith("Linux: bundle"))
    assert linux["env"]["OPENHCS_MAX_GLIBC"] == "2.35"
    assert not (PACKAGING / "ci").exists()  # one workflow, where GitHub runs it


def test_build_script_accepts_a_python_command_name(tmp_path: Path) -> None:
    """The CI sets ``PYTHON: python``: build.sh must find it on PATH, not reject it with ``-x``."""
    bash = shutil.which("bash")
    assert bash is not None
    calls = tmp_path / "calls"
    fake = tmp_path / "bin" / "fakepython"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\necho "$@" >> "{calls}"\nexit 3\n', encoding="utf-8")
    fake.chmod(0o755)
    env = {"PATH": f"{fake.parent}:/usr/bin:/bin", "PYTHON": "fakepython", "HOME": str(tmp_path)}
    run = subprocess.run([bash, str(PACKAGING / "build.sh"), "--no-deb"], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 3, run.stderr  # stopped by the fake interpreter, not by "not found" (2)
    first = calls.read_text(encoding="utf-8").splitlines()[0]
    assert first == "packaging/make_constraints.py --check"  # pins are checked before building


def test_constraints_pin_every_runtime_requirement_within_its_bounds() -> None:
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    maker = _load(PACKAGING / "make_constraints.py")
    pins = maker.read_pins(PACKAGING / "constraints.txt")
    lines = [ln for ln in (PACKAGING / "constraints.txt").read_text(encoding="utf-8").splitlines()
             if ln and not ln.startswith("#")]
    assert len(lines) == len(pins) and all("==" in ln for ln in lines)  # exact pins only
    with open(ROOT / "pyproject.toml", "rb") as fh:
        project = tomllib.load(fh)["project"]
    for line in project["dependencies"] + project["optional-dependencies"]["package"]:
        req = Requirement(line)
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is not pinned in packaging/constraints.txt"
        assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {req}"
    build = (PACKAGING / "build.sh").read_text(encoding="utf-8")
    assert "packaging/constraints.txt" in build


def test_build_script_makes_reproducible_tarballs() -> None:
    build = (PACKAGING / "build.sh").read_text(encoding="utf-8")
    assert "export SOURCE_DATE_EPOCH PYTHONHASHSEED=0" in build
    assert 'packaging/tarball.sh "$DIST" "$APP" "$SOURCE_DATE_EPOCH" "$TAR"' in build
    tarball = (PACKAGING / "tarball.sh").read_text(encoding="utf-8")
    for needed in ("--sort=name", '--mtime="@$epoch"', "--owner=0 --group=0 --numeric-owner", "gzip -n"):
        assert needed in tarball, needed
    assert "packaging/tarball.sh" in (PACKAGING / "test_bundle.sh").read_text(encoding="utf-8")
    spec = (PACKAGING / "openhcs-gui.spec").read_text(encoding="utf-8")
    assert 'name=APP_NAME + "-cli"' in spec and "console=True" in spec  # Windows console executable


def _fake_smoke_output(tmp_path: Path, canvas: np.ndarray) -> Path:
    """A smoke-test folder as the bundled app writes it, with ``canvas`` pasted in."""
    window = np.full((900, 1440, 3), 38, dtype=np.uint8)
    window[23:23 + canvas.shape[0], 339:339 + canvas.shape[1]] = canvas
    Image.fromarray(window).save(tmp_path / "screenshot.png")
    report = {"status": "passed", "frozen": True,
              "canvas_rect_xywh": [339, 23, canvas.shape[1], canvas.shape[0]],
              "final_step": {"name": "count", "backend": "zarr"},
              "layers_shown": [{"name": "A01 channel 1", "backend": None},  # raw, under the output
                               {"name": "3.count A01 channel 1", "backend": "zarr"}]}
    (tmp_path / "smoke_report.json").write_text(json.dumps(report), encoding="utf-8")
    return tmp_path


def test_screenshot_check_rejects_a_blank_canvas(tmp_path: Path) -> None:
    checker = _load(PACKAGING / "check_smoke.py")
    out = _fake_smoke_output(tmp_path, np.zeros((600, 600, 3), dtype=np.uint8))
    problems = checker.check(out)
    assert any("blank" in p for p in problems)


def test_screenshot_check_accepts_an_image_in_the_canvas(tmp_path: Path) -> None:
    checker = _load(PACKAGING / "check_smoke.py")
    canvas = np.zeros((600, 600, 3), dtype=np.uint8)
    yy, xx = np.mgrid[:600, :600]
    for cy, cx in ((100, 120), (300, 420), (480, 200)):
        canvas[(yy - cy) ** 2 + (xx - cx) ** 2 < 15 ** 2] = (255, 0, 255)
    assert checker.check(_fake_smoke_output(tmp_path, canvas)) == []


def test_smoke_check_wants_the_final_step_read_from_zarr(tmp_path: Path) -> None:
    checker = _load(PACKAGING / "check_smoke.py")
    canvas = np.zeros((600, 600, 3), dtype=np.uint8)
    canvas[200:260, 200:260] = 255
    out = _fake_smoke_output(tmp_path, canvas)
    report = json.loads((out / "smoke_report.json").read_text(encoding="utf-8"))
    report["layers_shown"][1]["backend"] = None  # the output came from memory, not the zarr store
    (out / "smoke_report.json").write_text(json.dumps(report), encoding="utf-8")
    assert any("zarr output" in p for p in checker.check(out))


def test_wheel_ships_license_type_marker_and_installable_pins(tmp_path: Path) -> None:
    """What PyPI users get: the MIT text, ``py.typed`` and lower bounds zarr 3 can meet."""
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True, capture_output=True,
    )
    (wheel,) = tmp_path.glob("openhcs_gui-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta = next(zf.read(n).decode() for n in names if n.endswith(".dist-info/METADATA"))
    assert any(n.endswith("licenses/LICENSE") for n in names)
    assert "openhcs_gui/py.typed" in names
    assert "resources/demo_pipeline.json" in " ".join(names)
    assert "Requires-Dist: numcodecs>=0.14" in meta  # 0.13 cannot be installed beside zarr 3
    assert "Requires-Dist: zarr>=3.0.8" in meta  # 3.0.0-3.0.7 were yanked
    assert "License-Expression: MIT" in meta


def _tree(root: Path, names: list[str], mtime: int) -> None:
    """Files created in the order of ``names`` (readdir order follows), all with ``mtime``."""
    import os

    for name in names:
        path = root / "app" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode() * 100)
        os.utime(path, (mtime, mtime))
    (root / "app" / "run").chmod(0o755)


def test_tarball_bytes_depend_only_on_the_tree_and_the_epoch(tmp_path: Path) -> None:
    """The same files made in another order, at another time: the same tar.gz bytes."""
    import hashlib

    bash = shutil.which("bash")
    assert bash is not None
    names = ["run", "_internal/b.so", "_internal/a.py", "z.txt", "_internal/sub/c.dat"]
    _tree(tmp_path / "one", names, mtime=1_000_000_000)
    _tree(tmp_path / "two", names[::-1], mtime=1_700_000_000)

    def tarball(parent: Path, epoch: int, out: str) -> str:
        subprocess.run([bash, str(PACKAGING / "tarball.sh"), str(parent), "app", str(epoch),
                        str(tmp_path / out)], check=True, timeout=60)
        return hashlib.sha256((tmp_path / out).read_bytes()).hexdigest()

    first = tarball(tmp_path / "one", 1_750_000_000, "one.tar.gz")
    assert tarball(tmp_path / "two", 1_750_000_000, "two.tar.gz") == first
    assert tarball(tmp_path / "one", 1_750_000_001, "later.tar.gz") != first  # the epoch is stored
    import tarfile

    with tarfile.open(tmp_path / "one.tar.gz") as tf:
        members = tf.getmembers()
    assert [m.name for m in members] == sorted(m.name for m in members)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 1_750_000_000)}
    assert next(m for m in members if m.name == "app/run").mode & 0o111  # the executable stays executable


def test_lowest_constraints_pin_each_runtime_requirement_to_its_lower_bound() -> None:
    from packaging.requirements import Requirement

    lowest = _load(PACKAGING / "lowest_constraints.py")
    with open(ROOT / "pyproject.toml", "rb") as fh:
        deps = tomllib.load(fh)["project"]["dependencies"]
    pins = lowest.lowest_pins(deps)
    assert len(pins) == len(deps)
    for line, pin in zip(deps, pins, strict=True):
        req, pinned = Requirement(line), Requirement(pin)
        assert pinned.name == req.name
        (exact,) = [s.version for s in pinned.specifier if s.operator == "=="]
        assert req.specifier.contains(exact), f"{pin} is outside {line}"  # the bound itself is allowed
    assert lowest.lowest_pins(["zarr>=3.0.1", "PySide6-Essentials>=6.6,!=6.12.0"]) == [
        "zarr==3.0.1", "PySide6-Essentials==6.6,!=6.12.0"]
    with pytest.raises(ValueError, match="no lower bound"):
        lowest.lowest_pins(["numpy"])


def test_ci_tests_the_lower_bounds() -> None:
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "lowest.yml").read_text(encoding="utf-8"))
    (job,) = workflow["jobs"].values()
    runs = " ".join(str(s.get("run", "")) for s in job["steps"])
    assert "packaging/lowest_constraints.py" in runs and "-c lowest.txt" in runs
    assert "pytest" in runs and "tests/engine_only" in runs
