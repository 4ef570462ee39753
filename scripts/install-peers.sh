#!/usr/bin/env bash
# Installs the peers the end-to-end tests (test/e2e) run against, idempotently:
#   - Go-built: temporal-server, temporal-sql-tool (go.temporal.io/server) and the temporal CLI, into
#     ${SECURE_TEMPORAL_PEERS:-$HOME/.cache/secure-temporal/peers}/bin (one stamp file per version);
#   - PostgreSQL server binaries (initdb, pg_ctl), from the distribution when they are missing.
# Needs Go (>= the `go` line of the modules below) and, for PostgreSQL, apt-get and root.
#
# Environment:
#   SECURE_TEMPORAL_PEERS    cache directory (default: $HOME/.cache/secure-temporal/peers)
#   SECURE_TEMPORAL_CLI_SRC  optional: a checkout of the temporal CLI at CLI_VERSION, used instead of
#                            cloning it when `go install` cannot build it (see install_cli).
set -euo pipefail

SERVER_VERSION='v1.31.2'
CLI_VERSION='v1.9.1'
SERVER_MODULE='go.temporal.io/server'
CLI_MODULE='github.com/temporalio/cli'

PEERS="${SECURE_TEMPORAL_PEERS:-$HOME/.cache/secure-temporal/peers}"
BIN="$PEERS/bin"
STAMPS="$PEERS/stamps"
mkdir -p "$BIN" "$STAMPS"

log() { printf '[install-peers] %s\n' "$*" >&2; }

# installed NAME VERSION: the binary exists and its stamp says it was built from VERSION.
installed() {
  [ -x "$BIN/$1" ] && [ -f "$STAMPS/$1@$2" ]
}

stamp() {
  rm -f "$STAMPS/$1@"*
  : > "$STAMPS/$1@$2"
}

require_go() {
  if ! command -v go >/dev/null 2>&1; then
    log 'go is not on PATH: install Go (see the `go` line of the server go.mod) and rerun'
    exit 1
  fi
}

# go_install NAME PACKAGE VERSION BUILT: `go install PACKAGE@VERSION` into BIN, then rename BUILT to NAME.
go_install() {
  local name="$1" package="$2" version="$3" built="$4"
  if installed "$name" "$version"; then
    log "$name $version: already installed"
    return
  fi
  require_go
  log "$name $version: go install $package@$version"
  local tmpbin
  tmpbin="$(mktemp -d)"
  GOBIN="$tmpbin" go install "$package@$version"
  mv -f "$tmpbin/$built" "$BIN/$name"
  rm -rf "$tmpbin"
  stamp "$name" "$version"
}

# The CLI's go.mod has `replace github.com/temporalio/cli/cliext => ./cliext` (a nested module), so
# `go install ...@version` refuses to build it. Try it anyway (a later release may drop the replace),
# then build from a source checkout of the tag: SECURE_TEMPORAL_CLI_SRC, or a shallow clone.
install_cli() {
  local name='temporal'
  if installed "$name" "$CLI_VERSION"; then
    log "$name $CLI_VERSION: already installed"
    return
  fi
  require_go
  local tmpbin
  tmpbin="$(mktemp -d)"
  if GOBIN="$tmpbin" go install "$CLI_MODULE/cmd/temporal@$CLI_VERSION" 2>"$tmpbin/install.log"; then
    mv -f "$tmpbin/temporal" "$BIN/$name"
  else
    log "$name $CLI_VERSION: go install cannot build it:"
    grep -v '^go: downloading' "$tmpbin/install.log" | sed 's/^/    /' >&2 || true
    local src="${SECURE_TEMPORAL_CLI_SRC:-}"
    if [ -z "$src" ]; then
      src="$tmpbin/cli"
      log "$name $CLI_VERSION: cloning the $CLI_VERSION tag to build it"
      git clone --quiet --depth 1 --branch "$CLI_VERSION" "https://$CLI_MODULE" "$src"
    fi
    if [ ! -f "$src/go.mod" ] || [ ! -d "$src/cliext" ]; then
      log "$src is not a checkout of $CLI_MODULE (no go.mod or cliext/)"
      exit 1
    fi
    log "$name $CLI_VERSION: go build ./cmd/temporal in $src"
    (cd "$src" && go build -trimpath \
      -ldflags "-s -w -X $CLI_MODULE/internal/temporalcli.Version=${CLI_VERSION#v}" \
      -o "$tmpbin/temporal" ./cmd/temporal)
    mv -f "$tmpbin/temporal" "$BIN/$name"
  fi
  rm -rf "$tmpbin"
  stamp "$name" "$CLI_VERSION"
}

# Prints the directory holding initdb and pg_ctl, or nothing.
postgres_bindir() {
  if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v initdb)")"
    return
  fi
  local dir
  for dir in $(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V -r); do
    if [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
      echo "$dir"
      return
    fi
  done
}

install_postgres() {
  local dir
  dir="$(postgres_bindir)"
  if [ -z "$dir" ]; then
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
      log 'initdb/pg_ctl not found: install the PostgreSQL server binaries (as root with apt-get: postgresql)'
      exit 1
    fi
    log 'PostgreSQL: apt-get install postgresql'
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends postgresql
    dir="$(postgres_bindir)"
    if [ -z "$dir" ]; then
      log 'PostgreSQL was installed but initdb/pg_ctl are still not found'
      exit 1
    fi
  fi
  log "PostgreSQL: $("$dir/initdb" --version) in $dir"
}

go_install temporal-server "$SERVER_MODULE/cmd/server" "$SERVER_VERSION" server
go_install temporal-sql-tool "$SERVER_MODULE/cmd/tools/sql" "$SERVER_VERSION" sql
install_cli
install_postgres
log "peers in $BIN:"
for b in temporal-server temporal-sql-tool temporal; do
  log "  $b: $("$BIN/$b" --version 2>&1 | head -n 1)"
done
