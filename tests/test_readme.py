"""README's generated blocks (rules table, workflow diagram) match the code; its commands exist."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_readme_generated_blocks_are_current():
    res = subprocess.run([sys.executable, str(ROOT / "scripts" / "update_readme.py"), "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


def test_every_registered_rule_is_in_the_readme():
    from checks.rules import all_rules

    text = (ROOT / "README.md").read_text()
    for r in all_rules():
        assert f"| {r.id} | `{r.name}` |" in text


def test_readme_names_the_two_commands_and_ci_runs_the_test_one():
    text = (ROOT / "README.md").read_text()
    assert "./dev demo" in text and "./dev test" in text
    assert "./dev test" in (ROOT / ".ci" / "run").read_text()
