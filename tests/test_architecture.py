"""The layers of the package hold: no module imports a layer above its own, no import cycles
(the contracts are in pyproject.toml, [tool.importlinter])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in out.stdout


def test_models_never_import_panel_or_hvplot():
    """Models and lower layers stay free of plotting and serving (DESIGN: panel only under apps/,
    hvplot only under viz/ and apps/)."""
    pkg = ROOT / "toolkit" / "powerfirst"
    offenders = []
    for layer in ("io", "cubes", "models", "scenarios", "schema"):
        for f in (pkg / layer).rglob("*.py"):
            text = f.read_text()
            for lib in ("import panel", "from panel", "import hvplot", "from hvplot", "import holoviews"):
                if lib in text:
                    offenders.append(f"{f.relative_to(pkg)}: {lib}")
    assert offenders == []


def test_every_app_has_its_thin_entry_file():
    """`panel serve apps/<name>.py` works for every app :func:`powerfirst.apps.apps` discovers: the entry
    file imports the app's class from its module and makes it servable (DESIGN: thin entry files)."""
    import ast

    from powerfirst.apps import apps

    for slug, (module, cls) in apps().items():
        f = ROOT / "apps" / f"{slug}.py"
        assert f.exists(), f"no entry file apps/{slug}.py for {module}.{cls}"
        tree = ast.parse(f.read_text())
        imported = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
        assert (module, cls) in imported, f"apps/{slug}.py does not import {cls} from {module}"
        assert ".servable(" in f.read_text(), f"apps/{slug}.py does not call .servable()"
