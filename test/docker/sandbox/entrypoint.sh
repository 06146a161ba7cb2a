#!/bin/sh
# Starts the inner Docker daemon in the background, waits until it answers, then sleeps forever:
# the test drives everything through `docker exec`. Run with `docker run --init` (PID 1 reaps).
set -eu
mkdir -p /var/log /var/lib/docker
# overlay2 on the fresh /var/lib/docker volume; set SANDBOX_STORAGE_DRIVER to override.
dockerd --host=unix:///var/run/docker.sock --storage-driver="${SANDBOX_STORAGE_DRIVER:-overlay2}" \
  >/var/log/dockerd.log 2>&1 &
pid=$!
tries=0
until docker info >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "sandbox: dockerd exited; its log:" >&2
    tail -n 40 /var/log/dockerd.log >&2
    exit 1
  fi
  tries=$((tries + 1))
  if [ "$tries" -gt 240 ]; then
    echo "sandbox: dockerd did not answer within 60s; its log:" >&2
    tail -n 40 /var/log/dockerd.log >&2
    exit 1
  fi
  sleep 0.25
done
echo "sandbox: inner docker daemon ready ($(docker version --format '{{.Server.Version}}'))"
exec sleep infinity
