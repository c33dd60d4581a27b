#!/usr/bin/env bash
# scripts/bootstrap.sh — makes this checkout ready to run: installs the system packages xvs needs when
# they are missing (apt), installs npm dependencies, builds the BPF objects, the native addon and the
# TypeScript. Idempotent, and fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[bootstrap] %s\n' "$*" >&2; }

# command-or-file : Debian package
NEEDS=(
  "clang:clang" "llc:llvm" "/usr/include/bpf/libbpf.h:libbpf-dev" "bpftool:bpftool" "ip:iproute2"
  "ethtool:ethtool" "curl:curl" "socat:socat" "nginx:nginx-light" "make:make" "g++:g++"
  "pkg-config:pkg-config" "/usr/include/gelf.h:libelf-dev" "/usr/include/zlib.h:zlib1g-dev"
  "python3:python3" "tc:iproute2" "ping:iputils-ping" "sysctl:procps" "pgrep:procps" "umount:mount"
  "promtool:prometheus" "redis-server:redis-server" "nft:nftables" "keepalived:keepalived"
)
missing=()
for pair in "${NEEDS[@]}"; do
  what=${pair%%:*}; pkg=${pair#*:}
  if [[ $what == /* ]]; then [[ -e $what ]] || missing+=("$pkg")
  else command -v "$what" >/dev/null 2>&1 || [[ -x /usr/sbin/$what ]] || missing+=("$pkg"); fi
done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  if [[ $(id -u) -ne 0 ]]; then say "missing packages: ${missing[*]} (run as root to install them)"; exit 1; fi
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # Packages such as nginx, redis-server and prometheus start their system service on install; xvs's
  # tests run their own servers, so forbid service starts while installing (policy-rc.d exit 101).
  policy=/usr/sbin/policy-rc.d
  ours=0
  if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && ours=1
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  if ((ours)); then rm -f "$policy"; trap - EXIT; fi
  # Where systemd runs, policy-rc.d may be bypassed: stop and disable what got started anyway.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now nginx prometheus redis-server keepalived >/dev/null 2>&1 || true; fi
  pkill -f 'nginx: master process /usr/sbin/nginx' >/dev/null 2>&1 || true
fi

# npm dependencies: `npm ci` when node_modules is missing or older than the lockfile.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  say "npm ci"
  npm ci --no-audit --no-fund --loglevel=error >&2
fi

# BPF objects (make is incremental).
make -s -C bpf >&2

# The bpffs xvsd pins its data path on (restarts adopt it), mounted in the host's mount namespace so
# that every `ip netns exec` sees the same one (see README "Restarts").
if [[ $(id -u) == 0 ]] && [[ $(stat -f -c %t /run/xvs 2>/dev/null) != cafe4a11 ]]; then
  mkdir -p /run/xvs && mount -t bpf bpf /run/xvs
fi

# Native addon: rebuild when a source is newer than the binary.
addon=native/build/Release/xvs_native.node
if [[ ! -f $addon ]] || [[ -n $(find native/src native/binding.gyp -newer "$addon" -print -quit) ]]; then
  say "building the native addon"
  nodedir=(); [[ -f /usr/include/node/node.h ]] && nodedir=(--nodedir=/usr)
  npx --no-install node-gyp rebuild "${nodedir[@]}" --directory native --loglevel=error >&2
fi

# TypeScript (incremental).
npx --no-install tsc -p tsconfig.json --incremental --tsBuildInfoFile dist/.tsbuildinfo >&2
