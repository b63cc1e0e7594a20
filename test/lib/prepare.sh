# prepare.sh: install what building and testing billing needs, then build and
# install the extension; sourced by test/run, demo/run and bench/run.
#
# On Debian, as root, missing packages are installed with apt-get.  As any
# other user nothing is installed: a missing package is named and we stop.

BILLING_PACKAGES="make gcc postgresql-$PG_MAJOR postgresql-server-dev-$PG_MAJOR \
postgresql-contrib postgresql-$PG_MAJOR-pgtap libtap-parser-sourcehandler-pgtap-perl"

install_dependencies() {
	local missing="" pkg
	for pkg in $BILLING_PACKAGES; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null |
			grep -q 'install ok installed' || missing="$missing $pkg"
	done
	[ -z "$missing" ] && return 0
	if [ "$(id -u)" != 0 ]; then
		echo "missing Debian packages:$missing (install them as root)" >&2
		return 1
	fi
	echo "installing:$missing"
	# The Debian packages create and start a cluster of their own; we never
	# use it, so keep it from being created.
	mkdir -p /etc/postgresql-common
	grep -qs '^create_main_cluster' /etc/postgresql-common/createcluster.conf ||
		echo 'create_main_cluster = false' >>/etc/postgresql-common/createcluster.conf
	DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
			--no-install-recommends $missing >/dev/null
}

# build_and_install: a warning-free build (warnings are errors), installed
# into the system PostgreSQL or, with PG_ROOT, into a private copy of it.
build_and_install() {
	local pg_config="/usr/lib/postgresql/$PG_MAJOR/bin/pg_config"
	pg_root_prepare || return 1
	make -s clean PG_CONFIG="$pg_config" >/dev/null &&
		make -s PG_CONFIG="$pg_config" with_llvm=no \
			PG_CFLAGS="-Wall -Wextra -Werror -Wno-unused-parameter \
-Wno-missing-field-initializers -Wno-sign-compare" &&
		make -s install PG_CONFIG="$pg_config" with_llvm=no \
			${PG_ROOT:+DESTDIR="$PG_ROOT"} >/dev/null
}
