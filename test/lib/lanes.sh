# lanes.sh: make a firm's audit chain take a second lane on purpose, for the
# scripted tests that need one; sourced by test/scripts/*.sh.
#
#   beside_held DB HELD BESIDE   runs the statements HELD in a transaction
#                                that the audit trail holds after writing
#                                its records (billing.test_pause_after_
#                                audit_write, until a gate opens: an
#                                advisory lock held by a session fed
#                                through a pipe), runs BESIDE meanwhile as
#                                one transaction, whose records take
#                                another lane of the firms HELD wrote, then
#                                opens the gate and waits for HELD's
#                                commit.

lanes_gate_waiting() {
	psql -X -At -d "$1" -c "SELECT count(*) FROM pg_locks
		WHERE locktype = 'advisory' AND objid = 4343 AND objsubid = 1 AND granted = $2"
}

beside_held() {
	local db=$1 held=$2 beside=$3 work gate_session held_session
	work=$(mktemp -d)
	mkfifo "$work/gate"
	psql -X -q -d "$db" <"$work/gate" >/dev/null 2>&1 &
	gate_session=$!
	exec 7>"$work/gate"
	echo "SELECT pg_advisory_lock(4343);" >&7
	until [ "$(lanes_gate_waiting "$db" true)" = 1 ]; do sleep 0.02; done
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "BEGIN" -c "$held" \
		-c "SET LOCAL billing.test_pause_after_audit_write = 4343" \
		-c "COMMIT" >/dev/null &
	held_session=$!
	until [ "$(lanes_gate_waiting "$db" false)" = 1 ]; do sleep 0.02; done
	# a firm that cannot have lanes (billing not preloaded, or the shared
	# table full) would wait for the held commit: fail instead of hanging
	psql -X -q -v ON_ERROR_STOP=1 -d "$db" -c "SET lock_timeout = '30s'" \
		-c "$beside" >/dev/null || echo "beside_held: the other writer waited for the held one"
	echo "SELECT pg_advisory_unlock(4343);" >&7
	wait "$held_session"
	exec 7>&-
	wait "$gate_session"
	rm -rf "$work"
}
