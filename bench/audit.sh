#!/usr/bin/env bash
# bench/audit.sh: what the audit trail costs, side by side in one run.
#
#   1. single-row INSERTs of WIP entries (pgbench, prepared): 1 client,
#      2 clients of one firm, 2 clients of a firm each; bare table,
#      billing.audit_trigger, and the PL/pgSQL trail of
#      bench/audit_plpgsql.sql; with the backends' CPU per commit;
#   2. one 200,000-row INSERT ... SELECT, bare, with billing's trail and
#      with the PL/pgSQL trail (both seal the statement's rows as records of
#      up to 1,000 rows);
#   3. billing.verify_audit over a chain of a million records (the updates
#      of 1,000,000 rows, after the records of their insert) against a
#      plain SELECT of sha256() over the same canonical bytes;
#   4. single-row INSERTs into billing.wip_entry itself, as shipped (rated
#      by its trigger, workflow and foreign keys checked), with and without
#      its audit trigger: what the trail costs on real WIP capture;
#   5. for reference, on a cluster of its own with fsync and
#      synchronous_commit on (PostgreSQL's defaults): single-row INSERTs by
#      8 clients into one firm and into a firm each, against the bare
#      table; a firm's commits wait for each other's WAL flush.
#
# Run by bench/run, which provides PGHOST, PGPORT, PGUSER and BENCH_DB.
# Each line: what, the measured ratio, the target, then the measurements.
set -eu
cd "$(dirname "$0")/.."
db=${BENCH_DB:-bench_audit}
secs=${AUDIT_BENCH_SECONDS:-5}
parts=${AUDIT_BENCH_PARTS:-single bulk verify wip sync}
want() { case " $parts " in *" $1 "*) return 0 ;; esac; return 1; }
bulk=200000
verify_rows=1000000

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"; }

# make_tables: the extension, the bare WIP-like table and its audited twin.
make_tables() {
	q >/dev/null <<'SQL'
CREATE EXTENSION billing CASCADE;
CREATE TABLE wip_bare (
    firm_id      bigint NOT NULL,
    wip_entry_id bigserial,
    staff_id     bigint NOT NULL,
    work_date    date NOT NULL,
    hours        numeric(8,2) NOT NULL,
    rate         numeric(12,2) NOT NULL,
    narrative    text,
    state        text NOT NULL DEFAULT 'draft',
    PRIMARY KEY (firm_id, wip_entry_id)
);
CREATE TABLE wip_c (LIKE wip_bare INCLUDING ALL);
SELECT billing.audit_table('wip_c');
SQL
}
make_tables
q -c "CREATE TABLE wip_pl (LIKE wip_bare INCLUDING ALL)" >/dev/null
q -f bench/audit_plpgsql.sql >/dev/null
q -c "CREATE TRIGGER plpgsql_audit AFTER UPDATE OR DELETE ON wip_pl
      FOR EACH ROW EXECUTE FUNCTION plpgsql_audit_trigger()" \
  -c "CREATE TRIGGER plpgsql_audit_insert AFTER INSERT ON wip_pl
      REFERENCING NEW TABLE AS inserted
      FOR EACH STATEMENT EXECUTE FUNCTION plpgsql_audit_insert_trigger()" >/dev/null

# ms SQL: run SQL as one statement (its own transaction, commit included)
# and print its duration in milliseconds.
ms() {
	q -c '\timing on' -c "$1" | sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -1
}
# median X...: the middle value of an odd number of measurements
median() { printf '%s\n' "$@" | sort -g | sed -n "$(( ($# + 1) / 2 ))p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v t="$2" -v dir="$3" 'BEGIN {
	ok = (dir == "min") ? (r >= t) : (r <= t); print ok ? "met" : "NOT met" }'; }

insert_select() {
	echo "INSERT INTO $1 (firm_id, staff_id, work_date, hours, rate, narrative)
	      SELECT $2, g % 50, date '2026-01-01' + g % 300, 1.25, 120,
	             'prepared workpapers ' || g FROM generate_series(1, $3) g"
}

