#!/usr/bin/env bash
# A real Kubernetes API server on loopback for `preflight up`, refresh and drift, without any cloud or kubelet
# (../shared/research/real-cluster.md): kube-apiserver built from Go modules + Debian's etcd, the real Knative
# Service CRD, token auth, and kube-controller-manager with only the garbage collector and namespace controller.
# Objects are stored, validated by the CRD schema, defaulted and deleted; no pod ever runs.
#
#   scripts/local-cluster.sh build    ensure kube-apiserver (and kubectl when none is on PATH) in the tool cache
#   scripts/local-cluster.sh start    build if needed, start etcd + kube-apiserver, install the CRD, create the
#                                     namespaces; prints the kubeconfig path (also: `env`)
#   scripts/local-cluster.sh env      `export KUBECONFIG=...` lines for eval (and PATH for a cached kubectl)
#   scripts/local-cluster.sh status   running or not, PIDs, URL
#   scripts/local-cluster.sh where    the path of the cached kube-apiserver binary (present or not)
#   scripts/local-cluster.sh stop     SIGTERM kube-controller-manager, kube-apiserver, then etcd (SIGKILL after a
#                                     grace period), by PID;
#                                     removes the throw-away data
#
#   GUARDRAILS_CLUSTER_DIR=...        state folder (default ~/.local/state/serverless-guardrails/local-cluster):
#                                     etcd data, keys, token file, PIDs, logs, kubeconfig. One cluster per folder.
#   GUARDRAILS_CLUSTER_NAMESPACES=... namespaces to create (default: every guardrails:namespace in stacks/ and
#                                     every metadata.namespace in services/)
#   GUARDRAILS_SHARED_DIR=...         the shared data folder (default ../shared beside the repo): the Knative CRD
#   GUARDRAILS_TOOLS_DIR=...          tool cache root (default ~/.cache/serverless-guardrails/tools)
#   GUARDRAILS_CLUSTER_READY_TIMEOUT  seconds to wait for /readyz (default 90)
set -euo pipefail

KUBERNETES_VERSION=1.34.2          # k8s.io/kubernetes; its staging modules are the matching v0.34.x
# kube-controller-manager runs only the garbage collector and the namespace controller: without the collector a
# foreground deletion (what `pulumi destroy` asks for) never finishes. kubectl only when none is on PATH.
COMMANDS="kube-apiserver kube-controller-manager kubectl"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools_root="${GUARDRAILS_TOOLS_DIR:-$HOME/.cache/serverless-guardrails/tools}"
cache="$tools_root/kube-apiserver-v$KUBERNETES_VERSION"
bin="$cache/bin"
# The default is the path stacks/Pulumi.cluster.yaml names as kubernetes:kubeconfig (~/.local/state/...).
state="${GUARDRAILS_CLUSTER_DIR:-$HOME/.local/state/serverless-guardrails/local-cluster}"
shared="${GUARDRAILS_SHARED_DIR:-$repo/../shared}"
crd="$shared/data/knative/crd/services.serving.knative.dev.yaml"

