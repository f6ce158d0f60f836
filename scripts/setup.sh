#!/usr/bin/env bash
# Set up a machine for kctl: the system packages its components and tests use (apt) and the
# project itself with its test tools (pip, editable). Idempotent and non-interactive; when
# everything is already there it touches neither apt nor pip and returns in about a second.
#
#   scripts/setup.sh            (as root, or with sudo available)
#   KCTL_SETUP_FORCE_PIP=1 scripts/setup.sh    reinstall the Python side regardless
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$ROOT"

export DEBIAN_FRONTEND=noninteractive
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

log() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

PG_BIN=/usr/lib/postgresql/15/bin

# System requirements: "package|check". A check is a shell condition that holds when the
# package's part is present; only packages whose check fails are installed.
REQUIREMENTS=(
  "postgresql|[ -x $PG_BIN/postgres ] && [ -x $PG_BIN/initdb ] && [ -x $PG_BIN/pg_ctl ]"
  "etcd-server|command -v etcd"
  "etcd-client|command -v etcdctl"
  "git|command -v git"
  "iptables|command -v iptables && command -v iptables-restore"
  # the service proxy's nftables mode (kctl node --proxy-mode nftables)
  "nftables|command -v nft"
  # pod networking: ip(8) for network namespaces (the node's tests, diagnostics)
  "iproute2|command -v ip"
  # a static busybox: it is copied as is into the local example image
  "busybox-static|b=\$(command -v busybox) && ! ldd \"\$b\""
  "ca-certificates|[ -s /etc/ssl/certs/ca-certificates.crt ]"
  "curl|command -v curl"
  # the node agent's container runtime: containerd (with ctr and the runc shim), runc, CNI
  "containerd|command -v containerd && command -v ctr && command -v containerd-shim-runc-v2"
  "runc|command -v runc"
  "containernetworking-plugins|for p in bridge host-local portmap loopback; do [ -x /usr/lib/cni/\$p ] || exit 1; done"
  "conntrack|command -v conntrack"
  # a local OCI registry on loopback (kctl image push; pods pull from it through CRI)
  "docker-registry|command -v docker-registry"
  # independent readers of the OCI archives kctl image pack writes (tests)
  "skopeo|command -v skopeo"
  "umoci|command -v umoci"
)

