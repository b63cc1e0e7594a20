#!/usr/bin/env bash
# fuzz_amount.sh: billing.amount's input functions take anything without
# crashing the server.
#
# Text input: valid literals mutated by test/fuzz/amount_fuzz.pl and strings
# of random bytes (any byte but NUL: the database is SQL_ASCII, so bytes that
# are not UTF-8 reach the input function too) are cast one by one; each must
# give a value whose text form reads back as the same value, or an error
# with SQLSTATE 22P02, 22003 or ZB102 whose message names billing.amount.
#
# Binary input: fuzzed payloads are fed to billing.amount_recv through
# COPY ... (FORMAT binary), one file per case.  The script knows which
# payloads are valid (10 bytes, a count other than -2^63, a listed currency)
# and checks that exactly those are accepted, with the right value, and that
# every other one fails with 22P03, 22003 or ZB102 naming billing.amount.
#
# Finally the postmaster must not have restarted and must still answer.
# FUZZ_SEED, FUZZ_TEXT_CASES and FUZZ_BINARY_CASES override the defaults.
set -eu
: "${TOP:?TOP must name the work tree}"
seed=${FUZZ_SEED:-20261203}
text_cases=${FUZZ_TEXT_CASES:-100000}
binary_cases=${FUZZ_BINARY_CASES:-20000}
db=fuzz_amount
fuzz="$TOP/test/fuzz/amount_fuzz.pl"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "seed $seed, $text_cases text cases, $binary_cases binary cases"

. "$TOP/test/lib/script.sh"
fresh_database "$db" "TEMPLATE template0 ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C'"

# Text input ------------------------------------------------------------
perl "$fuzz" text "$seed" "$text_cases" >"$work/text.tsv"
q <<SQL
CREATE TABLE fuzz_text (case_id serial PRIMARY KEY, input text);
\copy fuzz_text (input) FROM '$work/text.tsv'
CREATE TABLE fuzz_text_result (case_id int, state text, message text, output text);
DO \$\$
DECLARE
    r record;
    v billing.amount;
    state text;
    message text;
BEGIN
    FOR r IN SELECT case_id, input FROM fuzz_text ORDER BY case_id LOOP
        BEGIN
            v := r.input::billing.amount;
            INSERT INTO fuzz_text_result VALUES (r.case_id, NULL, NULL, v::text);
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
            INSERT INTO fuzz_text_result VALUES (r.case_id, state, message, NULL);
        END;
    END LOOP;
END
\$\$;
SQL
check "text cases run" "$(q -c "SELECT count(*) FROM fuzz_text_result")" "$text_cases"
check "text errors with another SQLSTATE or not naming billing.amount" \
	"$(q -c "SELECT count(*) FROM fuzz_text_result WHERE state IS NOT NULL
	          AND (state NOT IN ('22P02', '22003', 'ZB102')
	               OR message NOT LIKE '%billing.amount%')")" 0
q -c "SELECT case_id, state, message FROM fuzz_text_result WHERE state IS NOT NULL
       AND (state NOT IN ('22P02', '22003', 'ZB102') OR message NOT LIKE '%billing.amount%')
       LIMIT 5"
check "accepted text inputs whose output does not read back as the same value" \
	"$(q -c "SELECT count(*) FROM fuzz_text_result r JOIN fuzz_text t USING (case_id)
	          WHERE r.state IS NULL
	            AND (r.output::billing.amount OPERATOR(billing.<>) t.input::billing.amount
	                 OR r.output::billing.amount::text <> r.output)")" 0
# The fuzzer must reach every outcome, or it is not testing much.
check "text outcomes reached (accepted, 22P02, 22003, ZB102)" \
	"$(q -c "SELECT count(DISTINCT coalesce(state, 'accepted')) FROM fuzz_text_result")" 4
q -c "SELECT coalesce(state, 'accepted') AS outcome, count(*) FROM fuzz_text_result GROUP BY 1 ORDER BY 1"

# Binary input ----------------------------------------------------------
mkdir "$work/bin"
q -F "$(printf '\t')" -c "SELECT numeric_code, currency_code, minor_unit FROM billing.currency" >"$work/currencies.tsv"
perl "$fuzz" binary "$seed" "$binary_cases" "$work/bin" "$work/currencies.tsv" >"$work/expected.tsv"
q -c "CREATE TABLE fuzz_binary (case_id int, a billing.amount)" \
	-c "CREATE TABLE fuzz_binary_expected (case_id int, output text)" \
	-c "\\copy fuzz_binary_expected FROM '$work/expected.tsv'"
for n in $(seq 1 "$binary_cases"); do
	echo "\\copy fuzz_binary FROM '$work/bin/$n.copy' WITH (FORMAT binary)"
done >"$work/copy.sql"
psql -X -q -d "$db" -v VERBOSITY=verbose -f "$work/copy.sql" >"$work/copy.log" 2>&1 || true
grep '^psql:.*ERROR:' "$work/copy.log" | sed -E 's/^psql:[^ ]*: ERROR:/ERROR:/' >"$work/errors.txt" || true
valid=$(wc -l <"$work/expected.tsv")
check "binary cases rejected" "$(wc -l <"$work/errors.txt")" "$((binary_cases - valid))"
check "binary errors with another SQLSTATE or not naming billing.amount" \
	"$(grep -cvE '^ERROR:  (22P03|22003|ZB102): .*billing\.amount' "$work/errors.txt" || true)" 0
grep -vE '^ERROR:  (22P03|22003|ZB102): .*billing\.amount' "$work/errors.txt" | head -5 || true
check "binary cases accepted" "$(q -c "SELECT count(*) FROM fuzz_binary")" "$valid"
check "accepted binary cases with the wrong value or not expected" \
	"$(q -c "SELECT count(*) FROM fuzz_binary b FULL JOIN fuzz_binary_expected e USING (case_id)
	          WHERE b.a IS NULL OR e.output IS NULL OR b.a::text <> e.output")" 0
check "binary outcomes reached (accepted, 22P03, 22003, ZB102)" \
	"$( (grep -oE '^ERROR:  (22P03|22003|ZB102)' "$work/errors.txt"; [ "$valid" -gt 0 ] && echo accepted) | sort -u | wc -l)" 4
grep -oE '^ERROR:  [0-9A-Z]{5}' "$work/errors.txt" | sort | uniq -c

# The server survived --------------------------------------------------
check_server_survived
check "server answers" "$(q -c "SELECT '1.00 USD'::billing.amount::text")" "1.00 USD"

psql -X -q -d postgres -c "DROP DATABASE $db"
[ "$failures" = 0 ]
