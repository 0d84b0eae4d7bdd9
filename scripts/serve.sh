#!/usr/bin/env bash
# Serve GenLab as a hosted demo: N Streamlit replicas on loopback ports behind Debian's nginx on one public port.
#
#   bash scripts/serve.sh [--replicas N] [--port P] [--demo | --no-demo] [--upstream IP:PORT]...
#
#   --replicas N      Streamlit processes started here (default 2), on free loopback ports the OS picks
#   --port P          the public port; nginx listens on every interface (default 8501)
#   --demo            GENLAB_DEMO=1 for the replicas: the hosted demo's limits (the default)
#   --no-demo         GENLAB_DEMO=0: no demo limits
#   --upstream A:P    also route to a replica started elsewhere (another host sharing the runs folder), as
#                     IPv4:port; repeatable; with --replicas 0 this host only balances
#   --tabs-per-address N  open pages (websockets) one client address may hold at once (default 100: a
#                     classroom behind one NAT address fits; a script that opens thousands does not)
#
# A Streamlit session lives in one process (its websocket, its uploads and the /media/ files it produced),
# so every request of one browser must reach the same replica. nginx sets a cookie naming the replica that
# answered (genlab_route=r1, r2, ...) and routes requests that carry it back there; a request without it,
# or with a value that names no replica, goes to the round-robin pool (and gets a fresh cookie). If a
# pinned replica is down, another one answers and the cookie follows it.
#
# The replicas share the runs folder ($GENLAB_RUNS, default runs/app: the training queue and its flock, the
# published models) and the map caches (beside the checkpoints, or $GENLAB_CACHE_DIR); GENLAB_MAX_JOBS,
# GENLAB_MAX_QUEUE and the other settings pass through from the environment. The nginx config, its pid
# and logs and the replicas' logs go to $GENLAB_SERVE_DIR (default runs/serve/<port>), rewritten on every
# start; nothing outside it is written, so no root-owned paths are needed beyond the binary (installed with
# apt-get when missing). The script waits until every replica answers /_stcore/health, prints the URL and
# runs until Ctrl-C or SIGTERM, which stop nginx and the replicas; if one of them dies, it stops the rest
# and exits 1 (for a supervisor to restart it). Training workers are detached from the replicas by design
# (genlab/training/jobs.py): they keep running, and the next start finds them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PYTHON=${PYTHON:-python}
NGINX=/usr/sbin/nginx

REPLICAS=2
PORT=8501
DEMO=1
UPSTREAMS=()
TABS_PER_ADDRESS=100
usage() { sed -n '2,14s/^# \{0,1\}//p' "$0"; }
die() { echo "serve.sh: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
  case "$1" in
    --replicas) [ $# -ge 2 ] || die "--replicas needs a number"; REPLICAS=$2; shift 2 ;;
    --replicas=*) REPLICAS=${1#*=}; shift ;;
    --port) [ $# -ge 2 ] || die "--port needs a number"; PORT=$2; shift 2 ;;
    --port=*) PORT=${1#*=}; shift ;;
    --tabs-per-address) [ $# -ge 2 ] || die "--tabs-per-address needs a number"; TABS_PER_ADDRESS=$2; shift 2 ;;
    --tabs-per-address=*) TABS_PER_ADDRESS=${1#*=}; shift ;;
    --demo) DEMO=1; shift ;;
    --no-demo) DEMO=0; shift ;;
    --upstream) [ $# -ge 2 ] || die "--upstream needs IP:PORT"; UPSTREAMS+=("$2"); shift 2 ;;
    --upstream=*) UPSTREAMS+=("${1#*=}"); shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[[ $REPLICAS =~ ^[0-9]+$ ]] && [ "$REPLICAS" -le 32 ] || die "--replicas must be a number from 0 to 32, got $REPLICAS"
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || die "--port must be 1..65535, got $PORT"
[[ $TABS_PER_ADDRESS =~ ^[0-9]+$ ]] && [ "$TABS_PER_ADDRESS" -ge 1 ] && [ "$TABS_PER_ADDRESS" -le 100000 ] || die "--tabs-per-address must be 1..100000, got $TABS_PER_ADDRESS"
OCTET='(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])'
for addr in "${UPSTREAMS[@]}"; do   # an address, not a name: nginx reports the address that answered
  [[ $addr =~ ^$OCTET(\.$OCTET){3}:[0-9]{1,5}$ ]] || die "--upstream takes IPv4:PORT (resolve host names first), got $addr"
