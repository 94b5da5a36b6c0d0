"""CSV exports a spreadsheet cannot execute: formula-leading text is quoted as text, numbers stay numbers."""

import csv
import io

import pandas as pd

from powerfirst.cli import main
from powerfirst.io.export import safe_frame, spreadsheet_safe, to_csv


def test_formula_leading_cells_are_escaped_and_numbers_kept():
    df = pd.DataFrame({"site": ["=HYPERLINK(\"http://x\",\"y\")", "+1+1", "-cmd", "@SUM(A1)", "\tx", "ok"],
                       "mw": [-3.5, 1, 2, 3, 4, 5]})
    out = io.StringIO()
    to_csv(df, out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert [r[0] for r in rows[1:]] == ["'=HYPERLINK(\"http://x\",\"y\")", "'+1+1", "'-cmd", "'@SUM(A1)", "'\tx", "ok"]
    assert [r[1] for r in rows[1:]] == ["-3.5", "1.0", "2.0", "3.0", "4.0", "5.0"]
    assert spreadsheet_safe(-2) == -2 and safe_frame(df)["mw"].tolist() == df["mw"].tolist()


def test_cli_csv_output_escapes_a_formula_in_a_site_id(tmp_path, capsys):
    p = tmp_path / "sites.csv"
    p.write_text("site_id,name,lat,lon,country,ba,target_mw\n"
                 "\"=HYPERLINK(\"\"http://evil\"\",\"\"x\"\")\",n,39.0,-77.5,US,PJM,100\n")
    assert main(["ttp", "--sites", str(p), "--draws", "200", "--format", "csv"]) == 0
    text = capsys.readouterr().out
    assert "\n=HYPERLINK" not in text and "'=HYPERLINK" in text
