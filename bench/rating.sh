#!/usr/bin/env bash
# bench/rating.sh: what pricing WIP in the database costs.  Single-row WIP
# inserts that the rating trigger prices (it finds the governing version,
# the rate, applies the time rules and computes the amount), against the
# same inserts carrying a version, rate and amount the client computed,
# into the same table with the rating trigger disabled.  Run by bench/run,
# which provides the cluster.
#
# Method: one firm with 40 engagements (one approved version each, one rate
# card with a rate per level and personal rates for a few people, and
# engagement overrides on some engagements) and 40 staff at four levels.
# pgbench, 2 clients, prepared statements; each transaction inserts one
# time entry for a random person, engagement, day of 2026 and duration.
# The two scripts alternate, ROUNDS rounds of SECONDS seconds each, and the
# comparison is the ratio of the median throughputs.  The precomputed
# script prices by level only (it does not know about overrides), which is
# what a client that computed rates itself would send at best.
set -eu
rounds=${RATING_BENCH_ROUNDS:-3}
seconds=${RATING_BENCH_SECONDS:-10}
db=${BENCH_DB:-bench_rating}

psql -X -q -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
q() { psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"; }
q -c "CREATE EXTENSION billing CASCADE" 2>/dev/null

# The firm, its staff, terms and work items: bench/wip_firm.sql.
q -f bench/wip_firm.sql

script_dir=$(mktemp -d)
trap 'rm -rf "$script_dir"' EXIT
cat >"$script_dir/precomputed.sql" <<'EOF'
\set e random(1, 40)
\set s random(1, 40)
\set d random(0, 360)
\set m random(1, 240)
\set l :s % 4
\set bm ((:m + 5) / 6) * 6
\set rate 15000 + 5000 * :l
\set amt (:rate * :bm + 30) / 60
INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id, work_item_id, kind,
        staff_id, worked_on, description, minutes, billable_minutes, rate_id, unit_price, amount)
VALUES (1, :e, :e, :e, 'time', :s, date '2026-01-01' + :d::integer, 'Work', :m, :bm, 11 + :l,
        billing.amount_of_minor_units(:rate, 'USD'), billing.amount_of_minor_units(:amt, 'USD'));
EOF

# Both scripts must record the same prices: check on a sample first.
q <<'SQL'
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind, staff_id,
        worked_on, description, minutes)
SELECT 1, -s, 1 + s % 40, 1 + s % 40, 'time', s, date '2026-01-01' + s * 9, 'Check', 1 + s * 6
  FROM generate_series(1, 40) AS s;
SELECT CASE WHEN bool_and(w.engagement_version_id = w.engagement_id AND w.rate_id = 11 + w.staff_id % 4
                          AND w.billable_minutes = ((w.minutes + 5) / 6) * 6
                          AND billing.minor_units(w.amount)
                              = ((15000 + 5000 * (w.staff_id % 4)) * w.billable_minutes + 30) / 60)
            THEN 'the trigger and the precomputed script price alike'
            ELSE 'PRICES DIFFER' END
  FROM billing.wip_entry w WHERE w.wip_entry_id < 0;
DELETE FROM billing.wip_entry WHERE wip_entry_id < 0;
VACUUM ANALYZE;
SQL

tps() {
	local out
	out=$(pgbench -n -M prepared -c 2 -j 2 -T "$seconds" -f "$1" "$db" 2>&1) || {
		printf '%s\n' "$out" >&2
		return 1
	}
	printf '%s\n' "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
resolved=()
precomputed=()
for r in $(seq "$rounds"); do
	q -c "ALTER TABLE billing.wip_entry ENABLE TRIGGER wip_entry_resolve"
	resolved+=("$(tps bench/wip_insert.pgbench)")
	q -c "ALTER TABLE billing.wip_entry DISABLE TRIGGER wip_entry_resolve"
	precomputed+=("$(tps "$script_dir/precomputed.sql")")
done
q -c "ALTER TABLE billing.wip_entry ENABLE TRIGGER wip_entry_resolve"

median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
r=$(median "${resolved[@]}")
p=$(median "${precomputed[@]}")
echo "single-row WIP inserts, pgbench 2 clients, median of $rounds rounds of ${seconds}s:"
awk -v r="$r" -v p="$p" -v rs="${resolved[*]}" -v ps="${precomputed[*]}" 'BEGIN {
	printf "rated by the trigger / carrying a precomputed rate: %.2fx (target: at least 0.85x) [rated %.0f tps (%s), precomputed %.0f tps (%s)]\n",
		r / p, r, rs, p, ps }'
psql -X -q -d postgres -c "DROP DATABASE $db"
