# cluster.sh: start and stop a throwaway PostgreSQL cluster; sourced by
# test/run, demo/run and bench/run.
#
# The cluster lives in a fresh temporary folder, listens only on a Unix
# socket in that folder and on a free loopback port, and trusts local
# connections: it is for tests and demos, never for real data.  PostgreSQL
# refuses to run as root, so when we are root the server runs as the
# unprivileged user "postgres" and clients connect as the superuser
# "postgres".
#
# PG_ROOT, when set, names a private copy of the PostgreSQL tree (a folder
# holding usr/lib/postgresql/15 and usr/share/postgresql/15): the server runs
# from there and "make install DESTDIR=$PG_ROOT" installs the extension into
# it, so that several builds can be tested side by side on one machine.

PG_MAJOR=${PG_MAJOR:-15}
# Commands may run from another folder (see as_server_user): keep PG_ROOT
# absolute.
if [ -n "${PG_ROOT:-}" ]; then
	case "$PG_ROOT" in /*) ;; *) PG_ROOT="$(pwd)/$PG_ROOT" ;; esac
fi

# pg_root_prepare: make the private copy that PG_ROOT names, once.
pg_root_prepare() {
	[ -n "${PG_ROOT:-}" ] || return 0
	[ -x "$PG_ROOT/usr/lib/postgresql/$PG_MAJOR/bin/postgres" ] && return 0
	mkdir -p "$PG_ROOT/usr/lib/postgresql" "$PG_ROOT/usr/share/postgresql"
	cp -a "/usr/lib/postgresql/$PG_MAJOR" "$PG_ROOT/usr/lib/postgresql/"
	cp -a "/usr/share/postgresql/$PG_MAJOR" "$PG_ROOT/usr/share/postgresql/"
}

pg_bindir() {
	if [ -n "${PG_ROOT:-}" ]; then
		echo "$PG_ROOT/usr/lib/postgresql/$PG_MAJOR/bin"
	else
		echo "/usr/lib/postgresql/$PG_MAJOR/bin"
	fi
}

# as_server_user CMD...: run CMD as the user that owns the cluster.
as_server_user() {
	if [ "$(id -u)" = 0 ]; then
		# From /, which postgres can enter: the caller's folder (often
		# under /root) would draw a "could not change directory" warning.
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# free_port: print a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
	local port
	for port in $(shuf -i 20000-39999 -n 50); do
		if ! (echo >/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
			echo "$port"
			return 0
		fi
	done
	echo "cluster.sh: no free port found" >&2
	return 1
}

# cluster_start [setting=value ...]: initdb and start; exports PGHOST, PGPORT,
# PGUSER, PGDATABASE and CLUSTER_DIR for the caller and its children.
cluster_start() {
	local bindir opt opts=""
	bindir=$(pg_bindir)
	CLUSTER_DIR=$(mktemp -d /tmp/billing-cluster.XXXXXX)
	chmod 755 "$CLUSTER_DIR"
	[ "$(id -u)" = 0 ] && chown postgres: "$CLUSTER_DIR"
	as_server_user "$bindir/initdb" -D "$CLUSTER_DIR/data" -A trust \
		-U postgres -E UTF8 --locale=C.UTF-8 >"$CLUSTER_DIR/initdb.log" 2>&1 || {
		cat "$CLUSTER_DIR/initdb.log" >&2
		return 1
	}
	PGPORT=$(free_port) || return 1
	for opt in "$@"; do
		opts="$opts -c $opt"
	done
	as_server_user "$bindir/pg_ctl" -D "$CLUSTER_DIR/data" -w -t 60 \
		-l "$CLUSTER_DIR/server.log" \
		-o "-p $PGPORT -k $CLUSTER_DIR -c listen_addresses=127.0.0.1 \
			-c max_prepared_transactions=10 -c fsync=off $opts" \
		start >/dev/null || {
		cat "$CLUSTER_DIR/server.log" >&2
		return 1
	}
	export PGHOST="$CLUSTER_DIR" PGPORT PGUSER=postgres PGDATABASE=postgres
	export CLUSTER_DIR
}

# cluster_restart [mode]: stop (fast or immediate) and start again on the
# same port; the crash tests use "immediate".
cluster_restart() {
	as_server_user "$(pg_bindir)/pg_ctl" -D "$CLUSTER_DIR/data" -w -t 60 \
		-m "${1:-fast}" -l "$CLUSTER_DIR/server.log" restart >/dev/null
}

# cluster_stop: stop the cluster and remove its folder.
cluster_stop() {
	[ -n "${CLUSTER_DIR:-}" ] && [ -d "$CLUSTER_DIR/data" ] || return 0
	as_server_user "$(pg_bindir)/pg_ctl" -D "$CLUSTER_DIR/data" -m fast \
		-w stop >/dev/null 2>&1
	rm -rf "$CLUSTER_DIR"
	CLUSTER_DIR=
}
