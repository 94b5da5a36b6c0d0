"""The powerfirst command: exit status, one line per problem, machine-readable output."""

import json
import subprocess
import sys

import pytest

from powerfirst.cli import main


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "powerfirst.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=600)


def test_help_everywhere():
    out = run("--help")
    assert out.returncode == 0
    for cmd in ("validate", "build-cube", "serve", "demo", "headroom"):
        assert cmd in out.stdout
        sub = run(cmd, "--help")
        assert sub.returncode == 0 and "usage: powerfirst " + cmd in sub.stdout


def test_validate_lists_all_five_errors_with_rows(repo):
    out = run("validate", str(repo / "tests/data/sites_five_errors.csv"))
    assert out.returncode == 1
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 5
    for row, col in ((2, "lat"), (3, "target_mw"), (4, "ba"), (5, "site_id"), (6, "country")):
        assert any(f"row {row} (line {row + 1}), column '{col}'" in ln for ln in lines), (row, col)
    assert "5 problems found" in out.stderr


def test_validate_clean_file_and_facts(repo, capsys):
    assert main(["validate", str(repo / "data/demo/sites.csv")]) == 0
    assert main(["validate", str(repo / "data/facts/pue.csv")]) == 0
    assert main(["validate", str(repo / "nonexistent.csv")]) == 1


def test_build_cube_small_site_file(tmp_path, repo):
    sites = tmp_path / "s.csv"
    sites.write_text("site_id,name,lat,lon,country,ba,target_mw\nA,a,36.1,-79.9,US,DUK,100\n"
                     "B,b,25.8,-80.3,US,FPL,50\n")
    out = tmp_path / "e.zarr"
    assert main(["build-cube", "--sites", str(sites), "--out", str(out)]) == 0
    assert main(["validate", str(out)]) == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("site_id,name,lat,lon,country,ba,target_mw\nA,a,136.1,-79.9,US,DUK,100\n")
    assert main(["build-cube", "--sites", str(bad), "--out", str(tmp_path / "x.zarr")]) == 1
    assert not (tmp_path / "x.zarr").exists()


@pytest.mark.realdata
def test_headroom_json_records(shared):
    out = run("headroom", "--source", str(shared / "eia930"), "--bas", "PJM,ERCO", "--years", "2019-2023",
              "--limits", "0.5,1", "--format", "json")
    assert out.returncode == 0, out.stderr
    recs = json.loads(out.stdout)
    assert len(recs) == 2 * 2 + 2
    keys = {"ba", "limit_pct", "headroom_mw", "curtailed_hours_per_year", "mean_event_hours",
            "share_hours_half_served"}
    assert all(keys <= set(r) for r in recs)
    tot = {r["limit_pct"]: r["headroom_mw"] for r in recs if r["ba"] == "TOTAL"}
    per = {}
    for r in recs:
        if r["ba"] != "TOTAL":
            per[r["limit_pct"]] = per.get(r["limit_pct"], 0) + r["headroom_mw"]
    assert tot == pytest.approx(per, abs=0.2)


def test_headroom_bad_limit_is_an_error(tmp_path):
    p = tmp_path / "tidy.csv"
    # PJM-sized demand: 100 MW would now be refused as "values look like GW" before the limits are checked
    p.write_text("time,ba,demand_mw\n2024-01-01 00:00,PJM,100000\n2024-01-01 01:00,PJM,110000\n")
    out = run("headroom", "--source", str(p), "--limits", "0.5,150")
    assert out.returncode == 1
    assert "limits must lie in (0, 100) percent" in out.stderr


def test_stdout_to_stderr_moves_writes_below_python():
    """What C code writes to file descriptor 1 inside the block (a solver's banner) goes to stderr, so the
    summary ``powerfirst run --format json`` prints on stdout stays JSON."""
    code = ("import os, sys\nfrom powerfirst.commands import stdout_to_stderr\n"
            "with stdout_to_stderr():\n    os.write(1, b'BANNER\\n')\n    print('inside')\nprint('{\"ok\": 1}')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"ok": 1}
    assert "BANNER" in out.stderr and "inside" in out.stderr
