"""A non-editable install must carry what the package reads at run time: the grammar (kept in
the repo's grammars/ and force-included as steerdsl/grammars/) and the store's SQL files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_grammar_and_sql_and_the_installed_package_uses_them(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(ROOT)], check=True, capture_output=True)
    (wheel,) = tmp_path.glob("steerdsl-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"steerdsl/grammars/steer.lark", "steerdsl/store/schema.sql",
            "steerdsl/store/views.sql", "steerdsl/starter/starter.steer",
            "steerdsl/starter/corpus.jsonl"} <= names
    # Pygments finds the .steer lexer through this entry point once the wheel is installed.
    (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[pygments.lexers]\nsteer = steerdsl.highlight:SteerLexer" in text
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    # Import the unpacked wheel (not the repo) and compile a spec with it, from elsewhere.
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "import steerdsl, steerdsl.lang.grammar as g;"
        "assert steerdsl.__file__.startswith(sys.argv[1]), steerdsl.__file__;"
        "plan = steerdsl.load(sys.argv[2]).plan();"
        # Pygments finds the lexer through the wheel's entry point (the unpacked dist-info).
        "from pygments.lexers import get_lexer_by_name as lexer;"
        "assert lexer('steer').__module__ == 'steerdsl.highlight', lexer('steer');"
        "print(len(plan.stages))"
    )
    out = subprocess.run([sys.executable, "-c", code, str(site), str(ROOT / "specs/paper.steer")],
                         check=True, capture_output=True, text=True, cwd=tmp_path)
    assert int(out.stdout) > 0
