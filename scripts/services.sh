# A throwaway PostgreSQL server on loopback for the test suite's PostgreSQL pass.
# Source this file, then call start_postgres (exports DNC_PG_URL, or returns 1 when the
# server binaries are not installed) and stop_services on exit.

DNC_SERVICES_DIR="${DNC_SERVICES_DIR:-$(mktemp -d /tmp/dnc-services.XXXXXX)}"

_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

_as_postgres() {
  # initdb and postgres refuse to run as root.
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_postgres() {
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  [ -n "$bindir" ] && [ -x "$bindir/initdb" ] || return 1
  local dir="$DNC_SERVICES_DIR/pg" port
  port=$(_free_port)
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$DNC_SERVICES_DIR" "$dir"
  _as_postgres "$bindir/initdb" -D "$dir/data" -A trust -U postgres -E UTF8 >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2; return 1; }
  _as_postgres "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null || {
    cat "$dir/server.log" >&2; return 1; }
  _as_postgres "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres dnc_test
  export DNC_PG_BINDIR="$bindir" DNC_PG_DATA="$dir/data"
  export DNC_PG_URL="postgresql://postgres@127.0.0.1:$port/dnc_test"
}

stop_services() {
  if [ -n "${DNC_PG_DATA:-}" ] && [ -d "$DNC_PG_DATA" ]; then
    _as_postgres "$DNC_PG_BINDIR/pg_ctl" -D "$DNC_PG_DATA" -m fast stop >/dev/null 2>&1 || true
  fi
  rm -rf "$DNC_SERVICES_DIR"
}
