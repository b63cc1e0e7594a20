#!/usr/bin/env bash
# fuzz_audit.sh: every random tampering with a firm's audit chain is found
# by billing.verify_audit, at the record tampered with, and none crashes
# the server.
#
# A chain of a few hundred records is built the way users make them
# (single-row and multi-row inserts, updates, deletes, with and without a
# staff member, a reason and an application name), in two lanes: some
# writers commit while another is still committing.  Then, case by case,
# as a superuser with triggers off, one random record is tampered with in
# one random way: any column changed (values, nulls, bytes of a digest or a
# hash, a hash of the wrong length, the transaction, the time, the names),
# the record moved to another seq, lane or firm, deleted, swapped with the
# next one, or copied to the end as a forgery; or the chain's tail cut off.
# verify_audit, given the anchors taken before (one per lane), must report
# the chain invalid, at that record (at the copy, for a forgery; at the
# first record gone, for a cut).  Each case is rolled back before the next.
# A tampering that the log's own constraints refuse is counted apart.
# FUZZ_SEED and FUZZ_AUDIT_CASES override the defaults.
set -eu
: "${TOP:?TOP must name the work tree}"
seed=${FUZZ_SEED:-20261204}
cases=${FUZZ_AUDIT_CASES:-3000}
db=fuzz_audit
echo "seed $seed, $cases cases"

. "$TOP/test/lib/script.sh"
fresh_database "$db"

# The chain ------------------------------------------------------------
q <<'SQL'
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (1, 'Fuzz', 'USD'), (2, 'Other', 'USD');
CREATE TABLE fuzz_note (
    firm_id bigint NOT NULL,
    note_id int NOT NULL,
    body text,
    amount numeric(12,2),
    PRIMARY KEY (firm_id, note_id)
);
SELECT billing.audit_table('fuzz_note') AS attached \gset
SELECT format('INSERT INTO fuzz_note VALUES (1, %s, %L, %s)', g, 'note ' || g, g * 1.5)
  FROM generate_series(1, 80) g \gexec
SELECT format('INSERT INTO fuzz_note SELECT 1, n, %L, n FROM generate_series(%s, %s) n',
              'bulk', 1000 + g * 10, 1000 + g * 10 + 4)
  FROM generate_series(1, 20) g \gexec
SET billing.reason_code = 'fuzz';
SET billing.reason = 'corrected after review';
SET application_name = 'fuzz app';
SELECT format('UPDATE fuzz_note SET body = body || %L, amount = amount + 1 WHERE firm_id = 1 AND note_id = %s',
              ' (revised)', g)
  FROM generate_series(1, 80, 2) g \gexec
SET billing.staff_id = '7';
SELECT format('UPDATE fuzz_note SET amount = NULL WHERE firm_id = 1 AND note_id = %s', g)
  FROM generate_series(2, 80, 4) g \gexec
RESET billing.reason_code;
RESET billing.reason;
RESET application_name;
SELECT format('DELETE FROM fuzz_note WHERE firm_id = 1 AND note_id = %s', g)
  FROM generate_series(3, 80, 5) g \gexec
RESET billing.staff_id;
INSERT INTO fuzz_note VALUES (2, 1, 'other firm', 1), (2, 2, 'other firm', 2);
UPDATE fuzz_note SET body = 'changed' WHERE firm_id = 2;
SQL

# Records in a second lane: while a writer of firm 1 is held after writing
# its records, others commit.
. "$TOP/test/lib/lanes.sh"
for round in 1 2 3 4 5 6; do
	beside_held "$db" "INSERT INTO fuzz_note VALUES (1, 5000 + $round, 'held', 1)" \
		"INSERT INTO fuzz_note VALUES (1, 6000 + $round, 'beside', 2);
		 UPDATE fuzz_note SET amount = amount + 1 WHERE firm_id = 1 AND note_id = 6000 + $round;
		 DELETE FROM fuzz_note WHERE firm_id = 1 AND note_id = 6000 + $round - 1;"
done
check "lanes in firm 1's chain" "$(q -c "SELECT count(DISTINCT lane) FROM billing.audit_log WHERE firm_id = 1")" 2

records=$(q -c "SELECT count(*) FROM billing.audit_log WHERE firm_id = 1")
echo "firm 1's chain: $records records, of which $(q -c "SELECT count(*) FROM billing.audit_log WHERE firm_id = 1 AND row_keys IS NOT NULL") of several rows"
check "the chain verifies before any tampering" "$(q -c "SELECT valid FROM billing.verify_audit(1)")" t

# The cases ------------------------------------------------------------
q <<SQL
CREATE TABLE fuzz_anchor AS SELECT * FROM billing.audit_anchor(1);
CREATE TABLE fuzz_case (
    case_id int PRIMARY KEY,
    mutation int,
    seq bigint,
    expected bigint,
    refused text,
    valid boolean,
    failed_seq bigint,
    problem text
);
SELECT setseed(0.$seed);
DO \$\$
DECLARE
    a record;
    v record;
    r billing.audit_log;
    last bigint;
    multi bigint[];
    m int;
    s bigint;
    want bigint;
    ok boolean;
    failed bigint;
    problem text;
    state text;
