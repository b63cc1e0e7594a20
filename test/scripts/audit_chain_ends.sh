#!/usr/bin/env bash
# Where each firm's audit chain ends, kept in shared memory when billing is
# in shared_preload_libraries (src/audit_ends.c), is only ever a faster way
# to the answer the log gives.  On the test cluster, which preloads billing:
#
# - two clients writing one firm for a few seconds, some of them
#   SERIALIZABLE, beside a third writer whose commits keep failing after
#   writing their records, leave a chain that verifies (the clients retry
#   the 40001 failures that the failing commits cause);
# - a transaction that fails after writing its records leaves no hole;
# - a record forged into the log with triggers off makes the next commit of
#   the firm fail on the log's primary key; the retry reads the log, goes on
#   after the forged record, and verify_audit reports the forgery;
# - after a restart (the shared table is empty) the chain goes on;
# - firms beyond the shared table's 4,096 are read from the log, and their
#   chains verify under concurrent writers too (then a restart empties the
#   table for the tests after this one).
#
# Then on a second cluster without the preload, which writes lane 0 only
# and reads its end from the log: the same concurrent writing verifies,
# the forged record is followed at once, a chain of two lanes written with
# the preload (dumped and restored) goes on in lane 0 after its last
# record, and the audit isolation specs pass.
set -eu
cd "$TOP"
. test/lib/cluster.sh

# write_concurrently DB FIRM: for three seconds, two pgbench clients insert
# into FIRM, one in five transactions SERIALIZABLE, retrying serialization
# failures (40001), while a third writer's commits keep failing after their
# audit records were written; prints pgbench's count of failed and retried
# transactions.
write_concurrently() {
	local db=$1 firm=$2 script failing
	script=$(mktemp)
	cat >"$script" <<EOF
\set kind random(1, 5)
\if :kind = 1
BEGIN ISOLATION LEVEL SERIALIZABLE;
\else
BEGIN;
\endif
INSERT INTO billing.service_line (firm_id, code, name)
VALUES ($firm, 'sl_' || replace(gen_random_uuid()::text, '-', '_'), 'Concurrent');
COMMIT;
EOF
	(
		end=$((SECONDS + 3))
		while [ $SECONDS -lt $end ]; do
			psql -X -q -d "$db" -c "BEGIN" \
				-c "INSERT INTO billing.service_line (firm_id, code, name)
				    VALUES ($firm, 'f_' || replace(gen_random_uuid()::text, '-', '_'), 'Fails')" \
				-c "SET LOCAL billing.test_fail_after_audit_write = on" \
				-c "COMMIT" >/dev/null 2>&1 || true
		done
	) &
	failing=$!
	pgbench -n -M prepared -c 2 -j 2 -T 3 --max-tries=100 -f "$script" "$db" 2>&1 |
		grep -E '^number of (failed transactions|transactions retried)' | tr '\n' ' '
	wait $failing
	rm -f "$script"
}

new_firm() {
	psql -X -At -d "$1" -c "INSERT INTO billing.firm (name, base_currency)
		VALUES ('$2', 'EUR') RETURNING firm_id" | head -1
}
verify() {
	psql -X -At -F ' ' -d "$1" -c "SELECT valid, records_checked, failed_seq
		FROM billing.verify_audit($2)"
}
# forge DB FIRM: append a record with a made-up hash, triggers off.
forge() {
	psql -X -q -d "$1" -v ON_ERROR_STOP=1 <<SQL
SET session_replication_role = replica;
INSERT INTO billing.audit_log
SELECT firm_id, seq + 1, lane, table_name, 'DELETE', row_key, NULL, NULL, NULL, '{"name": "forged"}', NULL,
       transaction_id, statement_time, session_user_name, current_role_name,
       staff_id, application_name, reason_code, reason, hash, sha256('forged')
  FROM billing.audit_log WHERE firm_id = $2 ORDER BY seq DESC LIMIT 1;
SQL
}
last_seq() {
	psql -X -At -d "$1" -c "SELECT max(seq) FROM billing.audit_log WHERE firm_id = $2"
}
# add_line DB FIRM CODE: an audited change; prints the error, if any.
add_line() {
	psql -X -q -d "$1" -c "INSERT INTO billing.service_line (firm_id, code, name)
		VALUES ($2, '$3', 'Line')" 2>&1 || true
}
fail() { echo "audit_chain_ends: $*"; exit 1; }

db=billing_chain_ends
psql -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
psql -X -q -c "CREATE DATABASE $db"
psql -X -q -d $db -c "CREATE EXTENSION billing CASCADE" >/dev/null 2>&1

