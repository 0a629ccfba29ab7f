#!/usr/bin/env bash
# Three mummyx-demo nodes behind HAProxy round-robin, coordinated through Redis, on one machine.
#   examples/cluster/run.sh            (after npm run build; Ctrl-C stops everything)
# Needs redis-server and haproxy (Debian: apt-get install redis-server haproxy).
# Ports: PORT (the balancer, default 8080), PORT+1..PORT+3 (the nodes), REDIS_PORT (default 6380).
# STICKY=1 uses haproxy-sticky.cfg (the balancer keeps 2025-era sessions on their node).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
port="${PORT:-8080}"
redis_port="${REDIS_PORT:-6380}"
work="$(mktemp -d "${TMPDIR:-/tmp}/mummyx-cluster.XXXXXX")"
pids=()

stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap stop INT TERM EXIT

redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >"$work/redis.log" &
pids+=($!)
until redis-cli -p "$redis_port" ping >/dev/null 2>&1; do sleep 0.1; done

# Every node serves the same data directory: it stands for storage all nodes mount (NFS, EFS, a
# shared volume); uploads written through one node are read and resumed through the others.
mkdir -p "$work/data"
for n in 1 2 3; do
  node "$root/apps/demo/dist/cli.js" --port "$((port + n))" --threads 2 --data-dir "$work/data" \
    --redis "redis://127.0.0.1:$redis_port" --node-id "n$n" >"$work/n$n.log" 2>&1 &
  pids+=($!)
done
for n in 1 2 3; do
  until curl -sf "http://127.0.0.1:$((port + n))/health" >/dev/null; do sleep 0.1; done
done

config="$here/haproxy-round-robin.cfg"
if [ "${STICKY:-0}" = "1" ]; then config="$here/haproxy-sticky.cfg"; fi
FRONT="127.0.0.1:$port" NODE1="127.0.0.1:$((port + 1))" NODE2="127.0.0.1:$((port + 2))" \
  NODE3="127.0.0.1:$((port + 3))" haproxy -db -f "$config" >"$work/haproxy.log" 2>&1 &
pids+=($!)

echo "cluster up: http://127.0.0.1:$port/ (HAProxy, $(basename "$config")) -> nodes n1..n3 on ports $((port + 1))-$((port + 3)), Redis on $redis_port"
echo "logs in $work; Ctrl-C stops everything"
wait -n "${pids[@]}" || true
echo "a process of the cluster exited; stopping the rest"
