"""An interrupted run never leaves a partial result under its name, and its leftovers are cleaned."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from powerfirst.scenarios import GROUPS, Scenario, open_results


def scenario_file(tmp_path) -> Path:
    sc = Scenario(name="killed", seed=2)
    sc.sites.select = ["PJM-001", "PJM-002", "MISO-001"]
    sc.time_to_power.draws = 300
    sc.weather.year = 2022  # not the cached demo cube: the energy cube is built by the run
    path = tmp_path / "s.yaml"
    sc.to_yaml(path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("after_s", [1.0, 3.0, 6.0])
def test_kill_9_leaves_a_whole_store_or_nothing(tmp_path, after_s):
    path, out = scenario_file(tmp_path), tmp_path / "r.zarr"
    exe = Path(sys.executable).with_name("powerfirst")
    proc = subprocess.Popen([str(exe), "run", str(path), "--out", str(out)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(after_s)
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    if out.exists():  # finished before the kill: then it is whole
        assert set(open_results(out).children) == set(GROUPS)
    else:
        assert not any(p.name == "r.zarr" for p in tmp_path.iterdir())
    # the next run of the same target completes and sweeps the killed run's temporary store
    done = subprocess.run([str(exe), "run", str(path), "--out", str(out), "--overwrite"], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert set(open_results(out).children) == set(GROUPS)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".r.zarr.")] == []


def test_a_failing_model_writes_nothing(tmp_path, monkeypatch):
    from powerfirst.cli import main

    def boom(*a, **k):
        raise ValueError("the dispatch failed on purpose")

    monkeypatch.setattr("powerfirst.models.dispatch.dispatch", boom)
    out = tmp_path / "r.zarr"
    assert main(["run", str(scenario_file(tmp_path)), "--out", str(out)]) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.yaml"]