BEGIN
    SET LOCAL session_replication_role = replica;
    last := (SELECT max(seq) FROM fuzz_anchor);
    multi := ARRAY(SELECT l.seq FROM billing.audit_log l
                    WHERE l.firm_id = 1 AND l.row_keys IS NOT NULL);
    FOR c IN 1..$cases LOOP
        s := 1 + floor(random() * last)::bigint;
        m := floor(random() * 28)::int;
        IF m IN (5, 6) THEN
            -- the rows of a record of several rows
            s := multi[1 + floor(random() * cardinality(multi))::int];
        END IF;
        SELECT * INTO r FROM billing.audit_log l WHERE l.firm_id = 1 AND l.seq = s;
        want := CASE m WHEN 25 THEN last + 1 ELSE s END;
        ok := NULL;
        failed := NULL;
        problem := NULL;
        state := NULL;
        BEGIN
            CASE m
            WHEN 0 THEN UPDATE billing.audit_log SET table_name = table_name || 'x' WHERE firm_id = 1 AND seq = s;
            WHEN 1 THEN UPDATE billing.audit_log SET operation = CASE operation WHEN 'DELETE' THEN 'UPDATE' ELSE 'DELETE' END WHERE firm_id = 1 AND seq = s;
            WHEN 2 THEN UPDATE billing.audit_log SET row_key = CASE WHEN row_key IS NULL THEN '(1)' ELSE row_key || ' ' END WHERE firm_id = 1 AND seq = s;
            WHEN 3 THEN UPDATE billing.audit_log SET row_digest = CASE WHEN row_digest IS NULL THEN sha256('x') ELSE set_byte(row_digest, 5, (get_byte(row_digest, 5) + 1) % 256) END WHERE firm_id = 1 AND seq = s;
            WHEN 4 THEN UPDATE billing.audit_log SET row_digest = CASE WHEN row_digest IS NULL THEN '\x00' ELSE substr(row_digest, 1, 31) END WHERE firm_id = 1 AND seq = s;
            WHEN 5 THEN UPDATE billing.audit_log SET row_keys = CASE WHEN random() < 0.5 THEN array_replace(row_keys, row_keys[2], row_keys[2] || ' ') ELSE row_keys[2:2] || row_keys[1:1] || row_keys[3:] END WHERE firm_id = 1 AND seq = s;
            WHEN 6 THEN UPDATE billing.audit_log SET row_digests = row_digests[1:1] || set_byte(row_digests[2], 0, (get_byte(row_digests[2], 0) + 1) % 256) || row_digests[3:] WHERE firm_id = 1 AND seq = s;
            WHEN 7 THEN UPDATE billing.audit_log SET old_values = CASE WHEN old_values IS NULL THEN '{}' ELSE old_values || '{"fuzz": 1}' END WHERE firm_id = 1 AND seq = s;
            WHEN 8 THEN UPDATE billing.audit_log SET new_values = CASE WHEN new_values IS NULL THEN '{"body": "x"}'::jsonb ELSE NULL END WHERE firm_id = 1 AND seq = s;
            WHEN 9 THEN UPDATE billing.audit_log SET transaction_id = ((transaction_id::text::numeric + 1)::text)::xid8 WHERE firm_id = 1 AND seq = s;
            WHEN 10 THEN UPDATE billing.audit_log SET statement_time = statement_time + interval '1 microsecond' WHERE firm_id = 1 AND seq = s;
            WHEN 11 THEN UPDATE billing.audit_log SET session_user_name = session_user_name || 'x' WHERE firm_id = 1 AND seq = s;
            WHEN 12 THEN UPDATE billing.audit_log SET current_role_name = upper(current_role_name) WHERE firm_id = 1 AND seq = s;
            WHEN 13 THEN UPDATE billing.audit_log SET staff_id = CASE WHEN staff_id IS NULL THEN 7 ELSE NULL END WHERE firm_id = 1 AND seq = s;
            WHEN 14 THEN UPDATE billing.audit_log SET application_name = CASE WHEN application_name IS NULL THEN '' ELSE NULL END WHERE firm_id = 1 AND seq = s;
            WHEN 15 THEN UPDATE billing.audit_log SET reason_code = CASE WHEN reason_code IS NULL THEN 'courtesy' ELSE NULL END WHERE firm_id = 1 AND seq = s;
            WHEN 16 THEN UPDATE billing.audit_log SET reason = coalesce(reason || '.', '') WHERE firm_id = 1 AND seq = s;
            WHEN 17 THEN UPDATE billing.audit_log SET prev_hash = CASE WHEN prev_hash IS NULL THEN sha256('x') ELSE set_byte(prev_hash, 31, (get_byte(prev_hash, 31) + 1) % 256) END WHERE firm_id = 1 AND seq = s;
            WHEN 18 THEN UPDATE billing.audit_log SET prev_hash = CASE WHEN prev_hash IS NULL THEN '\x'::bytea ELSE NULL END WHERE firm_id = 1 AND seq = s;
            WHEN 19 THEN UPDATE billing.audit_log SET hash = set_byte(hash, 0, (get_byte(hash, 0) + 1) % 256) WHERE firm_id = 1 AND seq = s;
            WHEN 20 THEN UPDATE billing.audit_log SET hash = hash || '\x00'::bytea WHERE firm_id = 1 AND seq = s;
            WHEN 21 THEN UPDATE billing.audit_log SET seq = seq + 1000000 WHERE firm_id = 1 AND seq = s;
            WHEN 22 THEN UPDATE billing.audit_log SET firm_id = 1000000 WHERE firm_id = 1 AND seq = s;
            WHEN 23 THEN DELETE FROM billing.audit_log WHERE firm_id = 1 AND seq = s;
            WHEN 24 THEN
                IF s = last THEN
                    s := s - 1;
                    want := s;
                END IF;
                UPDATE billing.audit_log SET seq = 2000000 WHERE firm_id = 1 AND seq = s;
                UPDATE billing.audit_log SET seq = s WHERE firm_id = 1 AND seq = s + 1;
                UPDATE billing.audit_log SET seq = s + 1 WHERE firm_id = 1 AND seq = 2000000;
            WHEN 25 THEN
                r.seq := last + 1;
                INSERT INTO billing.audit_log SELECT (r).*;
            WHEN 26 THEN
                -- the tail cut off: only the anchor shows it
                s := last - floor(random() * 3)::bigint;
                want := s;
                DELETE FROM billing.audit_log WHERE firm_id = 1 AND seq >= s;
            WHEN 27 THEN UPDATE billing.audit_log SET lane = 1 - lane WHERE firm_id = 1 AND seq = s;
            END CASE;
            -- found if verifying against any lane's anchor fails; where
            -- several do, the earliest record they name
            ok := true;
            FOR a IN SELECT * FROM fuzz_anchor LOOP
                SELECT x.valid, x.failed_seq, x.problem INTO v
                  FROM billing.verify_audit(1, a.seq, a.hash) x;
                IF NOT v.valid AND (ok OR v.failed_seq < failed) THEN
                    ok := false;
                    failed := v.failed_seq;
                    problem := v.problem;
                END IF;
            END LOOP;
            RAISE EXCEPTION USING ERRCODE = 'ZZ999', MESSAGE = 'undo this case';
        EXCEPTION
            WHEN SQLSTATE 'ZZ999' THEN NULL;
            WHEN OTHERS THEN state := SQLSTATE;
        END;
        INSERT INTO fuzz_case VALUES (c, m, s, want, state, ok, failed, problem);
    END LOOP;
