#!/usr/bin/env bash
# infera as a cluster on one machine: one PostgreSQL (initdb into a folder of the demo's
# own), three `infera serve` nodes on one database and one shared model repository
# (model_control: poll), and HAProxy in front on one port, health-checking each node on
# /v2/health/ready. `make demo-cluster` / `make demo-cluster-stop` run it.
#
#   scripts/demo-cluster.sh start   # prints the URL and the login, returns
#   scripts/demo-cluster.sh stop    # stops HAProxy, the nodes and PostgreSQL
#
# Environment (defaults in brackets):
#   DIR [demo/cluster]    everything the cluster writes: pg/ (the database, its socket),
#                         node1..3/ (configs, temp files, logs), haproxy.cfg, *.pid
#   REPO [demo/repo]      the model repository every node serves (shared by path)
#   INFERA [build/infera] the binary
#   HOST [127.0.0.1]  PORT [8080]   where HAProxy listens
#   NODE_PORTS ["PORT+1 PORT+2 PORT+3"]  the three nodes' ports (127.0.0.1)
#   DEMO_PASSWORD [infera-demo]     the first admin's password (first start only)
#   PG_BIN [/usr/lib/postgresql/15/bin]   HAPROXY [/usr/sbin/haproxy]
#
# As root, PostgreSQL runs as the `postgres` system user (initdb refuses root). The
# database listens only on a unix socket in DIR/pg. Every wait below is bounded.
# The daemons (PostgreSQL, the nodes, HAProxy) keep none of the caller's descriptors:
# their stdin/stdout/stderr are files of DIR or /dev/null, and every other descriptor
# the caller let this script inherit is closed first, so a caller that reads this
# script's output to its end (a pipe) sees the end when the script exits.
set -euo pipefail

# Closes every inherited descriptor but stdin, stdout and stderr (and bash's own 255,
# the script file): the daemons started below would otherwise hold them.
for fd_path in /proc/$$/fd/*; do
  fd=${fd_path##*/}
  if [ "$fd" -gt 2 ] && [ "$fd" != 255 ]; then eval "exec $fd>&-" 2> /dev/null || true; fi
done
unset fd_path fd

DIR=${DIR:-demo/cluster}
REPO=${REPO:-demo/repo}
INFERA=${INFERA:-build/infera}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8080}
DEMO_PASSWORD=${DEMO_PASSWORD:-infera-demo}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
HAPROXY=${HAPROXY:-/usr/sbin/haproxy}
NODES=3
NODE_PORTS=${NODE_PORTS:-"$((PORT + 1)) $((PORT + 2)) $((PORT + 3))"}
read -r -a NODE_PORT <<< "$NODE_PORTS"
[ "${#NODE_PORT[@]}" = "$NODES" ] || { echo "demo-cluster: NODE_PORTS needs $NODES ports" >&2; exit 1; }

die() { echo "demo-cluster: $*" >&2; exit 1; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then /usr/sbin/runuser -u postgres -- "$@"; else "$@"; fi
}

# Waits up to $2 seconds for `curl -fs $1` to succeed; gives up at once when process $3
# (optional) is gone.
wait_http() {
  local url=$1 limit=$2 pid=${3:-} i
  for ((i = 0; i < limit * 5; i++)); do
    if curl -fs -o /dev/null "$url"; then return 0; fi
    if [ -n "$pid" ] && ! kill -0 "$pid" 2> /dev/null; then return 1; fi
    sleep 0.2
  done
  return 1
}

