#!/usr/bin/env bash
# The demo (`make demo`): start a kctl cluster on the embedded SQLite store, apply the example
# app (manifests/web.yaml) with the machine's kubectl, show what the cluster holds, and stop.
#
# Environment:
#   KCTL_DATA_DIR        the cluster's data dir (kept afterwards); default: a temp dir, removed
#   KCTL_PORT            API server port on 127.0.0.1; default 6443, or a free one if taken
#   KCTL_READY_TIMEOUT   seconds to wait for /readyz (default 60)
#   KCTL_DEMO_WAIT=1     keep the cluster up after the demo until Ctrl-C, to use kubectl on it
#
# start_cluster/stop_cluster are the only places that know how a cluster runs; when
# `kctl cluster up/down` exists (reconciler and node agents included) they call it instead.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
MANIFEST="$ROOT/manifests/web.yaml"
HOST=127.0.0.1
READY_TIMEOUT=${KCTL_READY_TIMEOUT:-60}

say() { printf '\n== %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

command -v kctl >/dev/null 2>&1 || die "kctl is not on PATH: run 'make setup' (scripts/setup.sh) first"
command -v kubectl >/dev/null 2>&1 || die "kubectl is not on PATH"
command -v curl >/dev/null 2>&1 || die "curl is not on PATH: run 'make setup' first"

if [ -n "${KCTL_DATA_DIR:-}" ]; then
  DIR=$KCTL_DATA_DIR
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd -P)
  TEMP_DIR=0
else
  DIR=$(mktemp -d "${TMPDIR:-/tmp}/kctl-demo.XXXXXX")
  TEMP_DIR=1
fi

# The requested port if it is free, else one the kernel picks.
pick_port() {
  python3 - "$HOST" "$1" <<'PY'
import socket
import sys

host, wanted = sys.argv[1], int(sys.argv[2])
with socket.socket() as s:
    try:
        s.bind((host, wanted))
    except OSError:
        s.bind((host, 0))
    print(s.getsockname()[1])
PY
}
LOG=$DIR/apiserver.log
KUBECONFIG_FILE=$DIR/admin.kubeconfig
SERVER_PID=
COMPONENT_PIDS=()

start_cluster() {
  say "starting the API server: kctl apiserver --data-dir $DIR --listen $HOST:$PORT"
  kctl apiserver --data-dir "$DIR" --listen "$HOST:$PORT" >"$LOG" 2>&1 </dev/null &
  SERVER_PID=$!
}

# The reconciler (controllers + scheduler) and a node agent: API clients of the server.
# As root with containerd installed (scripts/setup.sh), the node is real: its own
# containerd, CNI bridge and service proxy (iptables), and the example image is built
# from busybox and loaded into it. Otherwise two hollow nodes stand in (pods go Running
# without containers, like KWOK) and the demo says so.
NODE=node-1
NODE_DIR=$DIR/$NODE
REAL_NODE=0
if [ "$(id -u)" = 0 ] && command -v containerd >/dev/null 2>&1 && [ -x /usr/lib/cni/bridge ]; then
  REAL_NODE=1
fi

start_components() {
  say "starting the reconciler: kctl reconciler --kubeconfig $KUBECONFIG_FILE"
  kctl reconciler --kubeconfig "$KUBECONFIG_FILE" >"$DIR/reconciler.log" 2>&1 </dev/null &
  COMPONENT_PIDS+=($!)
  if [ "$REAL_NODE" = 1 ]; then
    kctl kubeconfig create-node "$NODE" --data-dir "$DIR" --node-ip 127.0.0.1 >/dev/null
    say "starting a containerd node: kctl node --name $NODE --runtime containerd --data-dir $NODE_DIR"
    kctl node --kubeconfig "$DIR/nodes/$NODE.kubeconfig" --name "$NODE" --runtime containerd \
      --data-dir "$NODE_DIR" --agent-port "$(pick_port 10250)" \
      --tls-cert-file "$DIR/nodes/$NODE.crt" --tls-private-key-file "$DIR/nodes/$NODE.key" \
      >"$DIR/node.log" 2>&1 </dev/null &
    COMPONENT_PIDS+=($!)
    local deadline=$((SECONDS + 120))
    until k get node "$NODE" >/dev/null 2>&1; do  # registered yet?
      [ "$SECONDS" -lt "$deadline" ] || die "node $NODE did not register (see $DIR/node.log)"
      sleep 0.5
    done
    k wait node "$NODE" --for=condition=Ready --timeout=180s
    say "kctl image busybox -t kctl.local/busybox:1.35, loaded into $NODE's containerd"
    kctl image busybox -t kctl.local/busybox:1.35 -o "$DIR/busybox.tar" >/dev/null
    kctl image load "$DIR/busybox.tar" --containerd-socket "$NODE_DIR/containerd.sock"
  else
    echo "note: not root or containerd missing: two hollow (simulated) nodes stand in"
    say "starting two hollow nodes: kctl node --kubeconfig $KUBECONFIG_FILE --runtime hollow --count 2"
    kctl node --kubeconfig "$KUBECONFIG_FILE" --runtime hollow --count 2 >"$DIR/nodes.log" 2>&1 </dev/null &
    COMPONENT_PIDS+=($!)
  fi
}

