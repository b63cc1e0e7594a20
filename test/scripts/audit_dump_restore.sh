#!/usr/bin/env bash
# The audit chain survives pg_dump and pg_restore: after a restore every
# firm's chain verifies, matches the anchor taken before the dump, holds the
# same records (TRUNCATE records among them), and goes on from where it
# stopped.  Covered: a custom-format
# dump restored by pg_restore and a plain SQL dump restored by psql, both
# with triggers off (session_replication_role = replica) as billing's tables
# are restored (doc/audit.md); and a restore without that, which the log
# refuses rather than take its rows twice.
set -eu
cd "$TOP"
src=billing_audit_dump_src
dst=billing_audit_dump_dst
dst2=billing_audit_dump_sql
for db in $src $dst $dst2; do
	psql -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
done
psql -X -q -c "CREATE DATABASE $src"
psql -X -q -d $src -c "CREATE EXTENSION billing CASCADE" >/dev/null 2>&1
psql -X -q -d $src -v ON_ERROR_STOP=1 -f demo/firm.sql >/dev/null
# A busy firm, whose writers commit at once (below), and a second firm,
# with changes with who and why: updates and a delete.
psql -X -q -d $src -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO billing.firm (name, base_currency) VALUES ('Busy Firm', 'EUR');
INSERT INTO billing.firm (name, base_currency) VALUES ('Second Firm', 'EUR');
INSERT INTO billing.service_line (firm_id, code, name)
SELECT firm_id, 'tax', 'Tax' FROM billing.firm WHERE name = 'Second Firm';
BEGIN;
SET LOCAL billing.reason_code = 'rename';
SET LOCAL billing.reason = 'Legal name changed';
UPDATE billing.client SET name = name || ' Inc.'
 WHERE client_id IN (SELECT client_id FROM billing.client ORDER BY client_id LIMIT 3);
COMMIT;
DELETE FROM billing.service_line WHERE firm_id = (SELECT firm_id FROM billing.firm WHERE name = 'Second Firm');
-- A table of one's own under audit, truncated by a superuser: TRUNCATE
-- records, one per firm.
CREATE TABLE public.audit_dump_notes (firm_id bigint NOT NULL, id int, PRIMARY KEY (firm_id, id));
SELECT billing.audit_table('public.audit_dump_notes');
INSERT INTO public.audit_dump_notes SELECT firm_id, 1 FROM billing.firm;
TRUNCATE public.audit_dump_notes;
-- A partitioned table under audit, one partition made after audit_table.
CREATE TABLE public.audit_dump_parted (firm_id bigint NOT NULL, id int NOT NULL,
    PRIMARY KEY (firm_id, id)) PARTITION BY RANGE (id);
CREATE TABLE public.audit_dump_part1 PARTITION OF public.audit_dump_parted FOR VALUES FROM (0) TO (10);
SELECT billing.audit_table('public.audit_dump_parted');
CREATE TABLE public.audit_dump_part2 PARTITION OF public.audit_dump_parted FOR VALUES FROM (10) TO (20);
INSERT INTO public.audit_dump_parted SELECT firm_id, 5 FROM billing.firm;
SQL
# Writers of the busy firm committing at once: its chain has two lanes.
. test/lib/lanes.sh
busy=$(psql -X -At -d $src -c "SELECT firm_id FROM billing.firm WHERE name = 'Busy Firm'")
for round in 1 2 3; do
	beside_held $src "INSERT INTO billing.service_line (firm_id, code, name) VALUES ($busy, 'held$round', 'Held')" \
		"INSERT INTO billing.service_line (firm_id, code, name) VALUES ($busy, 'beside$round', 'Beside');
		 UPDATE billing.service_line SET name = 'Beside, renamed' WHERE firm_id = $busy AND code = 'beside$round';"
done
lanes=$(psql -X -At -d $src -c "SELECT count(DISTINCT lane) FROM billing.audit_log WHERE firm_id = $busy")
[ "$lanes" = 2 ] || { echo "the busy firm's chain has $lanes lane(s)"; exit 1; }
truncates=$(psql -X -At -d $src -c "SELECT count(*) FROM billing.audit_log WHERE operation = 'TRUNCATE'")
[ "$truncates" -ge 2 ] || { echo "expected a TRUNCATE record per firm before the dump, found $truncates"; exit 1; }

