#!/usr/bin/env bash
# Runs a command in a fresh network namespace that has only the loopback interface, so
# nothing the tests start (the portal, Prometheus, chromedriver, Chromium) can send a packet
# off this machine. Falls back to running it directly where namespaces are not allowed.
set -euo pipefail
if unshare --net -- true 2>/dev/null; then
  exec unshare --net -- bash -c 'ip link set lo up && exec "$@"' isolated "$@"
fi
echo "isolated.sh: cannot create a network namespace; running without isolation" >&2
exec "$@"