END
\$\$;
SQL

check "cases run" "$(q -c "SELECT count(*) FROM fuzz_case")" "$cases"
check "tamperings verify_audit did not find, or found at another record" \
	"$(q -c "SELECT count(*) FROM fuzz_case WHERE refused IS NULL
	          AND (valid IS NOT false OR failed_seq IS DISTINCT FROM expected)")" 0
q -c "SELECT * FROM fuzz_case WHERE refused IS NULL
       AND (valid IS NOT false OR failed_seq IS DISTINCT FROM expected) LIMIT 5"
check "tamperings refused for another reason than the log's constraints" \
	"$(q -c "SELECT count(*) FROM fuzz_case WHERE refused NOT IN ('23514', '23502')")" 0
q -c "SELECT mutation, refused, count(*) FROM fuzz_case WHERE refused NOT IN ('23514', '23502')
       GROUP BY 1, 2 LIMIT 5"
# Every kind of tampering must have been tried and reached verify_audit.
check "kinds of tampering that reached verify_audit" \
	"$(q -c "SELECT count(DISTINCT mutation) FROM fuzz_case WHERE refused IS NULL")" 28
q -c "SELECT substring(problem from '(does not match its hash|does not link|is missing|appears twice|has a prev_hash|chain ends at|chain is empty)') AS found_as,
             count(*) FROM fuzz_case WHERE refused IS NULL GROUP BY 1 ORDER BY 2 DESC"
echo "refused by the log's constraints: $(q -c "SELECT count(*) FROM fuzz_case WHERE refused IS NOT NULL")"
q -c "SELECT mutation, count(*) FILTER (WHERE refused IS NULL) AS found,
             count(*) FILTER (WHERE refused IS NOT NULL) AS refused,
             string_agg(DISTINCT refused, ',') AS states
        FROM fuzz_case GROUP BY 1 ORDER BY 1"

# Nothing stayed, and the server survived ---------------------------------
check "the chain verifies after the cases, each rolled back" \
	"$(q -c "SELECT valid FROM billing.verify_audit(1)")" t
check_server_survived

psql -X -q -d postgres -c "DROP DATABASE $db"
[ "$failures" = 0 ]