# anchors DB: a line per lane of each firm's chain: the firm, the seq and
# hash of the lane's last record, and the firm's last seq.
anchors() {
	psql -X -At -d "$1" -c "SELECT f.firm_id || ' ' || a.seq || ' ' || encode(a.hash, 'hex')
	                                 || ' ' || max(a.seq) OVER (PARTITION BY f.firm_id)
	                          FROM billing.firm f, billing.audit_anchor(f.firm_id) a
	                         ORDER BY f.firm_id, a.lane"
}
log_digest() {
	psql -X -At -d "$1" -c "SELECT count(*) || ' ' || md5(string_agg(l::text, '|' ORDER BY firm_id, seq))
	                          FROM billing.audit_log l"
}
# check_restored DB: every chain verifies against each anchor taken before
# the dump, and the log holds the same records.
check_restored() {
	local db=$1 firm seq hash last out
	while read -r firm seq hash last; do
		out=$(psql -X -At -d "$db" -c "SELECT valid || ' ' || records_checked || ' ' || coalesce(problem, '')
		                                 FROM billing.verify_audit($firm, $seq, '\\x$hash')")
		if [ "$out" != "true $last " ]; then
			echo "$db: firm $firm does not verify against its anchor (seq $seq): $out"
			exit 1
		fi
	done <<<"$before_anchors"
	if [ "$(log_digest "$db")" != "$before_log" ]; then
		echo "$db: the audit log differs after the restore"
		exit 1
	fi
}

before_anchors=$(anchors $src)
before_log=$(log_digest $src)
echo "anchors before the dump:"
echo "$before_anchors"
# The demo recorded many changes (its bulk inserts as records of up to 1,000
# rows each), so an empty comparison cannot pass by accident.
[ "$(echo "$before_anchors" | awk '$2 > 10' | wc -l)" -ge 1 ]
[ "$(psql -X -At -d $src -c "SELECT count(*) FROM billing.audit_change")" -gt 3000 ]



# Custom format, pg_restore with triggers off.
dump=$(mktemp)
pg_dump -Fc -d $src -f "$dump" 2>/dev/null
psql -X -q -c "CREATE DATABASE $dst"
PGOPTIONS='-c session_replication_role=replica' \
	pg_restore --exit-on-error -d $dst "$dump"
check_restored $dst
echo "custom-format dump restored: chains verify against their anchors"

# Without replica mode the log refuses to be loaded (ZB301): a restore
# cannot quietly add records to a chain.
psql -X -q -c "DROP DATABASE IF EXISTS ${dst}_plain" >/dev/null 2>&1
psql -X -q -c "CREATE DATABASE ${dst}_plain"
if pg_restore -d ${dst}_plain "$dump" >"$dump.log" 2>&1; then
	echo "a restore with triggers on was not refused"
	exit 1
fi
grep -q 'COPY failed for table "audit_log".*append-only' "$dump.log"
psql -X -q -c "DROP DATABASE ${dst}_plain"
rm -f "$dump" "$dump.log"
echo "a restore with triggers on is refused by the log"

# The restored chain goes on from where it stopped.
psql -X -q -d $dst -v ON_ERROR_STOP=1 -c "UPDATE billing.firm SET legal_name = 'Renamed' WHERE name = 'Second Firm'"
out=$(psql -X -At -d $dst -c "SELECT a.seq - b.seq || ' ' || v.valid
                                FROM billing.firm f,
                                     LATERAL billing.audit_anchor(f.firm_id) a,
                                     LATERAL billing.verify_audit(f.firm_id) v,
                                     LATERAL (SELECT $(echo "$before_anchors" | awk 'END { print $2 }')::bigint AS seq) b
                               WHERE f.name = 'Second Firm'")
[ "$out" = "1 true" ] || { echo "after a new change in the restored database: $out"; exit 1; }
echo "a change after the restore extends the chain"
psql -X -q -d $dst -v ON_ERROR_STOP=1 -c "INSERT INTO billing.service_line (firm_id, code, name)
	VALUES ($busy, 'after_restore', 'After')"
out=$(psql -X -At -d $dst -c "SELECT valid FROM billing.verify_audit($busy)")
[ "$out" = t ] || { echo "the busy firm's lanes after the restore: $out"; exit 1; }
echo "a change after the restore extends one of the busy firm's lanes"

# Plain SQL dump, restored with triggers off.
sqldump=$(mktemp)
pg_dump -Fp -d $src -f "$sqldump" 2>/dev/null
psql -X -q -c "CREATE DATABASE $dst2"
PGOPTIONS='-c session_replication_role=replica' \
	psql -X -q -v ON_ERROR_STOP=1 -d $dst2 -f "$sqldump" >/dev/null 2>&1
rm -f "$sqldump"
check_restored $dst2
echo "plain SQL dump restored with session_replication_role = replica: chains verify"

# Schema only, restored as a DBA would with triggers on: every table under
# audit comes back with its triggers, and no statement fails on the way (an
# event trigger that made a trigger the dump makes later would fail it).
triggers() {
	psql -X -At -d "$1" -c "SELECT string_agg(c.relname || '.' || t.tgname, ' ' ORDER BY c.relname, t.tgname)
	                          FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
	                          JOIN pg_namespace n ON n.oid = c.relnamespace
	                         WHERE NOT t.tgisinternal AND n.nspname = 'public'"
}
psql -X -q -c "DROP DATABASE IF EXISTS ${dst}_schema" >/dev/null 2>&1
psql -X -q -c "CREATE DATABASE ${dst}_schema"
pg_dump -s -d $src 2>/dev/null | psql -X -q -v ON_ERROR_STOP=1 -d ${dst}_schema >/dev/null
[ "$(triggers ${dst}_schema)" = "$(triggers $src)" ] ||
	{ echo "schema restore: triggers differ: $(triggers ${dst}_schema)"; exit 1; }
echo "schema-only dump restored with triggers on: every audit trigger back, none twice"

for db in $src $dst $dst2 ${dst}_schema; do
	psql -X -q -c "DROP DATABASE $db"
done