# --- with the shared chain ends
shared=$(psql -X -At -d $db -c "SELECT count(*) FROM pg_shmem_allocations
	WHERE name = 'billing audit chain ends'")
[ "$shared" = 1 ] || fail "the test cluster does not preload billing"

firm=$(new_firm $db 'Chain ends A')
counts=$(write_concurrently $db "$firm")
case "$counts" in *"failed transactions: 0 "*) ;; *) fail "concurrent writers: pgbench says $counts" ;; esac
[ "$(psql -X -At -d $db -c "SELECT count(*) FROM billing.service_line WHERE firm_id = $firm AND name = 'Fails'")" = 0 ] ||
	fail "a failing commit kept its row"
set -- $(verify $db "$firm")
[ "$1" = t ] && [ "$2" -gt 100 ] || fail "concurrent writers: verify_audit says $*"
echo "shared chain ends: two clients wrote $2 records to one firm beside a writer whose commits failed ($counts); the chain verifies"

before=$(last_seq $db "$firm")
out=$(psql -X -q -d $db -c "BEGIN" \
	-c "INSERT INTO billing.service_line (firm_id, code, name) VALUES ($firm, 'gone', 'Gone')" \
	-c "SET LOCAL billing.test_fail_after_audit_write = on" -c "COMMIT" 2>&1) || true
case "$out" in *test_fail_after_audit_write*) ;; *) fail "the failing commit did not fail: $out" ;; esac
add_line $db "$firm" after_failure >/dev/null
set -- $(verify $db "$firm")
[ "$1" = t ] && [ "$(last_seq $db "$firm")" = $((before + 1)) ] ||
	fail "after a failed commit: verify_audit says $*, last seq $(last_seq $db "$firm"), before $before"
echo "shared chain ends: a commit that failed after writing its records left no hole"

forged=$(( $(last_seq $db "$firm") + 1 ))
forge $db "$firm"
out=$(add_line $db "$firm" after_forgery_1)
case "$out" in *audit_log_pkey*) ;; *) fail "the commit after a forged record did not fail on the key: $out" ;; esac
out=$(add_line $db "$firm" after_forgery_2)
[ -z "$out" ] || fail "the retry after a forged record failed: $out"
set -- $(verify $db "$firm")
[ "$1" = f ] && [ "$3" = "$forged" ] || fail "forged record $forged: verify_audit says $*"
[ "$(last_seq $db "$firm")" = $((forged + 1)) ] || fail "the retry did not follow the forged record"
echo "shared chain ends: a forged record failed the next commit once; the retry followed it; verify_audit reports record $forged"

firm2=$(new_firm $db 'Chain ends B')
add_line $db "$firm2" before_restart >/dev/null
cluster_restart fast
add_line $db "$firm2" after_restart >/dev/null
set -- $(verify $db "$firm2")
[ "$1" = t ] && [ "$2" -ge 3 ] || fail "after a restart: verify_audit says $*"
echo "shared chain ends: after a restart the chain goes on and verifies"

# More firms than the shared table holds (4,096 over the whole server): the
# firms beyond it are read from the log, alone and concurrently.
for batch in $(seq 1 9); do
	psql -X -q -d $db -v ON_ERROR_STOP=1 -c "INSERT INTO billing.firm (name, base_currency)
		SELECT 'Many $batch-' || g, 'EUR' FROM generate_series(1, 500) g" >/dev/null
