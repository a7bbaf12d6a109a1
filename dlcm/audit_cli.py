"""``dlcm audit DLCM-<n> --repo owner/name``: a change request's audit trail, its hash chain checked.

Reads the App's SQLite state store (``--db``, default ``$DLCM_DB`` or ``./dlcm.sqlite3``)
read-only in spirit (nothing is written to the audit table; the store's schema is brought up
to date if it is older). Exit codes: 0 the chain verifies, 1 it was tampered with, 2 no such
change request or database.

Registered in ``dlcm.cli`` with ``main.add_command(audit)``.
"""

from __future__ import annotations

import json
import os
import sys

import click

EXIT_TAMPERED = 1
EXIT_USAGE = 2


@click.command("audit")
@click.argument("ref", metavar="DLCM-<n>")
@click.option("--repo", required=True, metavar="OWNER/NAME", help="The repository of the change request.")
@click.option("--db", "db_path", default=None, metavar="PATH",
              help="The App's SQLite file (default: $DLCM_DB, else ./dlcm.sqlite3).")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
def audit(ref: str, repo: str, db_path: str | None, fmt: str) -> None:
    """Print the audit trail of change request REF (DLCM-3, or #12 for the issue) and verify its hash chain.

    Exit 1 when an event was edited, removed or reordered.
    """
    from bot.cr_store import CRStore
    from bot.store import Store

    path = db_path or os.environ.get("DLCM_DB") or "./dlcm.sqlite3"
    if not os.path.isfile(path):
        click.echo(f"no dlcm database at {path} (--db or $DLCM_DB)", err=True)
        sys.exit(EXIT_USAGE)
    if "/" not in repo.strip("/"):
        click.echo("--repo must be owner/name", err=True)
        sys.exit(EXIT_USAGE)
    store = Store(path)
    try:
        crs = CRStore(store)
        rec = crs.find(repo, ref)
        if rec is None:
            click.echo(f"no change request {ref} in {repo} ({path})", err=True)
            sys.exit(EXIT_USAGE)
        events = crs.audit(repo, rec.issue)
        broken = crs.verify_audit(repo, rec.issue)
    finally:
        store.close()
    if fmt == "json":
        from bot.web import audit_json

        click.echo(json.dumps({
            "repository": repo, "id": rec.id, "issue": rec.issue, "state": rec.state.state,
            "verified": broken is None, "broken_at": broken, "head": rec.audit_head, "events": audit_json(events),
        }, indent=2, ensure_ascii=False))
    else:
        click.echo(f"{rec.id} ({repo}#{rec.issue}) · {rec.state.state} · {len(events)} audit events")
        for e in events:
            ev = e.event
            who = f"@{ev.actor}" if ev.actor else "dlcm"
            move = ev.from_state if ev.to_state == ev.from_state else f"{ev.from_state} → {ev.to_state}"
            refused = click.style(" refused", fg="yellow") if ev.refused else ""
            click.echo(f"{e.seq:>3}  {ev.at.strftime('%Y-%m-%d %H:%M:%S')}  {who:<16} {ev.action:<22} "
                       f"{move}{refused}")
            click.echo(f"     {ev.reason}")
            for x in ev.evidence:
                where = f"{x.ref}:{x.line}" if x.line and x.line > 1 else x.ref
                click.echo(f"     evidence [{x.step}] {x.kind} {where}" + (f" — {x.detail}" if x.detail else ""))
            if ev.delivery_id:
                click.echo(f"     delivery {ev.delivery_id}")
            click.echo(f"     hash {e.hash[:16]} (prev {e.prev_hash[:16]})")
        if broken is None:
            click.echo(click.style("✓ hash chain verified", fg="green") + f" (head {rec.audit_head[:16]})")
        else:
            click.echo(click.style(f"✗ hash chain broken at event {broken}: the audit trail was tampered with",
                                   fg="red"))
    if broken is not None:
        sys.exit(EXIT_TAMPERED)
