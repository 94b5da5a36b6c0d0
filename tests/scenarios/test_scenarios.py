import numpy as np
import pytest

from powerfirst.cli import main
from powerfirst.errors import ValidationError
from powerfirst.scenarios import Scenario, run_scenario


def test_yaml_round_trip_and_hash(tmp_path):
    sc = Scenario(name="a", ttp_draws=500, seed=3, headroom_limits=[0.5, 1.0])
    path = tmp_path / "s.yaml"
    sc.to_yaml(path)
    back = Scenario.from_yaml(path)
    assert back.to_dict() == sc.to_dict()
    assert back.hash == sc.hash
    assert Scenario(name="a", seed=4).hash != Scenario(name="a", seed=3).hash


def test_bad_settings_all_reported(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\nttp_draws: 5\nsupply_chain_correlation: 1.5\ncolour: blue\n")
    with pytest.raises(ValidationError) as exc:
        Scenario.from_yaml(path)
    cols = {p.column for p in exc.value.problems}
    assert cols == {"ttp_draws", "supply_chain_correlation", "colour"}
    assert "unknown setting 'colour'" in str(exc.value)


def small_sites(tmp_path):
    p = tmp_path / "sites.csv"
    p.write_text("site_id,name,lat,lon,country,ba,target_mw,firm_headroom_mw,upgrade_class\n"
                 "A,a,39.0,-77.5,US,PJM,300,50,substation\n"
                 "B,b,32.8,-96.8,US,ERCO,100,100,none\n"
                 "C,c,53.3,-6.3,IE,IE-SEM,40,10,minor\n")
    return p


def test_run_without_grid(tmp_path):
    sc = Scenario(name="nogrid", sites=str(small_sites(tmp_path)), ttp_draws=500, seed=1)
    res = run_scenario(sc, tmp_path / "out")
    assert set(res) == {"energy", "time_to_power"}
    assert res["time_to_power"].attrs["scenario_hash"] == sc.hash
    assert (tmp_path / "out/nogrid/time_to_power.zarr").exists()
    assert (tmp_path / "out/nogrid/scenario.yaml").exists()


@pytest.mark.realdata
def test_flexible_path_sized_by_headroom(shared, tmp_path):
    common = dict(sites=str(small_sites(tmp_path)), ttp_draws=500, seed=1, ttp_paths=["grid_flexible"])
    tight = run_scenario(Scenario(name="t", grid_source=str(shared / "eia930"), flexible_limit=0.25,
                                  headroom_years=(2022, 2024), **common))
    assert set(tight["headroom"]["ba"].values) == {"PJM", "ERCO"}
    # a large BA headroom covers site A's unmet 250 MW; the Irish site keeps the default share
    mw = tight["time_to_power"]["mw"].sel(path="grid_flexible")
    assert float(mw.sel(site="A")) == pytest.approx(300.0)
    assert float(mw.sel(site="C")) == pytest.approx(10 + 0.5 * 30)
    assert np.isfinite(tight["headroom"]["headroom"].values).all()


def test_cli_run(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    Scenario(name="cli", sites=str(small_sites(tmp_path)), ttp_draws=300).to_yaml(path)
    assert main(["run", str(path), "--format", "json"]) == 0
    assert '"p50_months"' in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert main(["run", str(bad)]) == 1
