"""Run the fake GitHub standalone (for manual poking and demos).

    python -m bot.fakegithub --repo acme/shop=examples/shop --webhook-url http://127.0.0.1:8080/webhook

Prints one JSON line (url, app id, installation ids, a ready installation token, the
private key path) and serves until interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile

from .keys import generate_rsa_keypair
from .server import FakeGitHub


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bot.fakegithub", description=__doc__.split("\n\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--repo", action="append", default=[], metavar="OWNER/NAME[=DIR]",
                    help="create a repository (from DIR's files); repeatable")
    ap.add_argument("--app-id", type=int, default=1)
    ap.add_argument("--app-slug", default="dlcm")
    ap.add_argument("--public-key", help="PEM file of the App's public key (default: generate a key pair)")
    ap.add_argument("--webhook-url")
    ap.add_argument("--webhook-secret", default="fake-webhook-secret")
    ap.add_argument("--no-validate", action="store_true", help="don't validate against GitHub's description")
    args = ap.parse_args(argv)

    async def run():
        fake = FakeGitHub(host=args.host, port=args.port, webhook_url=args.webhook_url,
                          webhook_secret=args.webhook_secret, validate=False if args.no_validate else None)
        await fake.start()
        private_path = None
        if args.public_key:
            with open(args.public_key) as f:
                app = fake.register_app(args.app_id, f.read(), args.app_slug)
        else:
            private_pem, public_pem = generate_rsa_keypair(cached=False)
            app = fake.register_app(args.app_id, public_pem, args.app_slug)
            fd, private_path = tempfile.mkstemp(prefix="fakegithub-app-", suffix=".pem")
            with os.fdopen(fd, "w") as f:
                f.write(private_pem)
        installs = {}
        for spec in args.repo:
            name, _, src = spec.partition("=")
            fake.create_repo(name, src or None, files=None if src else {"README.md": f"# {name}\n"})
            installs[name] = fake.installation_id(name)
        info = {
            "url": fake.url, "app_id": app.id, "app_slug": app.slug, "installations": installs,
            "private_key_path": private_path, "webhook_secret": fake.webhook_secret,
            "token": fake.installation_token(next(iter(installs.values()))) if installs else None,
            "validating": fake.validating,
        }
        print(json.dumps(info), flush=True)
        try:
            while True:
                await asyncio.sleep(3600)
        finally:
            if fake.violations:
                print("\n".join(str(v) for v in fake.violations), file=sys.stderr)
            await fake.stop()

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
