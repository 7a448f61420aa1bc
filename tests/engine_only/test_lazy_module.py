"""``lazy_module``: imported on first use, then the importing module holds the real module."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap


def test_first_use_imports_and_rebinds_the_name_to_the_real_module() -> None:
    """A proxy's attribute access costs microseconds: after the first use the global is the module itself."""
    code = textwrap.dedent("""
        import json, sys
        from openhcs_gui._lazy import lazy_module
        before = "colorsys" in sys.modules
        cs = lazy_module("colorsys", globals())
        still_lazy = "colorsys" not in sys.modules and type(cs).__name__ == "_LazyModule"
        value = cs.rgb_to_hsv(1.0, 0.0, 0.0)
        print(json.dumps({"before": before, "still_lazy": still_lazy, "value": list(value),
                          "rebound": cs is sys.modules["colorsys"]}))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    r = json.loads(out.stdout)
    assert r == {"before": False, "still_lazy": True, "value": [0.0, 1.0, 1.0], "rebound": True}


def test_a_patch_on_the_real_module_is_seen_through_the_proxy(monkeypatch) -> None:
    """Tests (and users) that patch the real module still reach the code that imported it lazily."""
    import colorsys

    from openhcs_gui._lazy import lazy_module

    namespace: dict = {}
    namespace["cs"] = lazy_module("colorsys", namespace)
    monkeypatch.setattr(colorsys, "rgb_to_hsv", lambda *_: "patched")
    assert namespace["cs"].rgb_to_hsv(1, 0, 0) == "patched"
    assert namespace["cs"] is colorsys