log() { printf '[local-cluster %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# --- build (cached per machine, keyed by version, never in the repo) ----------------------------------------------
# k8s.io/kubernetes points its 31 k8s.io/* staging modules at ./staging, so `go install ...@v1.34.2` fails; a
# wrapper module that replaces each by the matching v0.x release builds cleanly (real-cluster.md).
build_in_wrapper() {  # $1 = command package (kube-apiserver | kubectl)
  local src="$cache/src" minor="v0.${KUBERNETES_VERSION#1.}"
  export GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS="-trimpath -buildvcs=false"
  mkdir -p "$src" "$bin"
  if ! grep -qs "require k8s.io/kubernetes v$KUBERNETES_VERSION" "$src/go.mod" || ! grep -qs "cmd/$1" "$src/tools.go" \
     || [ ! -f "$src/go.sum" ]; then
    log "preparing the wrapper module for k8s.io/kubernetes v$KUBERNETES_VERSION in $src"
    (cd "$src"
     printf 'module example.com/kas\n\ngo 1.24\n' > go.mod
     { printf '//go:build tools\n\npackage tools\n\nimport (\n'
       # shellcheck disable=SC2086 # a space-separated list, split on purpose
       printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' $COMMANDS
       printf ')\n'; } > tools.go
     GOFLAGS="-mod=mod $GOFLAGS" go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" >/dev/null
     local mod
     mod="$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/v$KUBERNETES_VERSION.mod"
     { echo "require k8s.io/kubernetes v$KUBERNETES_VERSION"; echo 'replace ('
       grep -E '^\s+k8s.io/[a-z-]+ => ./staging' "$mod" | awk -v v="$minor" '{print "  " $1 " => " $1 " " v}'
       echo ')'; } >> go.mod
     GOFLAGS="-mod=mod $GOFLAGS" go mod tidy)
  fi
  log "go build k8s.io/kubernetes/cmd/$1 (cold: ~7 minutes on 2 cores)"
  local t0=$SECONDS
  (cd "$src" && go build -ldflags "-s -w" -o "$bin/$1.tmp" "k8s.io/kubernetes/cmd/$1")
  mv "$bin/$1.tmp" "$bin/$1"
  log "$1 v$KUBERNETES_VERSION: built in $((SECONDS - t0))s ($bin/$1)"
}

cmd_build() {
  mkdir -p "$cache"
  # One build at a time per machine (CI builds in the background while the test fixture may start a cluster).
  exec 9> "$cache/.build.lock"
  flock 9
  local cmd
  for cmd in kube-apiserver kube-controller-manager; do
    if [ -x "$bin/$cmd" ]; then
      log "$cmd v$KUBERNETES_VERSION: cached ($bin/$cmd)"
    else
      command -v go >/dev/null || die "no $cmd in $bin and no Go toolchain to build it"
      build_in_wrapper "$cmd"
    fi
  done
  if ! command -v kubectl >/dev/null && [ ! -x "$bin/kubectl" ]; then
    command -v go >/dev/null || die "no kubectl on PATH or in $bin, and no Go toolchain to build it"
    build_in_wrapper kubectl
  fi
  flock -u 9
}

# --- start / stop ---------------------------------------------------------------------------------------------
free_ports() {  # $1 = how many; distinct loopback ports the kernel says are free right now
  python3 - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

# A zombie (exited, not yet reaped by whoever adopted it) counts as stopped.
running() { kill -0 "$1" 2>/dev/null && ! grep -qs '^[0-9]* ([^)]*) Z' "/proc/$1/stat"; }
alive() { [ -f "$state/$1.pid" ] && running "$(cat "$state/$1.pid")"; }

api() {  # method path [curl args...]: the API server with the run's token (never printed)
  local method="$1" path="$2"; shift 2
  curl -sk --max-time 20 -X "$method" -H "Authorization: Bearer $(cat "$state/token")" "$@" \
    "$(cat "$state/url")$path"
}

namespaces() {
  if [ -n "${GUARDRAILS_CLUSTER_NAMESPACES:-}" ]; then
    # shellcheck disable=SC2086 # a space-separated list, split on purpose
    printf '%s\n' $GUARDRAILS_CLUSTER_NAMESPACES
    return
  fi
  { sed -n 's/^[[:space:]]*guardrails:namespace:[[:space:]]*\([a-z0-9-]*\).*/\1/p' "$repo"/stacks/Pulumi.*.yaml
    sed -n 's/^  namespace:[[:space:]]*\([a-z0-9-]*\).*/\1/p' "$repo"/services/*.yaml 2>/dev/null || true
  } | grep -v '^$' | sort -u
}

wait_ready() {
  local deadline=$((SECONDS + ${GUARDRAILS_CLUSTER_READY_TIMEOUT:-90}))
  until [ "$(api GET /readyz -o /dev/null -w '%{http_code}' 2>/dev/null)" = 200 ]; do
    alive kube-apiserver || die "kube-apiserver exited during start; last log lines:
$(tail -n 20 "$state/kube-apiserver.log")"
    alive etcd || die "etcd exited during start; last log lines:
$(tail -n 20 "$state/etcd.log")"
    [ $SECONDS -lt $deadline ] || die "kube-apiserver not ready after ${GUARDRAILS_CLUSTER_READY_TIMEOUT:-90}s (log: $state/kube-apiserver.log)"
    sleep 0.5
  done
}

install_crd() {
  [ -f "$crd" ] || die "Knative Service CRD not found at $crd (set GUARDRAILS_SHARED_DIR to the shared data folder)"
  local code
  code="$(api POST /apis/apiextensions.k8s.io/v1/customresourcedefinitions -H 'Content-Type: application/yaml' \
          --data-binary @"$crd" -o "$state/crd-response.json" -w '%{http_code}')"
  [ "$code" = 201 ] || [ "$code" = 409 ] || die "creating the Knative CRD: HTTP $code $(cat "$state/crd-response.json")"
  local deadline=$((SECONDS + 30))
  until [ "$(api GET /apis/serving.knative.dev/v1 -o /dev/null -w '%{http_code}')" = 200 ]; do
    [ $SECONDS -lt $deadline ] || die "the Knative CRD was created but serving.knative.dev/v1 is not served after 30s"
    sleep 0.5
  done
  log "Knative Service CRD installed (serving.knative.dev/v1 served)"
}

create_namespace() {
  local code
  code="$(api POST /api/v1/namespaces -H 'Content-Type: application/json' \
          --data "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"$1\"}}" \
          -o "$state/ns-response.json" -w '%{http_code}')"
  [ "$code" = 201 ] || [ "$code" = 409 ] || die "creating namespace $1: HTTP $code $(cat "$state/ns-response.json")"
}

write_kubeconfig() {
  local kc="$state/kubeconfig"
  umask 077  # the file holds the token
  cat > "$kc.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: guardrails-local
  cluster:
    server: $(cat "$state/url")
    insecure-skip-tls-verify: true
contexts:
- name: guardrails-local
  context: {cluster: guardrails-local, user: guardrails-admin}
current-context: guardrails-local
users:
- name: guardrails-admin
  user:
    token: $(cat "$state/token")
EOF
  mv "$kc.tmp" "$kc"
}

cmd_start() {
  if alive kube-apiserver && alive etcd; then
    log "already running ($(cat "$state/url")); kubeconfig: $state/kubeconfig"
    echo "$state/kubeconfig"; return
  fi
  alive kube-controller-manager || alive kube-apiserver || alive etcd && cmd_stop
  cmd_build
  command -v etcd >/dev/null || die "no etcd on PATH: apt-get install etcd-server (Debian), as .ci/run does"
  command -v openssl >/dev/null || die "no openssl on PATH (needed for the service-account keys)"
  command -v curl >/dev/null || die "no curl on PATH (it talks to the API server)"
  rm -rf "$state"; mkdir -p "$state/certs"; chmod 700 "$state"
  local t0=$SECONDS etcd_port peer_port api_port
  read -r etcd_port peer_port api_port <<< "$(free_ports 3)"
  openssl genrsa -out "$state/sa.key" 2048 2>/dev/null
  openssl rsa -in "$state/sa.key" -pubout -out "$state/sa.pub" 2>/dev/null
  (umask 077; openssl rand -hex 32 > "$state/token")   # a new token per run; never logged
  (umask 077; printf '%s,admin,admin,system:masters\n' "$(cat "$state/token")" > "$state/tokens.csv")
  echo "https://127.0.0.1:$api_port" > "$state/url"

  setsid etcd --name guardrails-local --data-dir "$state/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$peer_port" --initial-advertise-peer-urls "http://127.0.0.1:$peer_port" \
    --initial-cluster "guardrails-local=http://127.0.0.1:$peer_port" \
    > "$state/etcd.log" 2>&1 < /dev/null &
  echo $! > "$state/etcd.pid"
  setsid "$bin/kube-apiserver" --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --secure-port "$api_port" --advertise-address 127.0.0.1 \
    --cert-dir "$state/certs" --service-account-issuer https://kubernetes.default.svc \
    --service-account-key-file "$state/sa.pub" --service-account-signing-key-file "$state/sa.key" \
    --token-auth-file "$state/tokens.csv" --authorization-mode RBAC \
    --service-cluster-ip-range 10.96.0.0/16 \
    > "$state/kube-apiserver.log" 2>&1 < /dev/null &
  echo $! > "$state/kube-apiserver.pid"
  log "etcd (pid $(cat "$state/etcd.pid"), :$etcd_port) and kube-apiserver (pid $(cat "$state/kube-apiserver.pid"), :$api_port) starting"
  wait_ready
  write_kubeconfig
  # The garbage collector (foreground deletion, owner references) and the namespace controller (namespace
  # deletion); no other controller: nothing schedules or runs pods.
  setsid "$bin/kube-controller-manager" --kubeconfig "$state/kubeconfig" --controllers garbagecollector,namespace \
    --leader-elect=false --bind-address 127.0.0.1 --secure-port 0 --use-service-account-credentials=false \
    > "$state/kube-controller-manager.log" 2>&1 < /dev/null &
  echo $! > "$state/kube-controller-manager.pid"
  install_crd
  local ns
  for ns in $(namespaces); do create_namespace "$ns"; done
  alive kube-controller-manager || die "kube-controller-manager exited during start; last log lines:
$(tail -n 20 "$state/kube-controller-manager.log")"
  log "ready in $((SECONDS - t0))s: $(cat "$state/url"), namespaces: $(namespaces | paste -sd, -)"
  log "use it with:  eval \"\$(scripts/local-cluster.sh env)\"   (stop: scripts/local-cluster.sh stop)"
  echo "$state/kubeconfig"
}

stop_pid() {  # name: SIGTERM, wait up to 10 s, then SIGKILL — always the PID this script started
  local pid
  [ -f "$state/$1.pid" ] || return 0
  pid="$(cat "$state/$1.pid")"
  if running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    local tries=40
    while [ "$tries" -gt 0 ] && running "$pid"; do sleep 0.25; tries=$((tries - 1)); done
    if running "$pid"; then
      log "$1 (pid $pid) did not stop on SIGTERM within 10s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  rm -f "$state/$1.pid"
}

cmd_stop() {
  # kube-apiserver before etcd: with etcd gone first its graceful shutdown waits a long time on storage.
  stop_pid kube-controller-manager
  stop_pid kube-apiserver
  stop_pid etcd
  if [ -d "$state" ] && [ -z "${GUARDRAILS_CLUSTER_KEEP:-}" ]; then
    rm -rf "$state"
  fi
  log "stopped"
}

cmd_env() {
  if [ ! -f "$state/kubeconfig" ] || ! alive kube-apiserver; then die "not running (scripts/local-cluster.sh start)"; fi
  echo "export KUBECONFIG=$state/kubeconfig"
  if ! command -v kubectl >/dev/null && [ -x "$bin/kubectl" ]; then echo "export PATH=$bin:\$PATH"; fi
}

cmd_status() {
  if alive kube-apiserver && alive etcd; then
    echo "running: $(cat "$state/url") (kube-apiserver pid $(cat "$state/kube-apiserver.pid"), etcd pid $(cat "$state/etcd.pid"), kube-controller-manager pid $(cat "$state/kube-controller-manager.pid" 2>/dev/null || echo -)); kubeconfig: $state/kubeconfig"
  else
    echo "not running (state folder: $state)"; return 1
  fi
}

case "${1:-}" in
  build) cmd_build ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  status) cmd_status ;;
  where) echo "$bin/kube-apiserver" ;;
  *) echo "usage: $0 build|start|stop|env|status|where" >&2; exit 2 ;;
esac
