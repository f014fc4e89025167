#!/usr/bin/env bash
# Starts the pgbouncer the fleet tests use: transaction pooling on 127.0.0.1:6432 in front of the
# local PostgreSQL (127.0.0.1:5432), trust auth for user postgres. Its config, log and pid file
# live in $STRATA_PGBOUNCER_DIR (default: $TMPDIR/strata-pgbouncer). Does nothing if the port
# already answers. Needs the pgbouncer binary (Debian: apt-get install pgbouncer).
set -euo pipefail

PORT=${STRATA_PGBOUNCER_PORT:-6432}
DIR=${STRATA_PGBOUNCER_DIR:-${TMPDIR:-/tmp}/strata-pgbouncer}
BIN=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)

if pg_isready -h 127.0.0.1 -p "$PORT" -q; then
  if [ -f "$DIR/pgbouncer.pid" ] && kill -0 "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null; then exit 0; fi
  echo "127.0.0.1:$PORT answers, but it is not the test pgbouncer started from $DIR: stop it, or use" \
    "another port (STRATA_PGBOUNCER_PORT here, and STRATA_TEST_PGBOUNCER_URL for the tests)" >&2
  exit 1
fi
[ -x "$BIN" ] || { echo "pgbouncer is not installed (apt-get install -y pgbouncer)" >&2; exit 1; }

mkdir -p "$DIR"
cat > "$DIR/userlist.txt" <<'USERS'
"postgres" ""
USERS
cat > "$DIR/pgbouncer.ini" <<INI
[databases]
* = host=127.0.0.1 port=5432

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PORT
unix_socket_dir =
auth_type = trust
auth_file = $DIR/userlist.txt
pool_mode = transaction
max_client_conn = 400
default_pool_size = 20
; sqlx sends extra_float_digits at startup; pgbouncer would refuse the connection otherwise.
ignore_startup_parameters = extra_float_digits
logfile = $DIR/pgbouncer.log
pidfile = $DIR/pgbouncer.pid
INI

# pgbouncer refuses to run as root: then it runs as the postgres system user.
AS_USER=()
if [ "$(id -u)" = 0 ]; then
  chown -R postgres "$DIR"
  AS_USER=(-u postgres)
fi
"$BIN" -d "${AS_USER[@]}" "$DIR/pgbouncer.ini"
for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p "$PORT" -q && exit 0; sleep 0.2; done
echo "pgbouncer did not start on 127.0.0.1:$PORT; see $DIR/pgbouncer.log" >&2
exit 1