missing_packages() {
  local entry pkg check
  for entry in "${REQUIREMENTS[@]}"; do
    pkg=${entry%%|*}
    check=${entry#*|}
    if ! bash -c "$check" >/dev/null 2>&1; then
      printf '%s\n' "$pkg"
    fi
  done
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo -n env DEBIAN_FRONTEND=noninteractive "$@"
  else
    die "installing system packages needs root (or sudo): $*"
  fi
}

# Package maintainer scripts try to start their services (postgresql, etcd). There is no
# init system here, so forbid starting services for the duration of the install with a
# policy-rc.d that answers 101 ("action forbidden"), unless the machine already has one.
POLICY=/usr/sbin/policy-rc.d
policy_added=0
remove_policy() {
  if [ "$policy_added" -eq 1 ]; then
    as_root rm -f "$POLICY"
  fi
}

install_system_packages() {
  local -a pkgs=("$@")
  log "installing with apt: ${pkgs[*]}"
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install ${pkgs[*]} by hand"
  if [ ! -e "$POLICY" ]; then
    trap remove_policy EXIT
    as_root sh -c "printf '#!/bin/sh\n# added by kctl scripts/setup.sh during apt-get install\nexit 101\n' > $POLICY && chmod 755 $POLICY"
    policy_added=1
  fi
  as_root apt-get update -q
  # A maintainer script that fails (say, one trying to start a service anyway) must not
  # stop the set-up: what counts is whether the binaries are there afterwards.
  if ! as_root apt-get install -y -q --no-install-recommends \
      -o DPkg::Lock::Timeout=300 \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
      "${pkgs[@]}"; then
    log "apt-get install reported an error; finishing package configuration and re-checking"
    as_root dpkg --configure -a || true
  fi
  remove_policy
  policy_added=0
}

# --- system packages ---------------------------------------------------------------
mapfile -t missing < <(missing_packages)
if [ "${#missing[@]}" -gt 0 ]; then
  install_system_packages "${missing[@]}"
  mapfile -t still < <(missing_packages)
  if [ "${#still[@]}" -gt 0 ]; then
    die "still missing after apt-get install: ${still[*]}"
  fi
else
  log "system packages present"
fi

if ! command -v kubectl >/dev/null 2>&1; then
  die "kubectl not found on PATH (expected /usr/bin/kubectl). kctl's compatibility tests and \
the demo drive the machine's kubectl; install a kubectl (1.28 or newer) and run this again."
fi
kubectl version --client >/dev/null 2>&1 \
  || die "kubectl at $(command -v kubectl) does not run ('kubectl version --client' failed)"

# --- Python ------------------------------------------------------------------------
command -v python3 >/dev/null 2>&1 || die "python3 not found (kctl needs Python 3.11 or newer)"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "kctl needs Python 3.11 or newer; python3 is $(python3 -V 2>&1)"
python3 -m pip --version >/dev/null 2>&1 || die "pip is not available for python3 (python3 -m pip)"

# Is the project installed editable from this checkout, with every requirement of '.[test]'
# satisfied and its console scripts on PATH? -P keeps the checkout itself off sys.path, so
# the answer is about the installation, not about the current directory.
python_ready() {
  python3 -P - "$ROOT" <<'PY'
import importlib.metadata as md
import json
import shutil
import sys
import tomllib
from pathlib import Path
from urllib.parse import unquote, urlparse

from packaging.requirements import Requirement

root = Path(sys.argv[1])
project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
dist = md.distribution(project["name"])
assert dist.version == project["version"], "version changed"
url = json.loads(dist.read_text("direct_url.json") or "{}")
assert url.get("dir_info", {}).get("editable"), "not an editable install"
assert Path(unquote(urlparse(url["url"]).path)).resolve() == root.resolve(), "other checkout"
scripts = {ep.name: ep.value for ep in dist.entry_points if ep.group == "console_scripts"}
assert scripts == project.get("scripts", {}), "console scripts changed"
assert all(shutil.which(name) for name in scripts), "console script not on PATH"


def satisfied(spec: str, extra: str = "") -> bool:
    req = Requirement(spec)
    if req.marker is not None and not req.marker.evaluate({"extra": extra}):
        return True
    try:
        version = md.version(req.name)
    except md.PackageNotFoundError:
        return False
    if not req.specifier.contains(version, prereleases=True):
        return False
    for wanted in req.extras:
        for sub in md.requires(req.name) or []:
            sub_req = Requirement(sub)
            if sub_req.marker is not None and sub_req.marker.evaluate({"extra": wanted}) \
                    and not sub_req.marker.evaluate({"extra": ""}) and not satisfied(sub, wanted):
                return False
    return True


needed = project.get("dependencies", []) + project.get("optional-dependencies", {}).get("test", [])
unmet = [spec for spec in needed if not satisfied(spec)]
assert not unmet, f"unmet: {unmet}"
PY
}

if [ -z "${KCTL_SETUP_FORCE_PIP:-}" ] && python_ready >/dev/null 2>&1; then
  log "python packages present (kctl editable from $ROOT)"
else
  log "installing kctl and its test tools: python3 -m pip install -e '.[test]'"
  python3 -m pip install -q -e ".[test]"
  python_ready >/dev/null || { python_ready || true; die "python packages still not ready after pip install"; }
fi
# grpcio-tools compiles node/runtime/cri/api.proto (make proto, and the test that the
# committed generated code is current). It is pinned to the installed grpcio's minor
# release: the generated code refuses a grpcio older than the grpcio-tools that wrote it.
grpc_minor=$(python3 -P -c 'import grpc; print(".".join(grpc.__version__.split(".")[:2]))')
if python3 -P -c "import importlib.metadata as m, sys; sys.exit(not m.version('grpcio-tools').startswith('$grpc_minor.'))" >/dev/null 2>&1; then
  log "grpcio-tools present (grpcio $grpc_minor)"
else
  log "installing grpcio-tools==$grpc_minor.* (matches grpcio)"
  python3 -m pip install -q "grpcio-tools==$grpc_minor.*"
fi
log "ready"
