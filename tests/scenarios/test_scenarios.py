"""Scenario: sections, YAML round trip, key-path errors, hash over the input files, run -> DataTree,
the result store and the CLI."""

import numpy as np
import pytest
import xarray as xr

import powerfirst as pf
from powerfirst.cli import main
from powerfirst.errors import ValidationError
from powerfirst.scenarios import GROUPS, SECTIONS, Scenario, open_results, to_zarr


def small_sites(tmp_path):
    p = tmp_path / "sites.csv"
    p.write_text("site_id,name,lat,lon,country,ba,target_mw,firm_headroom_mw,upgrade_class\n"
                 "A,a,39.0,-77.5,US,PJM,300,50,substation\n"
                 "B,b,32.8,-96.8,US,ERCO,100,100,none\n"
                 "C,c,53.3,-6.3,IE,IE-SEM,40,10,minor\n")
    return p


def scenario(tmp_path, **changes) -> Scenario:
    sc = Scenario(name="t", seed=1)
    sc.sites.source = str(small_sites(tmp_path))
    sc.time_to_power.draws = 500
    sc.demand.enabled = False
    for k, v in changes.items():
        sec, key = k.split(".")
        setattr(getattr(sc, sec), key, v)
    return sc


def test_every_section_and_yaml_round_trip(tmp_path):
    sc = Scenario(name="a", seed=3)
    sc.time_to_power.draws = 700
    sc.headroom.limits = [0.5, 1.0]
    sc.dispatch.scenarios = {"base": {}, "big": {"storage_scale": 2.0}}
    assert set(sc.to_dict()) == {"name", "description", "seed", *SECTIONS}
    path = tmp_path / "s.yaml"
    sc.to_yaml(path)
    back = Scenario.from_yaml(path)
    assert back.to_dict() == sc.to_dict()
    assert back.hash == sc.hash
    assert back.time_to_power.draws == 700
    assert sc.copy(seed=4).hash != sc.hash
    assert sc.copy(**{"time_to_power.draws": 701}).hash != sc.hash
    # sections are per instance, never shared between scenarios
    other = Scenario()
    assert other.time_to_power.draws == 2000 and other.time_to_power is not sc.time_to_power


