#!/bin/sh
# Liveness check for the runner on systemd (called by runner-health.service).
# fresh heartbeat -> exit 0; stale while the service is active -> restart it, exit 1;
# service not active -> leave it alone (stopped on purpose, or systemd is restarting it);
# `runner health` unable to judge (exit other than 0/1) -> report, never restart.
set -u
exe="${RUNNER_HEALTH_EXE:-/opt/runner/.venv/bin/runner}"
state="${RUNNER_STATE_DIR:-/opt/runner/state}"
max_age="${RUNNER_HEALTH_MAX_AGE:-120}"
service="${RUNNER_SERVICE:-runner.service}"

verdict=$("$exe" health --state-dir "$state" --max-age "$max_age" 2>&1)
code=$?
[ "$code" -eq 0 ] && exit 0
if [ "$code" -ne 1 ]; then
    echo "runner health could not judge (exit $code): $verdict" >&2
    exit "$code"
fi
if ! systemctl is-active --quiet "$service"; then
    echo "$service is not active; not touching it. $verdict" >&2
    exit 1
fi
echo "$service is active with a stale heartbeat: restarting it. $verdict" >&2
systemctl restart "$service"
exit 1
