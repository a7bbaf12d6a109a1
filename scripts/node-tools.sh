#!/usr/bin/env bash
# Install the Node.js tools the test suite needs, idempotently:
#   .tools/node_modules/.bin/{pnpm,tsc}   pinned pnpm + TypeScript (npm install --prefix .tools)
#   examples/shop-monorepo/node_modules   `pnpm install --frozen-lockfile`, store in .tools/pnpm-store
#
# Safe to run again and again: when everything is in place it returns in well under a second.
# Works without a TTY (CI=true). Needs node + npm on PATH; exits 0 with a notice when Node is
# missing so that the Node-based tests skip with a reason instead of CI failing here.
#
# Usage: scripts/node-tools.sh [--force]
#   DLCM_TOOLS_DIR   where to install (default: <repo>/.tools)
set -euo pipefail

PNPM_VERSION="10.34.9"        # keep in sync with "packageManager" of examples/shop-monorepo/package.json
TYPESCRIPT_VERSION="5.9.3"

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="${DLCM_TOOLS_DIR:-$ROOT/.tools}"
EXAMPLE="$ROOT/examples/shop-monorepo"
FORCE=0
[[ "${1:-}" == "--force" ]] && FORCE=1

log() { printf 'node-tools: %s\n' "$*" >&2; }

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  log "node/npm not found on PATH: Node-based tests will be skipped"
  exit 0
fi

export CI="${CI:-true}"
export npm_config_yes=true
export npm_config_fund=false
export npm_config_audit=false
export npm_config_update_notifier=false
export COREPACK_ENABLE_STRICT=0

mkdir -p "$TOOLS"
PNPM="$TOOLS/node_modules/.bin/pnpm"
TSC="$TOOLS/node_modules/.bin/tsc"

# ------------------------------------------------------------------ pnpm + typescript
have_version() {  # <binary> <expected version>
  [[ -x "$1" ]] && [[ "$("$1" --version 2>/dev/null | sed 's/^Version //')" == "$2" ]]
}

if (( FORCE )) || ! have_version "$PNPM" "$PNPM_VERSION" || ! have_version "$TSC" "$TYPESCRIPT_VERSION"; then
  log "installing pnpm@$PNPM_VERSION typescript@$TYPESCRIPT_VERSION into $TOOLS"
  [[ -f "$TOOLS/package.json" ]] || printf '{\n  "name": "dlcm-tools",\n  "private": true\n}\n' >"$TOOLS/package.json"
  npm install --prefix "$TOOLS" --loglevel=error \
    "pnpm@$PNPM_VERSION" "typescript@$TYPESCRIPT_VERSION" </dev/null
  have_version "$PNPM" "$PNPM_VERSION" || { log "pnpm install failed"; exit 1; }
  have_version "$TSC" "$TYPESCRIPT_VERSION" || { log "typescript install failed"; exit 1; }
fi

# ------------------------------------------------------------------ the SARIF 2.1.0 JSON schema
# GitHub code scanning reads SARIF 2.1.0; the tests validate `dlcm check --format sarif` against the
# official schema, which Microsoft publishes in this package.
SARIF_SCHEMA="$TOOLS/node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json"
if (( FORCE )) || [[ ! -f "$SARIF_SCHEMA" ]]; then
  log "installing the SARIF 2.1.0 schema (@microsoft/jest-sarif) into $TOOLS"
  npm install --prefix "$TOOLS" --loglevel=error --ignore-scripts "@microsoft/jest-sarif@1.0.0-beta.0" </dev/null \
    || log "could not install the SARIF schema; the SARIF test will say why it skips"
fi

# ------------------------------------------------------------------ the example monorepo
# A stamp of the inputs of `pnpm install` lets a repeated run skip it entirely.
stamp_inputs() {
  cd "$EXAMPLE"
  {
    echo "pnpm=$PNPM_VERSION node=$(node --version)"
    cat pnpm-lock.yaml 2>/dev/null || true
    find . -name package.json -not -path '*/node_modules/*' -print0 | sort -z | xargs -0 cat
    cat pnpm-workspace.yaml .npmrc 2>/dev/null || true
  } | sha256sum | cut -d' ' -f1
}

STAMP_FILE="$EXAMPLE/node_modules/.dlcm-node-tools.stamp"
WANT="$(stamp_inputs)"
if (( ! FORCE )) && [[ -f "$STAMP_FILE" ]] && [[ "$(cat "$STAMP_FILE")" == "$WANT" ]]; then
  exit 0
fi

FROZEN=(--no-frozen-lockfile)
[[ -f "$EXAMPLE/pnpm-lock.yaml" ]] && FROZEN=(--frozen-lockfile)

log "pnpm install in examples/shop-monorepo (${FROZEN[*]})"
(
  cd "$EXAMPLE"
  "$PNPM" install "${FROZEN[@]}" \
    --store-dir "$TOOLS/pnpm-store" \
    --config.confirmModulesPurge=false \
    --config.manage-package-manager-versions=false \
    --reporter=append-only </dev/null
)
echo "$WANT" >"$STAMP_FILE"
log "done"
