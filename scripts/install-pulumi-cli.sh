#!/usr/bin/env bash
# Provide the Pulumi CLI, the Python language host and the kubernetes provider plugin, without any
# download site: either an official `pulumi` already on PATH, or a build from Go modules (Go module proxy).
#
# Binaries go to a cache OUTSIDE the work tree, keyed by versions, so later runs (and CI on the same
# machine) reuse them:  ${GUARDRAILS_TOOLS_DIR:-$HOME/.cache/serverless-guardrails/tools}/pulumi-v<cli>-k8s-<ver>/bin
# and .tools/bin (git-ignored) links there. Versions: scripts/pulumi-versions.env (the only place).
#
#   GUARDRAILS_FORCE_BUILD=1   build even if a pulumi CLI is on PATH
#   GUARDRAILS_TOOLS_DIR=...   cache root
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/pulumi-versions.env
. "$repo/scripts/pulumi-versions.env"

log() { printf '[install-pulumi-cli %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }
started=$SECONDS

tools_root="${GUARDRAILS_TOOLS_DIR:-$HOME/.cache/serverless-guardrails/tools}"
cache="$tools_root/pulumi-v$PULUMI_CLI_VERSION-k8s-$PULUMI_K8S_PROVIDER_MODULE_VERSION"
bin="$cache/bin"
link="$repo/.tools/bin"
pulumi_home="${GUARDRAILS_PULUMI_HOME:-$repo/.pulumi-home}"

# A `pulumi` on PATH that is not our own .tools/bin link counts as an official install.
ambient_pulumi() {
  local p
  p="$(PATH="$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF "$link" | paste -sd: -)" command -v pulumi || true)"
  [ -n "$p" ] && printf '%s\n' "$p"
}

# --- stamps: one per component, content = everything its binary depends on -------------------------
stamp_matches() { [ -f "$cache/stamps/$1" ] && [ "$(cat "$cache/stamps/$1")" = "$2" ] && [ -x "$bin/$3" ]; }
write_stamp() { mkdir -p "$cache/stamps"; printf '%s' "$2" > "$cache/stamps/$1"; }

go_env() {
  export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
}

module_dir() {  # module@version -> extracted module cache dir (downloads it through the Go module proxy)
  local json dir
  json="$(go mod download -json "$1")" || die "go mod download $1 failed: $json"
  dir="$(printf '%s' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] && [ -d "$dir" ] || die "module $1 not available from the Go module proxy: $json"
  printf '%s\n' "$dir"
}

