"""`make demo` and `powerfirst demo` say what they are doing: a line before each step (the virtual
environment, the install with pip's own progress, the default cubes, the address served)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from powerfirst.cli import main


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_make_demo_announces_each_step_before_running_it(repo, tmp_path):
    venv = tmp_path / "venv"  # absent: make plans every step (-n runs none of them)
    out = subprocess.run(["make", "-n", "demo", f"VENV={venv}", "PORT=5123"], cwd=repo, capture_output=True,
                         text=True, timeout=60, check=True).stdout.splitlines()

    def first(text):
        return next(i for i, ln in enumerate(out) if text in ln)

    assert first("creating the virtual environment") < first("-m venv") < first(
        "installing powerfirst and its dependencies") < first("pip --disable-pip-version-check install") < first(
        "starting the demo") < first("bin/powerfirst demo --port 5123")
    pip = out[first("pip --disable-pip-version-check install")]
    assert " -q " not in pip and "--progress-bar on" in pip  # pip shows what it collects and downloads


def test_powerfirst_demo_says_it_builds_then_checks_the_cubes(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("POWERFIRST_CUBE_DIR", str(tmp_path))
    assert main(["demo", "--no-serve"]) == 0
    err = capsys.readouterr().err
    built = tmp_path / "energy_demo.zarr"
    assert built.is_dir()
    assert err.index(f"building the default cubes: the demo sites' energy cube ({built}") < err.index(
        f"default cubes ready ({built})")
    assert main(["demo", "--no-serve"]) == 0  # present: checked, not rebuilt
    err = capsys.readouterr().err
    assert f"checking the default cubes ({built})" in err and "building" not in err
