"""Results say where they came from: the hashes of their input files, and a scenario hash that
changes when a file it names changes."""

import json

import powerfirst as pf
from powerfirst.cli import main


def site_file(tmp_path, mw=300):
    p = tmp_path / "sites.csv"
    p.write_text("site_id,name,lat,lon,country,ba,target_mw,firm_headroom_mw,upgrade_class\n"
                 f"A,a,39.0,-77.5,US,PJM,{mw},50,substation\nB,b,32.8,-96.8,US,ERCO,100,100,none\n")
    return p


def test_time_to_power_and_dispatch_carry_the_site_file_hash(tmp_path, energy_factory):
    sites = pf.read_sites(site_file(tmp_path))
    h = sites.attrs["source_sha256"]
    ttp = pf.time_to_power(sites, draws=200, tornado=False)
    assert json.loads(ttp.attrs["input_hashes"]) == {"sites": h}
    disp = pf.dispatch(energy_factory(sites), sites)
    assert json.loads(disp.attrs["input_hashes"]) == {"sites": h, "energy": "in-memory"}
    other = pf.read_sites(site_file(tmp_path, mw=301))
    assert json.loads(pf.time_to_power(other, draws=200, tornado=False).attrs["input_hashes"])["sites"] != h


def test_cli_says_which_inputs_it_used(tmp_path, capsys):
    path = site_file(tmp_path)
    assert main(["ttp", "--sites", str(path), "--draws", "200", "--format", "json"]) == 0
    err = capsys.readouterr().err
    assert pf.read_sites(path).attrs["source_sha256"] in err and "powerfirst " in err


def test_scenario_hash_follows_the_site_file(tmp_path):
    path = site_file(tmp_path)
    sc = pf.Scenario()
    sc.sites.source = str(path)
    before = sc.hash
    site_file(tmp_path, mw=301)
    assert sc.hash != before
