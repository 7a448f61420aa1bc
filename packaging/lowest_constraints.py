"""Pin every runtime requirement of ``pyproject.toml`` to its lower bound (the "lowest" CI job).

``dependencies = ["numpy>=1.26", ...]`` promises that numpy 1.26 works; the only way to
keep that promise honest is to install exactly the lower bounds and run the tests.
This writes a pip constraints file ``name==lower`` for each ``>=`` bound (``!=``
exclusions are kept), the same as ``uv pip install --resolution lowest-direct``;
transitive dependencies resolve freely. A requirement without a lower bound is an
error: "anything" is not a promise anyone tests.

Usage::

    python packaging/lowest_constraints.py > lowest.txt
    python -m pip install -c lowest.txt -e ".[dev]"
    python -m pytest tests/engine_only tests/pipeline ...

``--extra NAME`` adds an optional-dependency group's bounds (e.g. ``package``).
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


def lowest_pins(requirements: list[str]) -> list[str]:
    """``name==lower[,!=excluded]`` for each requirement string.

    Raises
    ------
    ValueError
        If a requirement has no ``>=`` (or ``==``/``~=``) lower bound.
    """
    pins = []
    for line in requirements:
        req = Requirement(line)
        lower = [s.version for s in req.specifier if s.operator in (">=", "==", "~=")]
        if not lower:
            raise ValueError(f"{line!r} has no lower bound; write one (>=) in pyproject.toml.")
        excluded = [str(s) for s in req.specifier if s.operator == "!="]
        pin = f"{req.name}=={max(lower, key=_version_key)}"
        if excluded:
            pin += "," + ",".join(excluded)
        pins.append(pin + (f"; {req.marker}" if req.marker else ""))
    return pins


def _version_key(text: str) -> object:
    from packaging.version import Version

    return Version(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", action="append", default=[], help="also pin this optional group")
    parser.add_argument("--pyproject", type=Path, default=ROOT / "pyproject.toml")
    args = parser.parse_args(argv)
    with open(args.pyproject, "rb") as fh:
        project = tomllib.load(fh)["project"]
    requirements = list(project["dependencies"])
    for extra in args.extra:
        requirements += project["optional-dependencies"][extra]
    try:
        pins = lowest_pins(requirements)
    except ValueError as e:
        print(f"lowest_constraints: {e}", file=sys.stderr)
        return 1
    print("# The lower bounds of pyproject.toml, pinned (packaging/lowest_constraints.py).")
    print("\n".join(pins))
    return 0


if __name__ == "__main__":
    sys.exit(main())