def test_every_problem_reported_with_its_key_path(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("name: x\n"
                    "colour: blue\n"
                    "time_to_power:\n  draws: 5\n  correlation: 1.5\n  horizon: soon\n"
                    "dispatch:\n  scenarios:\n    big: {storage_scale: two, warp_drive: 1}\n"
                    "headroom:\n  limits: [0.5, true]\n  flexible_limit: 0\n"
                    "grid:\n  source: does/not/exist\n"
                    "demand:\n  sparkle: 1\n")
    with pytest.raises(ValidationError) as exc:
        Scenario.from_yaml(path)
    cols = {p.column for p in exc.value.problems}
    assert cols == {"colour", "time_to_power.draws", "time_to_power.correlation", "time_to_power.horizon",
                    "dispatch.scenarios.big.storage_scale", "dispatch.scenarios.big.warp_drive",
                    "headroom.limits", "headroom.flexible_limit", "demand.sparkle"}
    text = str(exc.value)
    assert "dispatch.scenarios.big.storage_scale': expected a number, found 'two'" in text
    assert "time_to_power.draws': expected an integer >= 100 and <= 1e+06, found 5" in text
    assert "headroom.flexible_limit': expected a number > 0 and < 100, found 0" in text
    assert "unknown section or setting" in text


def test_missing_files_and_yaml_tags_refused(tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("sites:\n  source: nowhere.csv\nweather:\n  files: [a.epw]\ngrid:\n  source: no_grid\n")
    with pytest.raises(ValidationError) as exc:
        Scenario.from_yaml(path)
    assert {p.column for p in exc.value.problems} == {"sites.source", "weather.files", "grid.source"}
    assert str(tmp_path / "nowhere.csv") in str(exc.value)
    tagged = tmp_path / "tag.yaml"
    tagged.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ValidationError, match="YAML tags are not allowed"):
        Scenario.from_yaml(tagged)


@pytest.mark.parametrize("name", ["../../escape", "/abs/path", "a/b", "..", "", ".hidden", "a\\b"])
def test_names_are_names(tmp_path, name):
    path = tmp_path / "s.yaml"
    path.write_text(f"name: {name!r}\n")
    with pytest.raises(ValidationError, match="expected a plain name"):
        Scenario.from_yaml(path)


def test_hash_covers_the_content_of_the_site_file(tmp_path):
    sc = scenario(tmp_path)
    before = sc.hash
    p = tmp_path / "sites.csv"
    p.write_text(p.read_text().replace("300,50", "301,50"))
    assert sc.hash != before
    assert "sites.source" in sc.input_hashes()


def test_run_gives_a_group_per_model_with_provenance(tmp_path):
    sc = scenario(tmp_path)
    tree = sc.run(progress=False)
    assert set(tree.children) == set(GROUPS)
    for g in GROUPS:
        attrs = tree[g].attrs
        assert attrs["scenario_hash"] == sc.hash and attrs["seed"] == 1
        assert attrs["powerfirst_version"] == pf.__version__
        assert "sites.source" in attrs["input_hashes"]
    assert tree["headroom"].attrs["status"].startswith("skipped: no grid data")
    assert tree["demand"].attrs["status"] == "skipped: demand.enabled is false"
    ttp = tree["time_to_power"].to_dataset()
    assert ttp.sizes["site"] == 3 and ttp.attrs["draws"] == 500
    # the same seed and inputs: the same time-to-power numbers as the model called directly
    direct = pf.time_to_power(pf.read_sites(small_sites(tmp_path)), sc.time_to_power.paths, draws=500, seed=1,
                              tornado=False)
    np.testing.assert_array_equal(ttp["first_power"].values, direct["first_power"].values)
    disp = tree["dispatch"].to_dataset()
    assert set(disp["scenario"].values) == {"base"} and disp.sizes["site"] == 3


def test_result_store_round_trip_and_refusals(tmp_path):
    sc = scenario(tmp_path, **{"dispatch.enabled": False})
    tree = sc.run(progress=False).compute()
    out = tmp_path / "r.zarr"
    to_zarr(tree, out)
    back = open_results(out).compute()
    for g in GROUPS:
        assert back[g].to_dataset().identical(tree[g].to_dataset()), g
    assert back.attrs["scenario_hash"] == sc.hash
    with pytest.raises(ValueError, match="overwrite"):
        to_zarr(tree, out)
    to_zarr(tree, out, overwrite=True)
    foreign = tmp_path / "project"
    foreign.mkdir()
    (foreign / "README.txt").write_text("mine")
    with pytest.raises(ValueError):
        to_zarr(tree, foreign, overwrite=True)
    assert (foreign / "README.txt").read_text() == "mine"
    with pytest.raises(ValueError, match="not a powerfirst result store"):
        xr.Dataset({"x": ("a", [1])}).to_zarr(tmp_path / "plain.zarr", consolidated=False)
        open_results(tmp_path / "plain.zarr")


@pytest.mark.realdata
def test_flexible_path_sized_by_headroom(shared, tmp_path):
    sc = scenario(tmp_path, **{"grid.source": str(shared / "eia930"), "grid.years": (2022, 2024),
                               "headroom.flexible_limit": 0.25, "time_to_power.paths": ["grid_flexible"],
                               "dispatch.enabled": False})
    tree = sc.run(progress=False)
    hr = tree["headroom"].to_dataset()
    assert set(hr["ba"].values) == {"PJM", "ERCO"}
    # a large BA headroom covers site A's unmet 250 MW; the Irish site keeps the default share
    mw = tree["time_to_power"]["mw"].sel(path="grid_flexible")
    assert float(mw.sel(site="A")) == pytest.approx(300.0)
    assert float(mw.sel(site="C")) == pytest.approx(10 + 0.5 * 30)
    assert np.isfinite(hr["headroom"].values).all()


def test_cli_run(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    scenario(tmp_path, **{"time_to_power.draws": 300}).to_yaml(path)
    out = tmp_path / "r.zarr"
    assert main(["run", str(path), "--out", str(out), "--format", "json"]) == 0
    assert '"group": "time_to_power"' in capsys.readouterr().out
    assert set(open_results(out).children) == set(GROUPS)
    assert main(["run", str(path), "--out", str(out)]) == 1  # exists: needs --overwrite
    assert "overwrite" in capsys.readouterr().err
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    assert main(["run", str(bad)]) == 1


def test_demo_scenario_file_runs(repo, tmp_path):
    sc = Scenario.from_yaml(repo / "examples" / "scenarios" / "demo.yaml")
    assert sc.name == "demo" and set(sc.dispatch.scenarios) == {"base", "big_battery", "carbon_first"}
    for name in ("real_data.yaml", "custom_sites.yaml"):
        path = repo / "examples" / "scenarios" / name
        data = Scenario.from_dict(__import__("yaml").safe_load(path.read_text()), file=str(path))
        assert data.name
    # files the example names exist in a checkout (the shared data aside): from_yaml checks them
    assert Scenario.from_yaml(repo / "examples" / "scenarios" / "custom_sites.yaml").sites.source.endswith("sites.csv")


def test_defaults_follow_the_models():
    """The scenario's defaults are the models' own (a drift would make `run` differ from a direct call)."""
    import inspect

    from powerfirst.cubes.energy import build_energy_cube
    from powerfirst.models.time_to_power import ALL_PATHS, time_to_power

    sc = Scenario()
    assert sc.time_to_power.paths == list(ALL_PATHS)
    ttp = inspect.signature(time_to_power).parameters
    for key in ("months", "horizon", "correlation", "bridge_technology", "discount_rate", "withdrawal"):
        assert getattr(sc.time_to_power, key) == ttp[key].default, key
    cube = inspect.signature(build_energy_cube).parameters
    for key in ("year", "chunk_sites", "max_station_km", "warn_station_km", "analogue", "other_hemisphere"):
        assert getattr(sc.weather, key) == cube[key].default, key
