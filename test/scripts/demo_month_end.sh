#!/usr/bin/env bash
# The demo's month-end runs through billing's own functions and workflows
# (no migration mode): recurring fees charged once and approved by a
# reviewer, retainer deposits, milestones reached by delivery and approved,
# overdue alerts, what is ready to invoice, and an audit chain that
# verifies.  It guards the seams between the parts, where each part's own
# tests load their data as a migration.
set -eu
cd "$TOP"
db=billing_demo_test
psql -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
psql -X -q -c "CREATE DATABASE $db"
psql -X -q -d $db -c "CREATE EXTENSION billing CASCADE" 2>/dev/null
psql -X -q -d $db -v ON_ERROR_STOP=1 -f demo/firm.sql >/dev/null
out=$(psql -X -q -d $db -v ON_ERROR_STOP=1 -f demo/month_end.sql)
printf '%s\n' "$out"

q() { psql -X -At -d $db -c "$1"; }
check() {
	if [ "$2" != "$3" ]; then
		echo "$1: expected $3, got $2"
		exit 1
	fi
}
check "approved recurring charges" "$(q "SELECT count(*) FROM billing.recurring_charge rc
	JOIN billing.wip_entry w USING (firm_id, wip_entry_id) WHERE w.state = 'approved'")" 90
check "charges from a second run" "$(q "SELECT count(*) FROM billing.generate_recurring_charges(
	(SELECT firm_id FROM billing.firm), '2026-11-01', '2026-11-30')")" 0
check "milestones approved in November" "$(q "SELECT count(*) FROM billing.milestone
	WHERE state = 'approved' AND approved_by IS NOT NULL")" 2
check "retainer deposits" "$(q "SELECT count(*) FROM billing.retainer_entry WHERE kind = 'deposit'")" 5
check "ready-to-invoice kinds" "$(q "SELECT string_agg(DISTINCT item_kind, ',' ORDER BY item_kind)
	FROM billing.ready_to_invoice")" "expense,fixed_fee,milestone,recurring,retainer_draw,time"
check "audit chain" "$(q "SELECT valid FROM billing.verify_audit((SELECT firm_id FROM billing.firm))")" t
check "state history of the month-end" "$(q "SELECT count(*) > 0 FROM billing.state_history
	WHERE entity = 'billing.wip_entry' AND to_state = 'approved'")" t
psql -X -q -c "DROP DATABASE $db"
echo "the month-end ran through the workflows"
