#!/usr/bin/env bash
# Runs a command (the test suite) with a throw-away PostgreSQL server beside it:
#
#   bash scripts/pg-test-cluster.sh .venv/bin/python -m pytest -q
#
# Installs Debian's `postgresql` package when no server binaries are found (as root, like CI),
# creates a cluster with initdb under a temporary folder, starts it on a free loopback port (its
# unix socket in the same folder), creates a database, exports DIANHUA_TEST_PG_URL and
# DIANHUA_REQUIRE_PG=1 for the command, and stops the server and deletes the folder afterwards,
# whether the command passed, failed or was interrupted.
#
# DIANHUA_TEST_PG_RESTART: the command that restarts it (tests/daemon/test_e2e.py uses it).
# DIANHUA_TEST_PG_URL already set: that server is used and nothing is started.
# No server can be had (not root, nothing installed): the command still runs and the PostgreSQL
# tests are skipped with the reason, except under CI (CI=true), where they must fail instead.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  echo "usage: $0 COMMAND [ARGS...]   (runs COMMAND with a throw-away PostgreSQL server)" >&2
  exit 2
fi

pg_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  fi
}

no_server() {
  echo "note: $1; the PostgreSQL tests will be skipped" >&2
  if [ "${CI:-}" = "true" ]; then
    export DIANHUA_REQUIRE_PG=1  # CI never skips them silently: they fail and say why
  fi
  exec "$@"
}

if [ -n "${DIANHUA_TEST_PG_URL:-}" ]; then
  export DIANHUA_REQUIRE_PG=1
  exec "$@"
fi

BIN=$(pg_bindir)
if [ -z "$BIN" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian's postgresql for the storage tests..."
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null) \
      || echo "warning: could not install postgresql" >&2
    BIN=$(pg_bindir)
  fi
  [ -n "$BIN" ] || no_server "PostgreSQL is not installed (sudo apt-get install postgresql)" "$@"
fi

# initdb and postgres refuse to run as root: as root, the cluster belongs to the postgres user
RUN=()
OWNER=$(id -un)
if [ "$(id -u)" = "0" ]; then
  OWNER=postgres
  getent passwd "$OWNER" >/dev/null 2>&1 || no_server "no 'postgres' user to run the server as" "$@"
  command -v runuser >/dev/null 2>&1 || no_server "no runuser to start the server as $OWNER" "$@"
  RUN=(runuser -u "$OWNER" --)
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/dianhua-pg.XXXXXX")
chmod 0700 "$TMP"
[ "$OWNER" = "$(id -un)" ] || chown "$OWNER" "$TMP"
DATA="$TMP/data"

stop_cluster() {
  "${RUN[@]}" "$BIN/pg_ctl" -D "$DATA" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap stop_cluster EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${RUN[@]}" "$BIN/initdb" -D "$DATA" -U dianhua --auth=trust -E UTF8 --no-locale >"$TMP/initdb.log" 2>&1 \
  || { cat "$TMP/initdb.log" >&2; stop_cluster; no_server "initdb failed" "$@"; }
# durability off: a throw-away cluster for tests only
if ! "${RUN[@]}" "$BIN/pg_ctl" -D "$DATA" -l "$TMP/server.log" -w -t 60 start \
    -o "-p $PORT -k $TMP -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    >/dev/null; then
  cat "$TMP/server.log" >&2 || true
  stop_cluster
  no_server "the PostgreSQL server did not start" "$@"
fi
"${RUN[@]}" "$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U dianhua dianhua_test

export DIANHUA_TEST_PG_URL="postgresql://dianhua@127.0.0.1:$PORT/dianhua_test"
export DIANHUA_REQUIRE_PG=1
# how a test restarts this server (the daemon must carry on through a PostgreSQL restart)
export DIANHUA_TEST_PG_RESTART="${RUN[*]} $BIN/pg_ctl -D $DATA -l $TMP/server.log -m fast -w restart"
echo "PostgreSQL test server: $DIANHUA_TEST_PG_URL (cluster in $TMP)"
set +e
"$@"
status=$?
set -e
exit "$status"
