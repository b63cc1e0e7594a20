#!/usr/bin/env bash
# The README's quick start works as written: every SQL block of README.md
# runs in a fresh database, and the only errors are those the README
# announces with a comment "-- error ZBnnn" on the statement's line, with
# exactly that SQLSTATE.
set -eu
cd "$TOP"
db=billing_readme
psql -X -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
psql -X -q -c "CREATE DATABASE $db"
sql=$(awk '/^```sql$/ { on = 1; next } /^```$/ { on = 0 } on' README.md)
[ -n "$sql" ] || { echo "README.md has no SQL block"; exit 1; }
expected=$(printf '%s\n' "$sql" | grep -o -- '-- error [0-9A-Z]\{5\}' | awk '{print $3}' || true)
out=$(printf '%s\n' "$sql" | psql -X -d $db -v VERBOSITY=verbose 2>&1 || true)
actual=$(printf '%s\n' "$out" | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p')
psql -X -q -c "DROP DATABASE $db"
if [ "$expected" != "$actual" ]; then
	echo "errors announced by the README: ${expected:-none}"
	echo "errors raised: ${actual:-none}"
	printf '%s\n' "$out"
	exit 1
fi
echo "README quick start ran; errors as announced: ${expected:-none}"
