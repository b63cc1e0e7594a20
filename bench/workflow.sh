#!/usr/bin/env bash
# bench/workflow.sh: single-row state UPDATEs under the workflow trigger.
#
# Three copies of one table, 10,000 rows each, every UPDATE moving one
# random row between two states (open <-> closed):
#   bare      no trigger;
#   c         billing.enforce_workflow(): the C trigger, its cached catalog,
#             the actor looked up, a row of state history written;
#   plpgsql   the same checks and history row in PL/pgSQL
#             (bench/workflow_plpgsql.sql).
# pgbench with prepared statements, at 1 and 2 clients; the three run in
# turn, ROUNDS rounds (5) of SECONDS_PER_RUN seconds (4), and the median of
# the per-round ratios is reported.  Target: the C trigger keeps at least
# 0.8x of bare.
set -eu
cd "$(dirname "$0")/.."
db=${BENCH_DB:-bench_workflow}
secs=${SECONDS_PER_RUN:-4}
rounds=${ROUNDS:-5}
rows=10000

psql -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<SQL
CREATE EXTENSION billing CASCADE;
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (1, 'Bench', 'USD');
INSERT INTO billing.staff (firm_id, staff_id, full_name, level, role_name)
VALUES (1, 1, 'Bench Partner', 'partner', current_user);
INSERT INTO billing.workflow (workflow, description) VALUES ('bench_item', 'Benchmark');
INSERT INTO billing.workflow_state (workflow, state, is_initial) VALUES
    ('bench_item', 'open', true), ('bench_item', 'closed', false);
INSERT INTO billing.workflow_transition (workflow, from_state, to_state, min_level) VALUES
    ('bench_item', 'open', 'closed', 'staff'), ('bench_item', 'closed', 'open', 'staff');
\i bench/workflow_plpgsql.sql
CREATE TABLE public.bench_bare (firm_id bigint NOT NULL, bench_item_id bigint NOT NULL,
    state text NOT NULL, note text, PRIMARY KEY (firm_id, bench_item_id));
CREATE TABLE public.bench_c (LIKE public.bench_bare INCLUDING ALL);
CREATE TABLE public.bench_plpgsql (LIKE public.bench_bare INCLUDING ALL);
SELECT billing.enforce_workflow('public.bench_c', 'state', 'bench_item', 'bench_item_id');
CREATE TRIGGER bench_workflow BEFORE INSERT OR UPDATE OF state ON public.bench_plpgsql
    FOR EACH ROW EXECUTE FUNCTION public.bench_workflow_plpgsql('bench_item');
INSERT INTO public.bench_bare SELECT 1, i, 'open', 'item ' || i FROM generate_series(1, $rows) i;
INSERT INTO public.bench_c SELECT * FROM public.bench_bare;
INSERT INTO public.bench_plpgsql SELECT * FROM public.bench_bare;
VACUUM ANALYZE;
SQL

script=$(mktemp -d)
trap 'rm -rf "$script"' EXIT
for t in bare c plpgsql; do
	cat >"$script/$t.sql" <<SQL
\set id random(1, $rows)
UPDATE public.bench_$t SET state = CASE state WHEN 'open' THEN 'closed' ELSE 'open' END
 WHERE firm_id = 1 AND bench_item_id = :id;
SQL
done

# tps TABLE CLIENTS: one pgbench run, its transactions per second.
tps() {
	pgbench -n -M prepared -c "$2" -j "$2" -T "$secs" -f "$script/$1.sql" "$db" 2>&1 |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

# Each round runs the three in turn, so a change in the machine's load
# touches all three alike; the per-round ratios are summarised by their
# median, with the lowest and highest shown.
for clients in 1 2; do
	rc=() rp=() tb=() tc=() tp=()
	for round in $(seq "$rounds"); do
		b=$(tps bare "$clients")
		c=$(tps c "$clients")
		p=$(tps plpgsql "$clients")
		tb+=("$b") tc+=("$c") tp+=("$p")
		rc+=("$(awk -v x="$c" -v y="$b" 'BEGIN { printf "%.3f", x / y }')")
		rp+=("$(awk -v x="$p" -v y="$b" 'BEGIN { printf "%.3f", x / y }')")
	done
	printf 'state UPDATE, %d client(s): C trigger %.2fx of bare (rounds %s..%s; target >= 0.80x); PL/pgSQL trigger %.2fx (rounds %s..%s); median tps bare %.0f, C %.0f, PL/pgSQL %.0f\n' \
		"$clients" "$(median "${rc[@]}")" "$(printf '%s\n' "${rc[@]}" | sort -g | head -1)" \
		"$(printf '%s\n' "${rc[@]}" | sort -g | tail -1)" "$(median "${rp[@]}")" \
		"$(printf '%s\n' "${rp[@]}" | sort -g | head -1)" "$(printf '%s\n' "${rp[@]}" | sort -g | tail -1)" \
		"$(median "${tb[@]}")" "$(median "${tc[@]}")" "$(median "${tp[@]}")"
done

# The history the triggers wrote must be there: one row per move.
psql -X -At -d $db -c "SELECT 'history rows: ' || count(*) FROM billing.state_history"
psql -X -q -c "DROP DATABASE $db"