done
last=$(psql -X -At -d $db -c "SELECT max(firm_id) FROM billing.firm")
add_line $db "$last" beyond_1 >/dev/null
add_line $db "$last" beyond_2 >/dev/null
counts=$(write_concurrently $db "$last")
case "$counts" in *"failed transactions: 0 "*) ;; *) fail "beyond the shared table: pgbench says $counts" ;; esac
set -- $(verify $db "$last")
[ "$1" = t ] && [ "$2" -gt 100 ] || fail "beyond the shared table: verify_audit says $*"
bad=$(psql -X -At -d $db -c "SELECT count(*) FROM billing.firm f, billing.verify_audit(f.firm_id) v
	WHERE f.name LIKE 'Many %' AND NOT v.valid")
[ "$bad" = 0 ] || fail "beyond the shared table: $bad chains do not verify"
echo "shared chain ends: with 4,500 more firms than before, the last firm's chain (not kept in shared memory) takes $2 records from concurrent writers and verifies, as do the 4,500 others"
psql -X -q -c "DROP DATABASE $db"
# The shared table is full until a restart, and firms beyond it get one
# lane: leave the cluster as the next tests expect it.
cluster_restart fast

# A firm whose chain has two lanes, dumped for the cluster without preload.
. test/lib/lanes.sh
psql -X -q -c "CREATE DATABASE ${db}_lanes"
psql -X -q -d ${db}_lanes -c "CREATE EXTENSION billing CASCADE" >/dev/null 2>&1
lanes_firm=$(new_firm ${db}_lanes 'Two lanes')
beside_held ${db}_lanes "INSERT INTO billing.service_line (firm_id, code, name) VALUES ($lanes_firm, 'held', 'Held')" \
	"INSERT INTO billing.service_line (firm_id, code, name) VALUES ($lanes_firm, 'beside', 'Beside');
	 INSERT INTO billing.service_line (firm_id, code, name) VALUES ($lanes_firm, 'beside_too', 'Beside');"
[ "$(psql -X -At -d ${db}_lanes -c "SELECT string_agg(lane::text, '' ORDER BY seq) FROM billing.audit_log WHERE firm_id = $lanes_firm")" = 001 ] ||
	fail "the firm's chain did not take two lanes"
lanes_dump=$(mktemp)
pg_dump -Fc -d ${db}_lanes -f "$lanes_dump"
psql -X -q -c "DROP DATABASE ${db}_lanes"

# --- without them: a cluster of its own that does not preload billing
(
	cluster_start
	trap cluster_stop EXIT
	psql -X -q -c "CREATE DATABASE $db"
	psql -X -q -d $db -c "CREATE EXTENSION billing CASCADE" >/dev/null 2>&1
	shared=$(psql -X -At -d $db -c "SELECT count(*) FROM pg_shmem_allocations
		WHERE name = 'billing audit chain ends'")
	[ "$shared" = 0 ] || fail "the second cluster preloads billing"
	firm=$(new_firm $db 'No preload')
	counts=$(write_concurrently $db "$firm")
	case "$counts" in *"failed transactions: 0 "*) ;; *) fail "without preload, concurrent writers: pgbench says $counts" ;; esac
	set -- $(verify $db "$firm")
	[ "$1" = t ] && [ "$2" -gt 100 ] || fail "without preload, concurrent writers: verify_audit says $*"
	echo "without preload: two clients wrote $2 records to one firm beside a writer whose commits failed ($counts); the chain verifies"
	forged=$(( $(last_seq $db "$firm") + 1 ))
	forge $db "$firm"
	out=$(add_line $db "$firm" after_forgery)
	[ -z "$out" ] || fail "without preload, the commit after a forged record failed: $out"
	set -- $(verify $db "$firm")
	[ "$1" = f ] && [ "$3" = "$forged" ] || fail "without preload, forged record $forged: verify_audit says $*"
	echo "without preload: the next commit followed the forged record; verify_audit reports record $forged"
	# The chain of two lanes, restored: lane 0 goes on after the firm's
	# last record, which is in lane 1.
	psql -X -q -c "CREATE DATABASE ${db}_lanes"
	PGOPTIONS='-c session_replication_role=replica' pg_restore --exit-on-error -d ${db}_lanes "$lanes_dump"
	rm -f "$lanes_dump"
	add_line ${db}_lanes "$lanes_firm" after_restore >/dev/null
	out=$(psql -X -At -d ${db}_lanes -c "SELECT string_agg(seq || ':' || lane, ' ' ORDER BY seq)
		FROM billing.audit_log WHERE firm_id = $lanes_firm")
	[ "$out" = "1:0 2:0 3:1 4:0" ] || fail "without preload, after a chain of two lanes: $out"
	set -- $(verify ${db}_lanes "$lanes_firm")
	[ "$1" = t ] || fail "without preload, the chain of two lanes: verify_audit says $*"
	echo "without preload: a chain of two lanes goes on in lane 0 after its last record, and verifies"
	pgxs_test=/usr/lib/postgresql/$PG_MAJOR/lib/pgxs/src/test
	outdir=$(mktemp -d)
	chmod 777 "$outdir"
	if "$pgxs_test/isolation/pg_isolation_regress" --inputdir=test/isolation \
		--outputdir="$outdir" --bindir="$(pg_bindir)" --host="$PGHOST" \
		--port="$PGPORT" --user=postgres --dbname=billing_isolation \
		--load-extension=btree_gist --load-extension=billing \
		audit_one_firm audit_two_firms audit_handover audit_early_write \
		>"$outdir/log" 2>&1; then
		echo "without preload: the audit isolation specs pass"
		rm -rf "$outdir"
	else
		cat "$outdir/log" "$outdir/regression.diffs" 2>/dev/null
		rm -rf "$outdir"
		fail "without preload, the audit isolation specs failed"
	fi
)