build_cli() {
  local key="pulumi=$PULUMI_CLI_VERSION"
  if stamp_matches cli "$key" pulumi && [ -f "$bin/pulumi-language-python-exec" ]; then
    log "pulumi v$PULUMI_CLI_VERSION: cached ($bin/pulumi)"; return
  fi
  log "pulumi v$PULUMI_CLI_VERSION: fetching pkg/v3 and sdk/v3 modules"
  local work pkg sdk t0=$SECONDS
  pkg="$(module_dir "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_CLI_VERSION")"
  sdk="$(module_dir "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_CLI_VERSION")"
  # Rebuild the monorepo layout so pkg/go.mod's `replace .../sdk/v3 => ../sdk` resolves as upstream.
  work="$cache/src/pulumi"
  rm -rf "$work"; mkdir -p "$work" "$bin"
  cp -r "$pkg" "$work/pkg"; cp -r "$sdk" "$work/sdk"; chmod -R u+w "$work"
  log "pulumi v$PULUMI_CLI_VERSION: go build ./cmd/pulumi (cold: several minutes)"
  (cd "$work/pkg" && go build -tags osusergo,grpcnotrace \
    -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_CLI_VERSION" \
    -o "$bin/pulumi" ./cmd/pulumi)
  # Upstream helper scripts shipped in the sdk/v3 module; zips drop the executable bit.
  install -m 0755 "$work/sdk/python/cmd/pulumi-language-python-exec" \
                  "$work/sdk/python/dist/pulumi-resource-pulumi-python" "$bin/"
  rm -rf "$work"
  write_stamp cli "$key"
  log "pulumi v$PULUMI_CLI_VERSION: built in $((SECONDS - t0))s"
}

build_language_host() {
  local src="$repo/scripts/pulumi-language-python" key t0=$SECONDS
  key="sdk=$PULUMI_CLI_VERSION src=$(cat "$src"/go.mod "$src"/go.sum "$src"/*.go | sha256sum | cut -c1-16)"
  if stamp_matches langhost "$key" pulumi-language-python; then
    log "pulumi-language-python: cached"; return
  fi
  grep -q "github.com/pulumi/pulumi/sdk/v3 v$PULUMI_CLI_VERSION\$" "$src/go.mod" \
    || die "$src/go.mod must require github.com/pulumi/pulumi/sdk/v3 v$PULUMI_CLI_VERSION (PULUMI_CLI_VERSION in scripts/pulumi-versions.env)"
  log "pulumi-language-python: go build (scripts/pulumi-language-python, against sdk/v3 v$PULUMI_CLI_VERSION)"
  mkdir -p "$bin"
  (cd "$src" && go build -ldflags "-s -w -X main.version=$PULUMI_CLI_VERSION" -o "$bin/pulumi-language-python" .)
  write_stamp langhost "$key"
  log "pulumi-language-python: built in $((SECONDS - t0))s"
}

build_kubernetes_provider() {
  local key="provider=$PULUMI_K8S_PROVIDER_MODULE_VERSION sdk=$PULUMI_K8S_GO_SDK_VERSION" t0=$SECONDS
  if stamp_matches k8s "$key" pulumi-resource-kubernetes; then
    log "pulumi-resource-kubernetes: cached"; return
  fi
  log "pulumi-resource-kubernetes $PULUMI_K8S_PROVIDER_MODULE_VERSION: fetching modules"
  local work prov ksdk
  prov="$(module_dir "github.com/pulumi/pulumi-kubernetes/provider/v4@$PULUMI_K8S_PROVIDER_MODULE_VERSION")"
  ksdk="$(module_dir "github.com/pulumi/pulumi-kubernetes/sdk/v4@$PULUMI_K8S_GO_SDK_VERSION")"
  work="$cache/src/pulumi-kubernetes"
  rm -rf "$work"; mkdir -p "$work" "$bin"
  cp -r "$prov" "$work/provider"; cp -r "$ksdk" "$work/sdk"; chmod -R u+w "$work"
  # schema-embed.json / terraform-mapping-embed.json are generated (git-ignored upstream, absent from zips).
  log "pulumi-resource-kubernetes: go generate (embedded schema)"
  (cd "$work/provider" && VERSION="${PULUMI_K8S_PROVIDER_MODULE_VERSION#v}" go generate ./cmd/pulumi-resource-kubernetes)
  log "pulumi-resource-kubernetes: go build (cold: several minutes)"
  (cd "$work/provider" && go build \
    -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$PULUMI_K8S_PROVIDER_MODULE_VERSION" \
    -o "$bin/pulumi-resource-kubernetes" ./cmd/pulumi-resource-kubernetes)
  rm -rf "$work"
  write_stamp k8s "$key"
  log "pulumi-resource-kubernetes: built in $((SECONDS - t0))s"
}

install_kubernetes_plugin() {
  local pulumi="$1" provider="$2"
  local dest="$pulumi_home/plugins/resource-kubernetes-v$PULUMI_K8S_PLUGIN_VERSION/pulumi-resource-kubernetes"
  if [ -x "$dest" ] && cmp -s "$dest" "$provider"; then
    log "kubernetes plugin $PULUMI_K8S_PLUGIN_VERSION: already in $pulumi_home"; return
  fi
  log "kubernetes plugin: pulumi plugin install resource kubernetes $PULUMI_K8S_PLUGIN_VERSION --file $provider"
  PULUMI_HOME="$pulumi_home" PULUMI_SKIP_UPDATE_CHECK=true \
    "$pulumi" plugin install resource kubernetes "$PULUMI_K8S_PLUGIN_VERSION" --file "$provider" --reinstall
}

main() {
  mkdir -p "$repo/.tools" "$pulumi_home"
  local official
  official="$(ambient_pulumi || true)"
  if [ -n "$official" ] && [ -z "${GUARDRAILS_FORCE_BUILD:-}" ]; then
    log "using the pulumi CLI on PATH: $official ($("$official" version 2>/dev/null || echo '?'))"
    ln -sfn "$(dirname "$(readlink -f "$official")")" "$link"
    if [ ! -d "$pulumi_home/plugins/resource-kubernetes-v$PULUMI_K8S_PLUGIN_VERSION" ]; then
      log "installing kubernetes plugin $PULUMI_K8S_PLUGIN_VERSION from get.pulumi.com (needs network)"
      PULUMI_HOME="$pulumi_home" "$official" plugin install resource kubernetes "$PULUMI_K8S_PLUGIN_VERSION" \
        || die "could not install the kubernetes plugin; set GUARDRAILS_FORCE_BUILD=1 to build it offline"
    fi
  else
    command -v go >/dev/null || die "no pulumi on PATH and no Go toolchain to build it (need Go >= 1.26)"
    go_env
    log "building into $cache (Go $(go env GOVERSION), proxy $(go env GOPROXY))"
    build_cli
    build_language_host
    build_kubernetes_provider
    ln -sfn "$bin" "$link"
    install_kubernetes_plugin "$bin/pulumi" "$bin/pulumi-resource-kubernetes"
  fi
  log "ready: $link -> $(readlink "$link"); pulumi $("$link/pulumi" version) in $((SECONDS - started))s"
  log "use it with:  . scripts/pulumi-env.sh"
}

main "$@"