# --- 1. single-row inserts
# server_cpu: CPU time, in clock ticks, of the server's processes that have
# exited (the postmaster's reaped children: pgbench's backends once it
# disconnects; autovacuum is off, see bench/run).
server_cpu() {
	awk '{ print $16 + $17 }' "/proc/$(head -1 "$CLUSTER_DIR/data/postmaster.pid")/stat"
}
# tps TABLE CLIENTS FIRMS: throughput of single-row inserts, the clients
# writing one firm, or each its own; prints the commits a second and the
# backends' CPU per commit in microseconds.
tps() {
	local table=$1 clients=$2 firm=1 script out cpu0 cpu1 n
	[ "$3" = each ] && firm=':client_id + 1'
	script=$(mktemp)
	cat >"$script" <<EOF
\\set s random(1, 50)
INSERT INTO $table (firm_id, staff_id, work_date, hours, rate, narrative)
VALUES ($firm, :s, '2026-03-02', 1.25, 120, 'prepared workpapers');
EOF
	cpu0=$(server_cpu)
	out=$(pgbench -n -M prepared -c "$clients" -j "$clients" -T "$secs" -f "$script" "$db" 2>/dev/null)
	sleep 0.3					# the backends exit and are reaped
	cpu1=$(server_cpu)
	n=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
	echo "$(echo "$out" | sed -n 's/^tps = \([0-9]*\).*/\1/p')" \
		"$(awk -v a="$cpu0" -v b="$cpu1" -v n="$n" -v hz="$(getconf CLK_TCK)" \
			'BEGIN { printf "%.1f", (b - a) * 1000000 / hz / n }')"
	rm -f "$script"
}
# Warm up both tables once, then run bare and billing back to back seven
# times, which goes first alternating, and take the median of the seven
# ratios: the machine is shared and its load drifts within a run, and a
# ratio of two runs made seconds apart is steadier than a ratio of medians
# taken over a minute.
for config in "1 one" "2 one" "2 each"; do
	want single || break
	set -- $config
	clients=$1 firms=$2
	q -c CHECKPOINT
	tps wip_bare $clients $firms >/dev/null
	tps wip_c $clients $firms >/dev/null
	b=() c=() rs=() ub=() uc=()
	for i in 1 2 3 4 5 6 7; do
		if [ $((i % 2)) = 1 ]; then
			read -r tb cb <<<"$(tps wip_bare $clients $firms)"
			read -r tc cc <<<"$(tps wip_c $clients $firms)"
		else
			read -r tc cc <<<"$(tps wip_c $clients $firms)"
			read -r tb cb <<<"$(tps wip_bare $clients $firms)"
		fi
		b+=("$tb") c+=("$tc") rs+=("$(ratio "$tc" "$tb")") ub+=("$cb") uc+=("$cc")
	done
	read -r pl _ <<<"$(tps wip_pl $clients $firms)"
	mb=$(median "${b[@]}")
	mc=$(median "${c[@]}")
	r=$(median "${rs[@]}")
	mub=$(median "${ub[@]}")
	muc=$(median "${uc[@]}")
	what="$clients client(s)"
	[ "$clients" = 2 ] && { [ "$firms" = one ] && what="2 clients, one firm" || what="2 clients, a firm each"; }
	echo "single-row INSERT, $what: billing trail / bare = ${r}x the throughput (target >= 0.75x, $(verdict "$r" 0.75 min)); median of 7 pairs run back to back (pair ratios ${rs[*]}); bare $mb tps, billing $mc tps (runs: bare ${b[*]}; billing ${c[*]}); PL/pgSQL chain $pl tps ($(ratio "$pl" "$mb")x)"
	echo "  backend CPU per commit, medians of the same runs: bare $mub us, billing $muc us, so the trail adds $(awk -v a="$muc" -v b="$mub" 'BEGIN { printf "%.1f", a - b }') us (runs: bare ${ub[*]}; billing ${uc[*]})"
done

# --- 2. bulk insert
if want bulk; then
b=() c=() p=()
for i in 1 2 3 4 5; do
	q -c CHECKPOINT
	b+=("$(ms "$(insert_select wip_bare 2 $bulk)")")
	q -c CHECKPOINT
	c+=("$(ms "$(insert_select wip_c 2 $bulk)")")
	q -c CHECKPOINT
	p+=("$(ms "$(insert_select wip_pl 2 $bulk)")")