start() {
  [ -x "$INFERA" ] || die "no $INFERA: build first (make build)"
  [ -d "$REPO" ] || die "no model repository $REPO"
  [ -x "$PG_BIN/initdb" ] || die "no PostgreSQL server binaries in $PG_BIN (postgresql-15)"
  [ -x "$HAPROXY" ] || die "no $HAPROXY (haproxy)"
  mkdir -p "$DIR"
  DIR=$(cd "$DIR" && pwd)
  REPO=$(cd "$REPO" && pwd)
  INFERA=$(cd "$(dirname "$INFERA")" && pwd)/$(basename "$INFERA")
  local pg=$DIR/pg
  if [ ! -d "$pg/data" ]; then
    mkdir -p "$pg"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$pg"; fi
    as_pg "$PG_BIN/initdb" -D "$pg/data" -U postgres --auth=trust -E UTF8 --locale=C \
      > "$pg/initdb.log" 2>&1 || die "initdb failed: see $pg/initdb.log"
  fi
  if ! as_pg "$PG_BIN/pg_ctl" status -D "$pg/data" > /dev/null 2>&1; then
    as_pg "$PG_BIN/pg_ctl" start -w -t 60 -D "$pg/data" -l "$pg/log" \
      -o "-c listen_addresses= -c unix_socket_directories=$pg" > /dev/null 2>&1 < /dev/null \
      || die "PostgreSQL did not start: see $pg/log"
  fi
  as_pg "$PG_BIN/psql" -h "$pg" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'infera'" \
    | grep -q 1 || as_pg "$PG_BIN/createdb" -h "$pg" -U postgres infera
  local url="postgresql://postgres@/infera?host=$pg"

  # All nodes start at once, each with the first admin's password: on an empty
  # database they race to create it, and the database lets exactly one do it (the others
  # find it made, as they find the shared signing secret).
  local backends="" i port
  for ((i = 1; i <= NODES; i++)); do
    port=${NODE_PORT[$((i - 1))]}
    local node=$DIR/node$i
    mkdir -p "$node"
    cat > "$node/config.yaml" <<EOF
server: {host: 127.0.0.1, port: $port}
storage: {url: '$url', path: $node/data}
model_repository: $REPO
model_control: {mode: poll, poll_s: 5}
auth: {enabled: true}
EOF
    if [ -f "$node/infera.pid" ] && kill -0 "$(cat "$node/infera.pid")" 2> /dev/null; then
      echo "node$i already running (pid $(cat "$node/infera.pid"))"
    else
      INFERA_ADMIN_PASSWORD=$DEMO_PASSWORD nohup "$INFERA" serve --config "$node/config.yaml" \
        > "$node/out.log" 2> "$node/err.log" < /dev/null &
      echo $! > "$node/infera.pid"
    fi
    backends+="    server node$i 127.0.0.1:$port check"$'\n'
  done
  for ((i = 1; i <= NODES; i++)); do
    wait_http "http://127.0.0.1:${NODE_PORT[$((i - 1))]}/v2/health/ready" 180 \
      "$(cat "$DIR/node$i/infera.pid")" \
      || die "node$i did not become ready: $(tail -n 3 "$DIR/node$i/err.log")"
  done

  cat > "$DIR/haproxy.cfg" <<EOF
# Written by scripts/demo-cluster.sh: three infera nodes behind one port.
global
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    option http-server-close
frontend infera
    bind $HOST:$PORT
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /v2/health/ready
    http-check expect status 200
    default-server inter 2s fall 2 rise 1
$backends
EOF
  if [ -f "$DIR/haproxy.pid" ] && kill -0 "$(cat "$DIR/haproxy.pid")" 2> /dev/null; then
    kill "$(cat "$DIR/haproxy.pid")" || true
    sleep 0.5
  fi
  # Daemons get no descriptor of ours (a caller reading our output to EOF must not wait
  # for them).
  "$HAPROXY" -f "$DIR/haproxy.cfg" -D -p "$DIR/haproxy.pid" > "$DIR/haproxy.log" 2>&1 < /dev/null \
    || die "haproxy did not start: see $DIR/haproxy.log"
  wait_http "http://$HOST:$PORT/v2/health/ready" 30 || die "no answer through HAProxy on $HOST:$PORT"
  echo
  echo "infera cluster: http://$HOST:$PORT   login: admin / $DEMO_PASSWORD"
  echo "  nodes:   $(printf 'http://127.0.0.1:%s ' "${NODE_PORT[@]}")(logs in $DIR/node*/err.log)"
  echo "  database: $url"
  echo "  stop:    make demo-cluster-stop"
}

stop() {
  [ -d "$DIR" ] || return 0
  # Each daemon gets SIGTERM, up to 30 s to exit, then SIGKILL.
  local f pid n
  for f in "$DIR/haproxy.pid" "$DIR"/node*/infera.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    kill "$pid" 2> /dev/null || true
    for ((n = 0; n < 150; n++)); do kill -0 "$pid" 2> /dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2> /dev/null || true
    rm -f "$f"
  done
  if [ -d "$DIR/pg/data" ]; then
    as_pg "$PG_BIN/pg_ctl" stop -w -t 60 -m fast -D "$DIR/pg/data" > /dev/null 2>&1 || true
  fi
  echo "infera cluster stopped (data kept in $DIR)"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
