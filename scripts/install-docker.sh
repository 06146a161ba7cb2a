#!/usr/bin/env bash
# Make a Docker daemon reachable on this machine (CI and fresh dev machines).
# Idempotent: exits 0 at once when `docker info` already works. Needs root to install or start dockerd.
#   scripts/install-docker.sh            install docker.io if dockerd is missing, start it, wait for it
# Env: DOCKERD_LOG (default /tmp/nestbox-dockerd.log), DOCKER_WAIT_SECONDS (default 60).
set -euo pipefail

log() { printf '[install-docker] %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  log "docker daemon already reachable"
  exit 0
fi

if [ "$(id -u)" != "0" ]; then
  SUDO="sudo"
else
  SUDO=""
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "dockerd not found: installing docker.io from apt"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q docker.io
fi

log_file="${DOCKERD_LOG:-/tmp/nestbox-dockerd.log}"
wait_seconds="${DOCKER_WAIT_SECONDS:-60}"

if command -v pgrep >/dev/null 2>&1 && pgrep -x dockerd >/dev/null 2>&1; then
  log "dockerd is running but not answering yet; waiting"
else
  log "starting dockerd (log: $log_file)"
  # setsid + nohup: the daemon must outlive this script and must not hold our stdio.
  $SUDO setsid nohup dockerd >"$log_file" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_seconds"); do
  if docker info >/dev/null 2>&1; then
    log "docker daemon ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null || echo '?'))"
    exit 0
  fi
  sleep 1
done

log "docker daemon did not answer within ${wait_seconds}s; last lines of $log_file:"
tail -n 20 "$log_file" >&2 || true
exit 1
