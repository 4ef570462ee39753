#!/usr/bin/env bash
# Installs the peers the end-to-end tests (test/e2e) run against, idempotently:
#   - Go-built: temporal-server, temporal-sql-tool (go.temporal.io/server) and the temporal CLI, into
#     ${SECURE_TEMPORAL_PEERS:-$HOME/.cache/secure-temporal/peers}/bin (one stamp file per version);
#   - the previous minor's temporal-server and temporal-sql-tool (PREVIOUS_SERVER_VERSION) into
#     releases/<version>/bin of the cache: the upgrade test runs a cluster of that release, then upgrades it;
#   - the Temporal Web UI server (github.com/temporalio/ui-server, front end embedded) as temporal-ui-server, with its
#     config template (config/docker.yaml of the module, what the temporalio/ui image reads) in ui-server/config;
#   - kustomize (sigs.k8s.io/kustomize), which renders the synthesized dist/ as a GitOps tool would;
#   - a Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager and kubectl, and the
#     Pulumi CLI with the Kubernetes provider plugin (pulumi up against that API server). These build from
#     wrapper modules in test/peers/<name> (their upstream go.mod files replace modules with local paths, which
#     `go install` refuses); each wrapper's go.mod and go.sum pin what is built;
#   - PostgreSQL server binaries (initdb, pg_ctl) and Chromium (the browser tests), from the distribution when missing.
# Needs Go (>= the `go` line of the modules below) and, for PostgreSQL, apt-get and root.
#
# Environment:
#   SECURE_TEMPORAL_PEERS    cache directory (default: $HOME/.cache/secure-temporal/peers)
set -euo pipefail

SERVER_VERSION='v1.31.2'
# v1.5.1 is the newest CLI release `go install` builds from the module proxy (later go.mod files
# replace a nested module with a local path, which `go install` refuses). The namespace Job only uses
# `operator cluster health` and `operator namespace describe|create|update`, stable across 1.x.
CLI_VERSION='v1.5.1'
# The previous minor, for the upgrade test (test/e2e/upgrade.e2e.test.ts): the newest 1.30 patch this Go builds
# (v1.30.9 needs Go >= 1.26.10). lib/temporal/versions.ts lists the releases the chart deploys.
PREVIOUS_SERVER_VERSION='v1.30.8'
SERVER_MODULE='go.temporal.io/server'
CLI_MODULE='github.com/temporalio/cli'
# kustomize renders dist/ as a GitOps tool would (v5.8.3 needs a newer Go).
KUSTOMIZE_VERSION='v5.8.2'
KUSTOMIZE_MODULE='sigs.k8s.io/kustomize/kustomize/v5'
# The Web UI release the chart's default image (temporalio/ui:2.52.0) runs.
UI_VERSION='v2.52.0'
UI_MODULE='github.com/temporalio/ui-server/v2'
# Versions built from the wrapper modules under test/peers (their go.mod files say the same).
ETCD_VERSION='v3.6.16'
KUBERNETES_VERSION='v1.34.4'
PULUMI_VERSION='v3.274.1'
PULUMI_KUBERNETES_VERSION='4.25.0'
WRAPPERS="$(cd "$(dirname "$0")/../test/peers" && pwd)"

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

# wrapper_build NAME VERSION WRAPPER PACKAGE [LDFLAGS]: go build PACKAGE in a copy of test/peers/WRAPPER into BIN/NAME.
# The copy sits outside the repository (generated files never land in the work tree).
wrapper_build() {
  local name="$1" version="$2" wrapper="$3" package="$4" ldflags="${5:-}"
  if installed "$name" "$version"; then
    log "$name $version: already installed"
    return
  fi
  require_go
  log "$name $version: go build $package (wrapper module test/peers/$wrapper)"
  local dir
  dir="$(mktemp -d)"
  cp -R "$WRAPPERS/$wrapper/." "$dir/"
  if [ "$wrapper" = pulumi-kubernetes ]; then
    # The provider's main embeds its schema with the release's version, and its Terraform mapping, compacted.
    local module
    # `go list -m` does not download: fetch the module first (an empty module cache on a fresh machine).
    (cd "$dir" && go mod download github.com/pulumi/pulumi-kubernetes/provider/v4)
    module="$(cd "$dir" && go list -m -f '{{.Dir}}' github.com/pulumi/pulumi-kubernetes/provider/v4)"
    if [ -z "$module" ] || [ ! -f "$module/cmd/pulumi-resource-kubernetes/schema.json" ]; then
      log "the provider module has no cmd/pulumi-resource-kubernetes/schema.json (looked in: ${module:-nothing})"
      exit 1
    fi
    node -e '
      const fs = require("fs");
      const [src, out, version] = process.argv.slice(1);
      const schema = JSON.parse(fs.readFileSync(src + "/cmd/pulumi-resource-kubernetes/schema.json", "utf8"));
      schema.version = version;
      fs.writeFileSync(out + "/schema-embed.json", JSON.stringify(schema));
      const mapping = JSON.parse(fs.readFileSync(src + "/cmd/pulumi-resource-kubernetes/terraform-mapping.json", "utf8"));
      fs.writeFileSync(out + "/terraform-mapping-embed.json", JSON.stringify(mapping));
    ' "$module" "$dir" "$version"
  fi
  (cd "$dir" && GOFLAGS=-buildvcs=false go build -trimpath -ldflags "$ldflags" -o "$BIN/$name.new" "$package")
  mv -f "$BIN/$name.new" "$BIN/$name"
  rm -rf "$dir"
  stamp "$name" "$version"
}