done
[ $((REPLICAS + ${#UPSTREAMS[@]})) -ge 1 ] || die "nothing to serve: --replicas 0 and no --upstream"

if [ ! -x "$NGINX" ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q && $SUDO apt-get install -y -q --no-install-recommends nginx
fi

export GENLAB_DEMO=$DEMO
export GENLAB_RUNS=${GENLAB_RUNS:-$ROOT/runs/app}   # absolute, so every replica (and its workers) agrees

PIDS=()          # the replicas started here
NGINX_PID=""
STOPPING=""
cleanup() {
  [ -z "$STOPPING" ] || return 0
  STOPPING=1
  local all=() workers=() p i
  if [ -n "$NGINX_PID" ]; then
    workers=($(pgrep -P "$NGINX_PID" 2>/dev/null || true))
    kill -TERM "$NGINX_PID" 2>/dev/null || true   # fast shutdown: the master stops its workers
    all+=("$NGINX_PID")
  fi
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; all+=("$p"); done
  for ((i = 0; i < 40; i++)); do   # up to 20 s, then SIGKILL what is left
    local alive=""
    for p in "${all[@]}" "${workers[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ -n "$alive" ] || break
    sleep 0.5
  done
  for p in "${all[@]}" "${workers[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'echo "serve.sh: stopping nginx and the replicas" >&2; cleanup; exit 0' INT TERM

# Free loopback ports for the replicas, from the OS (never the public port, which must be free too).
mapfile -t PORTS < <("$PYTHON" - "$REPLICAS" "$PORT" <<'EOF'
import socket, sys
n, public, held = int(sys.argv[1]), int(sys.argv[2]), []
try:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as nginx binds it
        s.bind(("", public))
except OSError as err:
    sys.exit(f"serve.sh: port {public} cannot be used ({err.strerror})")
while len([s for s in held if s.getsockname()[1] != public]) < n:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
for s in held:
    if s.getsockname()[1] != public:
        print(s.getsockname()[1])
EOF
)
[ "${#PORTS[@]}" -eq "$REPLICAS" ] || die "no free ports for the replicas, or port $PORT is taken"
DIR=${GENLAB_SERVE_DIR:-$ROOT/runs/serve/$PORT}
mkdir -p "$DIR/tmp" "$DIR/static" "$GENLAB_RUNS"
# what nginx answers a link longer than its buffers (the app server answers the same way: app.py TOO_LONG)
python -c "import sys; from genlab.http_limits import too_long_page; sys.stdout.buffer.write(too_long_page(b'/'))" \
  >"$DIR/static/genlab-link-too-long.html" 2>/dev/null ||
  echo "<!doctype html><title>GenLab: link too long</title><h1>This link is too long</h1><p><a href='/'>GenLab</a>" \
    >"$DIR/static/genlab-link-too-long.html"
DIR=$(cd "$DIR" && pwd)

ADDRS=()         # every replica as IP:PORT; replica i is named r<i+1> in the cookie
for ((i = 0; i < REPLICAS; i++)); do
  ADDRS+=("127.0.0.1:${PORTS[i]}")
  "$PYTHON" -m streamlit run app.py --server.headless true --server.port "${PORTS[i]}" \
    --server.address 127.0.0.1 </dev/null >"$DIR/replica-r$((i + 1)).log" 2>&1 &
  PIDS+=($!)
done
ADDRS+=("${UPSTREAMS[@]}")

# Wait until every replica answers its health check (those started here must stay alive meanwhile).
health() {   # prints the addresses in "$@" that do not answer /_stcore/health with "ok"
  "$PYTHON" - "$@" <<'EOF'
import sys, urllib.request
for addr in sys.argv[1:]:
    try:
        ok = urllib.request.urlopen(f"http://{addr}/_stcore/health", timeout=2).read() == b"ok"
    except OSError:
        ok = False
    if not ok:
        print(addr)
EOF
}
deadline=$((SECONDS + ${GENLAB_SERVE_TIMEOUT:-120}))
pending=("${ADDRS[@]}")
while [ "${#pending[@]}" -gt 0 ]; do
  for ((i = 0; i < REPLICAS; i++)); do
    kill -0 "${PIDS[i]}" 2>/dev/null || { tail -n 20 "$DIR/replica-r$((i + 1)).log" >&2
      die "replica r$((i + 1)) (port ${PORTS[i]}) exited while starting; its log: $DIR/replica-r$((i + 1)).log"; }
  done
  mapfile -t pending < <(health "${pending[@]}")
  [ "${#pending[@]}" -eq 0 ] && break
  [ "$SECONDS" -lt "$deadline" ] || die "no health answer within ${GENLAB_SERVE_TIMEOUT:-120} s from: ${pending[*]}"
  sleep 0.5
done

# The nginx config: one upstream pool (round robin), one upstream per replica (the others as backups),
# and maps from the cookie to the upstream and from the answering address back to the replica's name.
{
  echo "# Generated by scripts/serve.sh on $(date -u +%FT%TZ); rewritten on every start."
  echo "daemon off;"
  echo "worker_processes auto;"
  echo "pid $DIR/nginx.pid;"
  echo "error_log $DIR/nginx-error.log warn;"
  # As root, the workers would run as nobody, who may not reach this folder's temp files: run them as the
  # account that runs the replicas (run this script as an unprivileged user on a public host).
  [ "$(id -u)" -eq 0 ] && echo "user $(id -un) $(id -gn);"
  echo "events { worker_connections 1024; }"
  echo "http {"
  echo "  server_tokens off;"
  echo "  log_format genlab '\$remote_addr [\$time_local] \"\$request\" \$status \$body_bytes_sent '"
  echo "                    'route=\"\$cookie_genlab_route\" replica=\$genlab_served upstream=\$upstream_addr';"
  echo "  access_log $DIR/nginx-access.log genlab;"
  for t in client_body proxy fastcgi uwsgi scgi; do echo "  ${t}_temp_path $DIR/tmp/$t;"; done
  echo "  client_max_body_size 200m;   # Streamlit's own upload limit (server.maxUploadSize)"
  echo "  limit_conn_zone \$binary_remote_addr zone=genlab_tabs:10m;   # open pages per client address"
  echo "  limit_conn_status 429;"
  echo
  echo "  upstream genlab_pool {"
  echo "    zone genlab_pool 64k;"
  for a in "${ADDRS[@]}"; do echo "    server $a;"; done
  echo "  }"
  for ((i = 0; i < ${#ADDRS[@]}; i++)); do
    echo "  upstream genlab_r$((i + 1)) {"
    echo "    zone genlab_r$((i + 1)) 64k;"
    echo "    server ${ADDRS[i]};"
    for ((j = 0; j < ${#ADDRS[@]}; j++)); do [ "$j" -ne "$i" ] && echo "    server ${ADDRS[j]} backup;"; done
    echo "  }"
  done
  echo
  echo "  # The cookie can name only these replicas; no cookie, or any other value, goes to the pool."
  echo "  map \$cookie_genlab_route \$genlab_backend {"
  echo "    default genlab_pool;"
  for ((i = 0; i < ${#ADDRS[@]}; i++)); do echo "    r$((i + 1)) genlab_r$((i + 1));"; done
  echo "  }"
  echo "  # The replica that answered: the last address tried (earlier ones in \$upstream_addr failed)."
  echo "  map \$upstream_addr \$genlab_served {"
  echo "    default \"\";"
  for ((i = 0; i < ${#ADDRS[@]}; i++)); do
    echo "    \"~(^|, )${ADDRS[i]//./\\.}\$\" r$((i + 1));"
  done
  echo "  }"
  echo "  # Set the cookie when the request did not already carry the answering replica's name."
  echo "  map \"\$cookie_genlab_route|\$genlab_served\" \$genlab_set_cookie {"
  echo "    \"~^(r[0-9]+)\\|\\1\$\" \"\";"
  echo "    \"~\\|\$\" \"\";"
  echo "    default \"genlab_route=\$genlab_served; Path=/; HttpOnly; SameSite=Lax\";"
  echo "  }"
  echo "  map \$http_upgrade \$connection_upgrade { default upgrade; \"\" close; }"
  echo
  echo "  server {"
  echo "    listen $PORT;"
  echo "    add_header Set-Cookie \$genlab_set_cookie;"
  echo "    add_header X-GenLab-Replica \$genlab_served always;   # which replica answered (r1, r2, ...)"
  echo "    large_client_header_buffers 4 64k;   # links up to the app server's own limit (app.py)"
  echo "    error_page 414 /genlab-link-too-long.html;"
  echo "    location = /genlab-link-too-long.html { root $DIR/static; internal; }"
  echo "    location / {"
  echo "      proxy_pass http://\$genlab_backend;"
  echo "      proxy_http_version 1.1;"
  echo "      proxy_set_header Host \$http_host;"
  echo "      proxy_set_header X-Real-IP \$remote_addr;"
  echo "      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
  echo "      proxy_set_header X-Forwarded-Proto \$scheme;"
  echo "    }"
  echo "    location /_stcore/stream {   # the session's websocket: held open as long as the page is"
  echo "      proxy_pass http://\$genlab_backend;"
  echo "      proxy_http_version 1.1;"
  echo "      proxy_set_header Upgrade \$http_upgrade;"
  echo "      proxy_set_header Connection \$connection_upgrade;"
  echo "      proxy_set_header Host \$http_host;"
  echo "      proxy_set_header X-Real-IP \$remote_addr;"
  echo "      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;"
  echo "      proxy_set_header X-Forwarded-Proto \$scheme;"
  echo "      limit_conn genlab_tabs $TABS_PER_ADDRESS;"
  echo "      proxy_read_timeout 1d;"
  echo "      proxy_send_timeout 1d;"
  echo "      proxy_buffering off;"
  echo "    }"
  echo "  }"
  echo "}"
} >"$DIR/nginx.conf"

NGINX_ARGS=(-p "$DIR" -e "$DIR/nginx-error.log" -c "$DIR/nginx.conf")
"$NGINX" -t -q "${NGINX_ARGS[@]}" || die "nginx rejected $DIR/nginx.conf"
"$NGINX" "${NGINX_ARGS[@]}" </dev/null &
NGINX_PID=$!
for ((i = 0; ; i++)); do   # through nginx this time
  [ -z "$(health "127.0.0.1:$PORT")" ] && break
  kill -0 "$NGINX_PID" 2>/dev/null || { tail -n 5 "$DIR/nginx-error.log" >&2; die "nginx exited (port $PORT taken?)"; }
  [ "$i" -lt 40 ] || die "nginx on port $PORT does not reach the replicas; see $DIR/nginx-error.log"
  sleep 0.5
done

echo "GenLab: http://$(hostname 2>/dev/null || echo localhost):$PORT/ (also http://127.0.0.1:$PORT/)"
echo "  replicas: $(for ((i = 0; i < ${#ADDRS[@]}; i++)); do printf 'r%d=%s ' $((i + 1)) "${ADDRS[i]}"; done)"
echo "  demo limits: $([ "$DEMO" = 1 ] && echo on || echo off); runs folder: $GENLAB_RUNS; logs: $DIR"
echo "  Ctrl-C stops nginx and the replicas"

# Run until a signal (the trap) or until nginx or a replica ends (then stop the rest, exit 1).
set +e
wait -n -p ENDED "${PIDS[@]}" "$NGINX_PID"
status=$?
set -e
what="nginx"
for ((i = 0; i < REPLICAS; i++)); do [ "${PIDS[i]}" = "$ENDED" ] && what="replica r$((i + 1)) (log: $DIR/replica-r$((i + 1)).log)"; done
echo "serve.sh: $what exited with status $status; stopping the rest" >&2
exit 1
