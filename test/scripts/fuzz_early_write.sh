#!/usr/bin/env bash
# fuzz_early_write.sh: random transactions that write their audit records
# early (a low billing.audit_buffer_limit), in savepoints rolled back or
# released, committed or rolled back, some truncating the table, run by two
# sessions at once over two firms; afterwards the log tells exactly what the
# table holds.
#
# Each firm's chain must verify, and replaying its records (a key is there
# when its last record is an INSERT or UPDATE after the firm's last
# TRUNCATE of the table) must give exactly the table's rows, each with the
# digest of its last record: nothing committed is missing, nothing rolled
# back (a transaction, a savepoint, a deadlock victim) is recorded, and no
# record is there twice.  The server must not restart.
# FUZZ_SEED and FUZZ_EARLY_TRANSACTIONS override the defaults.
set -eu
: "${TOP:?TOP must name the work tree}"
seed=${FUZZ_SEED:-20261204}
transactions=${FUZZ_EARLY_TRANSACTIONS:-24}
db=fuzz_early_write
echo "seed $seed, $transactions transactions in each of 2 sessions"

. "$TOP/test/lib/script.sh"
fresh_database "$db"

q <<'SQL'
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (1, 'Early', 'USD'), (2, 'Also early', 'USD');
CREATE SEQUENCE fz_id;
CREATE TABLE fz (
    firm_id bigint NOT NULL,
    id bigint NOT NULL,
    v int NOT NULL,
    note text,
    PRIMARY KEY (firm_id, id)
);
SELECT billing.audit_table('fz') AS attached \gset
SQL

# one random step of a transaction, as SQL
step() {
	local f=$((RANDOM % 2 + 1)) m=$((RANDOM % 5 + 2))
	local r=$((RANDOM % m))
	case $((RANDOM % 10)) in
		0 | 1 | 2 | 3)
			echo "INSERT INTO fz SELECT $f, nextval('fz_id'), g, 'row ' || g
			      FROM generate_series(1, $((RANDOM % 1200 + 1))) g;" ;;
		4 | 5)
			echo "UPDATE fz SET v = v + 1, note = note || '.' WHERE firm_id = $f AND id % $m = $r;" ;;
		6)
			echo "DELETE FROM fz WHERE firm_id = $f AND id % $m = $r;" ;;
		7)
			# rare: truncate both firms' rows, recorded as the superuser's
			if [ $((RANDOM % 4)) = 0 ]; then echo "TRUNCATE fz;"; else echo "SELECT 1;"; fi ;;
		*)
			echo "SAVEPOINT s;"
			echo "INSERT INTO fz SELECT $f, nextval('fz_id'), g, 'in savepoint'
			      FROM generate_series(1, $((RANDOM % 1200 + 1))) g;"
			echo "UPDATE fz SET v = v + 10 WHERE firm_id = $f AND id % $m = $r;"
			if [ $((RANDOM % 2)) = 0 ]; then
				echo "ROLLBACK TO SAVEPOINT s;"
			fi
			echo "RELEASE SAVEPOINT s;" ;;
	esac
}

# session N: its transactions, one psql each, errors (deadlocks) allowed
session() {
	local i n s out=0
	RANDOM=$((seed + $1))
	for i in $(seq 1 "$transactions"); do
		{
			echo "SET billing.audit_buffer_limit = '$((RANDOM % 4 * 64 + 64))kB';"
			echo "SET deadlock_timeout = '50ms';"
			echo "BEGIN;"
			for s in $(seq 1 $((RANDOM % 6 + 2))); do step; done
			# how many records this transaction wrote before its end
			echo "SELECT 'early ' || count(*) FROM billing.audit_log WHERE transaction_id = pg_current_xact_id_if_assigned();"
			if [ $((RANDOM % 5)) = 0 ]; then echo "ROLLBACK;"; else echo "COMMIT;"; fi
		} >"$work/tx.$1.sql"
		if psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" -f "$work/tx.$1.sql" >"$work/out.$1" 2>"$work/err.$1"; then
			sed -n 's/^early //p' "$work/out.$1" >>"$work/early.$1"
		else
			out=$((out + 1))
			grep -qE 'deadlock detected|could not serialize|could not commit' "$work/err.$1" ||
				{ echo "session $1, transaction $i failed:"; cat "$work/err.$1"; exit 1; }
		fi
	done
	echo "session $1: $out of $transactions transactions ended by a deadlock or a failed predecessor"
}

work=$(mktemp -d)
: >"$work/early.1"
: >"$work/early.2"
session 1 &
one=$!
session 2 &
two=$!
wait $one
wait $two

check "every chain verifies" \
	"$(q -c "SELECT bool_and(valid) FROM billing.firm f, billing.verify_audit(f.firm_id) WHERE f.firm_id IN (1, 2)")" t
check "transactions that wrote records before their end, in both sessions" \
	"$(cat "$work/early.1" "$work/early.2" | awk '$1 > 0 { n++ } END { print (n >= 4) ? "t" : "f" }')" t
rm -rf "$work"

# replay: the rows each firm's records say are there, with their last digest
q <<'SQL'
CREATE VIEW replayed AS
SELECT last.firm_id, last.row_key, last.row_digest
  FROM (SELECT DISTINCT ON (c.firm_id, c.row_key) c.firm_id, c.row_key, c.seq,
               c.operation, c.row_digest
          FROM billing.audit_change c
         WHERE c.table_name = 'public.fz' AND c.row_key IS NOT NULL
         ORDER BY c.firm_id, c.row_key, c.seq DESC, c.item DESC) last
  LEFT JOIN (SELECT t.firm_id, max(t.seq) AS seq FROM billing.audit_log t
              WHERE t.table_name = 'public.fz' AND t.operation = 'TRUNCATE'
              GROUP BY t.firm_id) truncated USING (firm_id)
 WHERE last.operation <> 'DELETE'
   AND last.seq > coalesce(truncated.seq, 0);
CREATE VIEW actual AS
SELECT f.firm_id, format('(%s,%s)', f.firm_id, f.id) AS row_key,
       billing.audit_row_digest(f) AS row_digest
  FROM fz f;
SQL
check "rows in the table that the log does not show" \
	"$(q -c "SELECT count(*) FROM (SELECT * FROM actual EXCEPT SELECT * FROM replayed) x")" 0
check "rows the log shows that are not in the table" \
	"$(q -c "SELECT count(*) FROM (SELECT * FROM replayed EXCEPT SELECT * FROM actual) x")" 0
echo "rows now: $(q -c "SELECT count(*) FROM fz"); records: $(q -c "SELECT count(*) FROM billing.audit_log WHERE table_name = 'public.fz'")"
check_server_survived

psql -X -q -d postgres -c "DROP DATABASE $db"
[ "$failures" = 0 ]