# release_install VERSION: temporal-server and temporal-sql-tool of VERSION into $PEERS/releases/<version>/bin.
release_install() {
  local version="$1" dir="$PEERS/releases/${1#v}/bin"
  if [ -x "$dir/temporal-server" ] && [ -x "$dir/temporal-sql-tool" ] && [ -f "$STAMPS/release@$version" ]; then
    log "temporal-server and temporal-sql-tool $version: already installed"
    return
  fi
  require_go
  log "temporal-server and temporal-sql-tool $version: go install $SERVER_MODULE/cmd/server@$version $SERVER_MODULE/cmd/tools/sql@$version"
  local tmpbin
  tmpbin="$(mktemp -d)"
  GOBIN="$tmpbin" go install "$SERVER_MODULE/cmd/server@$version" "$SERVER_MODULE/cmd/tools/sql@$version"
  mkdir -p "$dir"
  mv -f "$tmpbin/server" "$dir/temporal-server"
  mv -f "$tmpbin/sql" "$dir/temporal-sql-tool"
  rm -rf "$tmpbin"
  : > "$STAMPS/release@$version"
}

kube_ldflags() {
  local v="$KUBERNETES_VERSION" minor
  minor="$(echo "$v" | cut -d. -f2)"
  echo "-s -w -X k8s.io/component-base/version.gitVersion=$v -X k8s.io/component-base/version.gitMajor=1" \
    "-X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/client-go/pkg/version.gitVersion=$v" \
    "-X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
}

install_control_plane() {
  wrapper_build etcd "$ETCD_VERSION" etcd .  '-s -w'
  wrapper_build kube-apiserver "$KUBERNETES_VERSION" kubernetes k8s.io/kubernetes/cmd/kube-apiserver "$(kube_ldflags)"
  wrapper_build kube-controller-manager "$KUBERNETES_VERSION" kubernetes k8s.io/kubernetes/cmd/kube-controller-manager "$(kube_ldflags)"
  wrapper_build kubectl "$KUBERNETES_VERSION" kubernetes k8s.io/kubernetes/cmd/kubectl "$(kube_ldflags)"
  wrapper_build pulumi "$PULUMI_VERSION" pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$PULUMI_VERSION"
  wrapper_build pulumi-resource-kubernetes "$PULUMI_KUBERNETES_VERSION" pulumi-kubernetes . \
    "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_KUBERNETES_VERSION"
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

# The UI server reads <root>/config/<env>.yaml; the image's is the module's config/docker.yaml template.
install_ui_config() {
  local config="$PEERS/ui-server/config/docker.yaml"
  if [ -f "$config" ] && [ -f "$STAMPS/ui-config@$UI_VERSION" ]; then
    return
  fi
  require_go
  local dir
  dir="$(cd "$(mktemp -d)" && go mod download -json "$UI_MODULE@$UI_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  if [ -z "$dir" ] || [ ! -f "$dir/config/docker.yaml" ]; then
    log "the $UI_MODULE@$UI_VERSION module has no config/docker.yaml"
    exit 1
  fi
  mkdir -p "$(dirname "$config")"
  cp "$dir/config/docker.yaml" "$config"
  stamp ui-config "$UI_VERSION"
}

# apt_install PACKAGE WHY COMMAND...: Debian's PACKAGE, unless every COMMAND is on PATH already (as root, with apt-get).
apt_install() {
  local package="$1" why="$2" missing=0 c
  shift 2
  for c in "$@"; do
    command -v "$c" >/dev/null 2>&1 || missing=1
  done
  if [ "$missing" -eq 0 ]; then
    return
  fi
  if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    log "$* not found: install Debian's $package package ($why)"
    exit 1
  fi
  log "$package: apt-get install $package"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends "$package" || { apt-get update -q && apt-get install -y -q --no-install-recommends "$package"; }
}

install_chromium() {
  apt_install chromium 'the browser tests drive it with playwright-core' chromium
}

install_prometheus() {
  apt_install prometheus 'the monitoring tests run prometheus and promtool' prometheus promtool
  # The package starts no service here (no init system); stop one if the machine has one: the tests start their own.
  if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
    systemctl stop prometheus || true
  fi
}

go_install temporal-server "$SERVER_MODULE/cmd/server" "$SERVER_VERSION" server
go_install temporal-sql-tool "$SERVER_MODULE/cmd/tools/sql" "$SERVER_VERSION" sql
release_install "$PREVIOUS_SERVER_VERSION"
go_install temporal "$CLI_MODULE/cmd/temporal" "$CLI_VERSION" temporal
go_install temporal-ui-server "$UI_MODULE/cmd/server" "$UI_VERSION" server
go_install kustomize "$KUSTOMIZE_MODULE" "$KUSTOMIZE_VERSION" kustomize
install_control_plane
install_ui_config
install_postgres
install_chromium
install_prometheus
log "peers in $BIN:"
log "  chromium: $(chromium --version 2>/dev/null | head -n 1)"
log "  prometheus: $(prometheus --version 2>&1 | head -n 1)"
log "  kustomize: $("$BIN/kustomize" version 2>&1 | head -n 1)"
log "  kube-apiserver: $("$BIN/kube-apiserver" --version 2>&1 | head -n 1)"
log "  kubectl: $("$BIN/kubectl" version --client 2>&1 | head -n 1)"
log "  etcd: $("$BIN/etcd" --version 2>&1 | head -n 1)"
log "  pulumi: $("$BIN/pulumi" version 2>&1 | head -n 1)"
for b in temporal-server temporal-sql-tool temporal; do
  log "  $b: $("$BIN/$b" --version 2>&1 | head -n 1)"
done
log "  previous release: $("$PEERS/releases/${PREVIOUS_SERVER_VERSION#v}/bin/temporal-server" --version 2>&1 | head -n 1)"