done
mb=$(median "${b[@]}")
mc=$(median "${c[@]}")
mp=$(median "${p[@]}")
r=$(ratio "$mc" "$mb")
records=$(q -At -c "SELECT count(*) || ' records for ' || sum(coalesce(cardinality(row_keys), 1)) || ' rows'
                      FROM billing.audit_log WHERE firm_id = 2")
echo "200,000-row INSERT ... SELECT: billing trail / bare = ${r}x the time (target <= 2.5x, $(verdict "$r" 2.5 max)); bare ${mb} ms, billing ${mc} ms (medians of 5: bare ${b[*]}; billing ${c[*]}); PL/pgSQL chain $(ratio "$mp" "$mb")x, ${mp} ms (runs ${p[*]}); billing's log holds ${records}"
fi

# --- 3. verification
if want verify; then
# One record per updated row: the records of the insert hold 1,000 rows
# each, so the updates are what makes the chain a million records long.
q -c "$(insert_select wip_c 4 $verify_rows)" >/dev/null
q -c "UPDATE wip_c SET state = 'submitted' WHERE firm_id = 4" >/dev/null
q -c CHECKPOINT -c "VACUUM ANALYZE billing.audit_log" >/dev/null
nrec=$(q -At -c "SELECT to_char(count(*), 'FM9,999,999') FROM billing.audit_log WHERE firm_id = 4")
q >/dev/null <<'SQL'
CREATE FUNCTION plain_audit_hash(l billing.audit_log) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT sha256(
        plpgsql_audit_field(convert_to(l.firm_id::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.seq::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.lane::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.table_name, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.operation, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.row_key, 'UTF8')) ||
        plpgsql_audit_field(l.row_digest) ||
        CASE WHEN l.row_keys IS NULL THEN '\xffffffffffffffff'::bytea
             ELSE plpgsql_audit_field(l.row_keys) || plpgsql_audit_field(l.row_digests) END ||
        plpgsql_audit_field(convert_to(l.old_values::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.new_values::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.transaction_id::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(
            (extract(epoch FROM l.statement_time) * 1000000)::bigint::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.session_user_name, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.current_role_name, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.staff_id::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.application_name, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.reason_code, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.reason, 'UTF8')) ||
        plpgsql_audit_field(l.prev_hash))
$$;
SQL
same=$(q -At -c "SELECT count(*) FILTER (WHERE plain_audit_hash(l) = l.hash) || '/' || count(*) FROM billing.audit_log l WHERE firm_id = 4")
v=() p=() t=()
for i in 1 2 3; do
	v+=("$(ms "SELECT valid FROM billing.verify_audit(4)")")
	p+=("$(ms "SELECT count(plain_audit_hash(l)) FROM billing.audit_log l WHERE l.firm_id = 4")")
	t+=("$(ms "SELECT count(sha256(convert_to(l::text, 'UTF8'))) FROM billing.audit_log l WHERE l.firm_id = 4")")
done
mt=$(median "${t[@]}")
mv=$(median "${v[@]}")
mp=$(median "${p[@]}")
r=$(ratio "$mv" "$mp")
echo "verify_audit over ${nrec} records / plain sha256 scan of the same bytes = ${r}x the time (target <= 2x, $(verdict "$r" 2 max)); verify ${mv} ms, plain ${mp} ms (medians of 3: verify ${v[*]}; plain ${p[*]}); plain hash equals stored hash for ${same} records"
echo "for reference, the cheapest hashing scan there is, sha256 of each record's text form (not the canonical bytes): verify_audit / that = $(ratio "$mv" "$mt")x the time; ${mt} ms (runs ${t[*]})"
fi

# --- 4. billing.wip_entry as shipped
if want wip; then
wdb="${db}_wip"
psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $wdb" -c "CREATE DATABASE $wdb" 2>/dev/null
qw() { psql -X -q -v ON_ERROR_STOP=1 -d "$wdb" "$@"; }
qw -c "CREATE EXTENSION billing CASCADE" 2>/dev/null
qw -f bench/wip_firm.sql >/dev/null
qw -c "VACUUM ANALYZE" >/dev/null
script=bench/wip_insert.pgbench
wtps() {
	pgbench -n -M prepared -c 2 -j 2 -T "$secs" -f "$script" "$wdb" 2>/dev/null |
		sed -n 's/^tps = \([0-9]*\).*/\1/p'
}
wtps >/dev/null
b=() c=()
for i in 1 2 3 4 5; do
	qw -c "ALTER TABLE billing.wip_entry DISABLE TRIGGER billing_audit" >/dev/null
	b+=("$(wtps)")
	qw -c "ALTER TABLE billing.wip_entry ENABLE TRIGGER billing_audit" >/dev/null
	c+=("$(wtps)")
done
mb=$(median "${b[@]}")
mc=$(median "${c[@]}")
r=$(ratio "$mc" "$mb")
valid=$(qw -At -c "SELECT valid FROM billing.verify_audit(1)")
echo "single-row INSERT into billing.wip_entry as shipped, 2 clients of one firm: with its audit trigger / without = ${r}x the throughput (for reference; the target is for the bare table above); medians without $mb tps, with $mc tps (runs: without ${b[*]}; with ${c[*]}); chain verifies: $valid"
psql -X -q -d postgres -c "DROP DATABASE $wdb" >/dev/null
fi

psql -X -q -d postgres -c "DROP DATABASE $db" >/dev/null

# --- 5. with the WAL flushed at each commit
if want sync; then
(
	. test/lib/cluster.sh
	cluster_start shared_preload_libraries=billing fsync=on synchronous_commit=on \
		shared_buffers=1GB max_wal_size=4GB checkpoint_timeout=30min autovacuum=off \
		>/dev/null || exit 1
	trap cluster_stop EXIT
	psql -X -q -d postgres -c "CREATE DATABASE $db"
	make_tables 2>/dev/null
	b=() c=() e=()
	for i in 1 2 3; do
		read -r t _ <<<"$(tps wip_bare 8 one)"; b+=("$t")
		read -r t _ <<<"$(tps wip_c 8 one)"; c+=("$t")
		read -r t _ <<<"$(tps wip_c 8 each)"; e+=("$t")
	done
	mb=$(median "${b[@]}")
	mc=$(median "${c[@]}")
	me=$(median "${e[@]}")
	echo "single-row INSERT, fsync and synchronous_commit on, 8 clients (for reference; a firm's commits wait for each other's WAL flush): one firm $(ratio "$mc" "$mb")x the bare throughput, a firm each $(ratio "$me" "$mb")x; medians of 3: bare $mb tps, one firm $mc tps, a firm each $me tps (runs: bare ${b[*]}; one firm ${c[*]}; a firm each ${e[*]})"
)
fi
