# script.sh: what scripted tests that check many figures share; sourced by
# test/scripts/fuzz_*.sh.
#
#   fresh_database NAME [OPTIONS]  a new database NAME (CREATE DATABASE
#                                  options in OPTIONS) with billing in it;
#                                  notes the postmaster's start time
#   q [psql arguments]             runs SQL in that database, unaligned
#   check WHAT VALUE EXPECTED      prints ok or FAILED, counts failures
#   check_server_survived          the postmaster did not restart: no
#                                  backend crashed during the test

failures=0

q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }

fresh_database() {
	db=$1
	psql -X -q -d postgres -c "SET client_min_messages = warning" \
		-c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db ${2:-}"
	q -c "CREATE EXTENSION billing CASCADE" 2>/dev/null
	started=$(q -c "SELECT pg_postmaster_start_time()")
}

check() {
	if [ "$2" = "$3" ]; then
		echo "ok: $1 ($2)"
	else
		echo "FAILED: $1: got $2, expected $3"
		failures=$((failures + 1))
	fi
}

check_server_survived() {
	check "postmaster start time unchanged" "$(q -c "SELECT pg_postmaster_start_time()")" "$started"
}
