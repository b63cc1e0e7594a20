#!/usr/bin/env bash
# A crash loses nothing committed and keeps nothing uncommitted: the server
# is stopped hard (immediate shutdown, no checkpoint) while one transaction
# is half way through writing WIP, then recovers; committed work is all
# there, the open transaction's rows are gone, the audit chain holds the
# committed work's records and nothing of the open transaction's (which
# wrote its records early), it verifies and goes on, and every index of the
# billing schema passes amcheck.
set -eu
cd "$TOP"
. test/lib/cluster.sh
db=billing_crash
psql -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
psql -X -q -c "CREATE DATABASE $db"
psql -X -q -d $db -c "CREATE EXTENSION billing CASCADE" -c "CREATE EXTENSION amcheck"
psql -X -q -d $db -v ON_ERROR_STOP=1 -f demo/firm.sql >/dev/null

count() { psql -X -At -d $db -c "SELECT count(*) FROM billing.wip_entry"; }
audited() {
	psql -X -At -d $db -c "SELECT count(*) FROM billing.audit_change
		WHERE table_name = 'billing.wip_entry' AND operation = 'INSERT'"
}
copy_wip="INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id,
        work_item_id, kind, staff_id, worked_on, description, work_type, minutes,
        billable_minutes, rate_id, unit_price, amount)
    SELECT firm_id, engagement_id, engagement_version_id, work_item_id, kind, staff_id,
           worked_on, description, work_type, minutes, billable_minutes, rate_id,
           unit_price, amount
      FROM billing.wip_entry WHERE kind = 'time' ORDER BY wip_entry_id LIMIT"
before=$(count)
audited_before=$(audited)

# Committed just before the crash: must survive.
psql -X -q -d $db -c "$copy_wip 10"
# Open at the crash: must vanish, the audit records it wrote early (past a
# low billing.audit_buffer_limit) with it.
early=$(mktemp)
psql -X -q -At -d $db -c "SET billing.audit_buffer_limit = '64kB'" -c "BEGIN" \
	-c "$copy_wip 1000" \
	-c "SELECT 'written early: ' || count(*) FROM billing.audit_log WHERE transaction_id = pg_current_xact_id()" \
	-c "SELECT pg_sleep(120)" -c "COMMIT" >"$early" 2>&1 &
open_session=$!
for _ in $(seq 1 100); do
	waiting=$(psql -X -At -d $db -c "SELECT count(*) FROM pg_stat_activity
		WHERE datname = '$db' AND query LIKE 'SELECT pg_sleep%'")
	[ "$waiting" = 1 ] && break
	sleep 0.2
done
[ "$waiting" = 1 ] || { echo "the open transaction never started"; exit 1; }

cluster_restart immediate
wait "$open_session" 2>/dev/null || true
grep -q '^written early: [1-9]' "$early" ||
	{ echo "the open transaction did not write its audit records early:"; cat "$early"; exit 1; }
rm -f "$early"

after=$(count)
echo "WIP entries: $before before, $after after the crash"
if [ "$after" != $((before + 10)) ]; then
	echo "expected $((before + 10)) WIP entries after recovery"
	exit 1
fi
audited_after=$(audited)
echo "audit records of WIP inserts: $audited_before before, $audited_after after"
if [ "$audited_after" != $((audited_before + 10)) ]; then
	echo "expected the audit log to hold exactly the 10 committed inserts more"
	exit 1
fi
valid=$(psql -X -At -d $db -c "SELECT bool_and(v.valid)
	FROM billing.firm f CROSS JOIN LATERAL billing.verify_audit(f.firm_id) v")
[ "$valid" = t ] || { echo "the audit chain does not verify after recovery"; exit 1; }
# The chains go on from the committed records.
psql -X -q -d $db -c "$copy_wip 5"
valid=$(psql -X -At -d $db -c "SELECT bool_and(v.valid)
	FROM billing.firm f CROSS JOIN LATERAL billing.verify_audit(f.firm_id) v")
[ "$valid" = t ] || { echo "the audit chain does not verify after the first commit since"; exit 1; }
psql -X -q -d $db -v ON_ERROR_STOP=1 <<'SQL'
DO $$
DECLARE
    idx regclass;
BEGIN
    FOR idx IN SELECT c.oid
                 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                 JOIN pg_am am ON am.oid = c.relam
                WHERE c.relnamespace = 'billing'::regnamespace AND am.amname = 'btree'
    LOOP
        PERFORM bt_index_check(idx, true);
    END LOOP;
END
$$;
SQL
psql -X -q -c "DROP DATABASE $db"
echo "recovered: committed work kept, open work gone, indexes intact"