stop_pid() {
  local pid=$1 what=$2
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    if kill -0 "$pid" 2>/dev/null; then
      echo "demo: $what (pid $pid) did not stop in 10 s; killing it" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  wait "$pid" 2>/dev/null || true
}

stop_cluster() {
  local pid
  for pid in "${COMPONENT_PIDS[@]}"; do
    stop_pid "$pid" "component"
  done
  COMPONENT_PIDS=()
  if [ "$REAL_NODE" = 1 ] && [ -d "$NODE_DIR" ]; then
    kctl node --name "$NODE" --data-dir "$NODE_DIR" --cleanup >"$DIR/node-cleanup.log" 2>&1 ||
      echo "demo: kctl node --cleanup failed (see $DIR/node-cleanup.log)" >&2
  fi
  [ -n "$SERVER_PID" ] || return 0
  stop_pid "$SERVER_PID" "API server"
  SERVER_PID=
}

show_log() {
  if [ -s "$LOG" ]; then
    echo "--- last lines of $LOG:" >&2
    tail -n 30 "$LOG" >&2
  fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  case $rc in 0 | 130 | 143) ;; *) show_log ;; esac
  stop_cluster
  if [ "$TEMP_DIR" -eq 1 ]; then
    rm -rf "$DIR"
  else
    echo "demo: data kept in $DIR"
  fi
  exit "$rc"
}
trap cleanup EXIT
# Ctrl-C while the cluster is held up on purpose (KCTL_DEMO_WAIT) is the normal way out.
HOLDING=0
trap '[ "$HOLDING" -eq 1 ] && exit 0; exit 130' INT
trap 'exit 143' TERM

PORT=${KCTL_PORT:-$(pick_port 6443)}
SERVER=https://$HOST:$PORT

wait_ready() {
  local deadline=$((SECONDS + READY_TIMEOUT))
  until curl -fsS --max-time 2 --cacert "$DIR/ca.crt" "$SERVER/readyz" >/dev/null 2>&1; do
    kill -0 "$SERVER_PID" 2>/dev/null || die "the API server exited before it was ready"
    [ "$SECONDS" -lt "$deadline" ] || die "$SERVER/readyz not ready after ${READY_TIMEOUT}s"
    sleep 0.2
  done
  [ -s "$KUBECONFIG_FILE" ] || die "the API server is ready but wrote no $KUBECONFIG_FILE"
  echo "ready: $SERVER (readyz ok)"
}

k() { kubectl --kubeconfig "$KUBECONFIG_FILE" --cache-dir "$DIR/kubectl-cache" "$@"; }

start_cluster
wait_ready
start_components

say "kubectl apply -f manifests/web.yaml"
k apply -f "$MANIFEST"

say "kubectl rollout status deployment/web"
k rollout status deployment/web --timeout=120s

say "kubectl get all"
k get all

say "kubectl get nodes,pods,endpoints -o wide"
k get nodes,pods,endpoints -o wide

if [ "$REAL_NODE" = 1 ]; then
  CLUSTER_IP=$(k get service web -o jsonpath='{.spec.clusterIP}')
  say "curl http://$CLUSTER_IP/ (the Service's ClusterIP, through the node's proxy rules)"
  for _ in 1 2 3 4; do curl -fsS --max-time 5 "http://$CLUSTER_IP/"; done
  POD=$(k get pods -l app=web -o jsonpath='{.items[0].metadata.name}')
  say "kctl exec $POD -- cat /www/index.html (kubectl's streaming exec is not served yet)"
  kctl --kubeconfig "$KUBECONFIG_FILE" exec "$POD" -- cat /www/index.html
fi

if [ "${KCTL_DEMO_WAIT:-}" = 1 ]; then
  say "the cluster stays up until Ctrl-C; in another shell:"
  echo "  export KUBECONFIG=$KUBECONFIG_FILE"
  echo "  kubectl get all"
  HOLDING=1
  wait "$SERVER_PID" || true
fi
