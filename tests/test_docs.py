"""`dlcm docs`: the data-layer reference shows what a reader needs and flags the gaps."""

import subprocess
import sys

from tests.variants import EXAMPLE, make_repo, write_files


def docs(*args):
    return subprocess.run([sys.executable, "-m", "dlcm", "docs", *args], capture_output=True, text=True)


def test_reference_of_the_example():
    out = docs(str(EXAMPLE))
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "4 tables · 5 migrations · 3 repositories · 13 endpoints · 13 client methods" in text
    assert "| `phone` | `text` | yes |  |" in text
    assert "| `GET /users/:id/orders` | apps/database-service/src/routes/users.ts:34 | `listUserOrders` | @shop/telegram-bot |" in text
    assert "❌" not in text and "RLS off" not in text
    assert "| telegram-bot | apps/telegram-bot/** | @shop/bot-team, @bob | database-client |" in text


def test_reference_flags_missing_pieces(tmp_path):
    repo = make_repo(tmp_path)
    write_files(repo, {"apps/database-service/src/repositories/memory/memory-user-repository.ts": None,
                       "supabase/migrations/20240401000000_audit.sql": "create table public.audit_log (id bigint primary key);\n"})
    out = docs(str(repo), "-o", str(tmp_path / "DATA_LAYER.md"))
    assert out.returncode == 0, out.stderr
    text = (tmp_path / "DATA_LAYER.md").read_text()
    assert "`UserRepository`" in text and "❌ missing" in text
    assert "### `public.audit_log` ⚠️ RLS off" in text


def test_rules_reference():
    out = docs("--rules")
    assert out.returncode == 0 and "| DLCM107 | `missing-rollback` |" in out.stdout
