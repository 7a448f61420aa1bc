"""Write ``packaging/constraints.txt``: exact pins of what the installer bundles.

The pins are the versions installed in the interpreter that runs this script
(the project venv), for the closure of ``openhcs-gui``'s runtime requirements
plus the ``package`` extra (PyInstaller and its hooks). Development tools
(pytest, ruff, ...) are not in it: they are not inside the bundle.

Usage (from the repository root, after a ``make setup`` you want to freeze)::

    .venv/bin/python packaging/make_constraints.py            # rewrite the file
    .venv/bin/python packaging/make_constraints.py --check    # exit 1 if the venv differs

``build.sh`` runs ``--check`` and, on a difference, installs the pins
(``pip install -r packaging/constraints.txt``) before building; the CI installs
with ``pip install -c packaging/constraints.txt ".[package]"``.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "packaging" / "constraints.txt"
HEADER = """\
# Exact versions the installers are built with (packaging/README.md, "Reproducible builds").
# Runtime closure of openhcs-gui + the `package` extra; regenerate with
#   .venv/bin/python packaging/make_constraints.py
# Used by packaging/build.sh (checked, installed on a difference) and the installer CI
# (pip install -c packaging/constraints.txt ".[package]").
"""


def runtime_closure(root: str = "openhcs-gui", extras: tuple[str, ...] = ("package",)) -> dict[str, str]:
    """Installed ``{canonical name: version}`` of ``root`` and everything it needs at run time.

    Raises
    ------
    PackageNotFoundError
        If a required distribution is not installed in this interpreter.
    """
    pins: dict[str, str] = {}
    todo: list[tuple[str, frozenset[str]]] = [(root, frozenset(extras))]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, wanted = todo.pop()
        key = (canonicalize_name(name), wanted)
        if key in seen:
            continue
        seen.add(key)
        dist = distribution(name)
        if canonicalize_name(name) != canonicalize_name(root):
            pins[canonicalize_name(name)] = dist.version
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in wanted] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in envs):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return dict(sorted(pins.items()))


def render(pins: dict[str, str]) -> str:
    """The constraints file text for ``pins``."""
    return HEADER + "".join(f"{name}=={version}\n" for name, version in pins.items())


def read_pins(path: Path = TARGET) -> dict[str, str]:
    """``{canonical name: version}`` of a constraints file (comments and blanks skipped)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    return pins


def differences(path: Path = TARGET) -> list[str]:
    """One line per pin whose installed version differs (or is missing) here."""
    out = []
    for name, version in read_pins(path).items():
        try:
            have = distribution(name).version
        except PackageNotFoundError:
            have = "not installed"
        if have != version:
            out.append(f"{name}: pinned {version}, installed {have}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Write the constraints file, or with ``--check`` report differences; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="compare the venv with the file instead")
    args = parser.parse_args(argv)
    if args.check:
        diff = differences()
        for line in diff:
            print(line)
        return 1 if diff else 0
    TARGET.write_text(render(runtime_closure()), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)} ({len(read_pins())} pins)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
