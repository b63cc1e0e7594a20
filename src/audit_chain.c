/*
 * audit_chain.c
 *		Seals the transaction's audit records into each firm's hash chain
 *		and writes them to billing.audit_log, just before commit.
 *
 * At XACT_EVENT_PRE_COMMIT (and XACT_EVENT_PRE_PREPARE, since Citus commits
 * with two-phase commit) the buffered records are taken firm by firm, in
 * firm order so that two committers cannot deadlock.  For each firm we take
 * a lane of the firm's chain, a lock of our own (an advisory-class lock):
 * the first lane no one holds and whose last writer has finished
 * committing, so that writers of one firm committing at once do not wait
 * for each other.  We read the lane's last record (from shared memory, or
 * with a dirty snapshot, so a REPEATABLE READ or SERIALIZABLE writer sees
 * what committed after its snapshot and never fails for it), take the
 * firm's next seqs, hash each record with the previous hash of the lane,
 * and insert them in batches at heap level, with their index entries, as
 * the log's owner.
 *
 * Then the lanes are handed over: the locks are let go before our commit
 * finishes, so the next writer of a lane writes its records after ours
 * while we commit.  A writer whose records follow records still being
 * committed waits for that commit at the end of its own flush, before its
 * own commit, so a lane's records commit in order; if that commit failed,
 * the lane it would extend is gone and the writer fails (40001).
 * Serializable and prepared transactions, which can still fail or wait
 * long after this point, keep their lanes until they end instead.
 * Writers in different firms never wait for each other.
 *
 * The hash covers a canonical form of the stored columns (audit_hash_values)
 * so that it can be recomputed from the table after a dump and restore.
 */
#include "audit.h"
#include "billing.h"
#include "workflow.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/relscan.h"
#include "access/transam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "catalog/pg_am.h"
#include "catalog/pg_index.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "portability/instr_time.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/procarray.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/xid8.h"

/*
 * locktag_field4 of our per-firm locks, apart from the advisory functions'
 * (1 and 2): lane L of a firm's chain is AUDIT_LOCK_CLASS + L, and the lock
 * under which a firm's next seq is read from the log is AUDIT_INIT_CLASS.
 */
#define AUDIT_LOCK_CLASS	0x4155
#define AUDIT_INIT_CLASS	(AUDIT_LOCK_CLASS + AUDIT_MAX_LANES)


bool		audit_chain_flushed = false;

/* billing.audit_log's OID, once found; reset by log_relid_callback. */
static Oid	log_relid = InvalidOid;

/*
 * audit_log_relid: the OID of billing.audit_log; an error when the
 * extension's schema or the table is missing.
 */
Oid
audit_log_relid(void)
{
	Oid			nsp;

	if (OidIsValid(log_relid))
		return log_relid;
	nsp = get_namespace_oid("billing", true);
	log_relid = OidIsValid(nsp) ?
		get_relname_relid("audit_log", nsp) : InvalidOid;
	if (!OidIsValid(log_relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table billing.audit_log does not exist"),
				 errhint("Install the billing extension in this database.")));
	return log_relid;
}

/* Forget the log's OID when it, or every relation, is invalidated. */
static void
log_relid_callback(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == log_relid)
		log_relid = InvalidOid;
}

/* audit_check_log_layout: refuse a billing.audit_log we do not know. */
void
audit_check_log_layout(Relation rel)
{
	TupleDesc	d = RelationGetDescr(rel);

	if (d->natts != Natts_audit ||
		TupleDescAttr(d, Anum_audit_firm_id - 1)->atttypid != INT8OID ||
		TupleDescAttr(d, Anum_audit_seq - 1)->atttypid != INT8OID ||
		TupleDescAttr(d, Anum_audit_lane - 1)->atttypid != INT2OID ||
		TupleDescAttr(d, Anum_audit_row_keys - 1)->atttypid != TEXTARRAYOID ||
		TupleDescAttr(d, Anum_audit_row_digests - 1)->atttypid !=
		BYTEAARRAYOID ||
		TupleDescAttr(d, Anum_audit_old_values - 1)->atttypid != JSONBOID ||
		TupleDescAttr(d, Anum_audit_transaction_id - 1)->atttypid != XID8OID ||
		TupleDescAttr(d, Anum_audit_statement_time - 1)->atttypid !=
		TIMESTAMPTZOID ||
		TupleDescAttr(d, Anum_audit_hash - 1)->atttypid != BYTEAOID)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("table billing.audit_log does not have the columns the audit trail writes"),
				 errhint("Reinstall the billing extension; the audit log must not be altered.")));
}

static void
field_length(StringInfo buf, int at, int len)
{
	buf->data[at] = (char) ((uint32) len >> 24);
	buf->data[at + 1] = (char) ((uint32) len >> 16);
	buf->data[at + 2] = (char) ((uint32) len >> 8);
	buf->data[at + 3] = (char) len;
}

static void
field(StringInfo buf, const char *data, int len)
{
	enlargeStringInfo(buf, 4 + len);
	field_length(buf, buf->len, len);
	buf->len += 4;
	appendBinaryStringInfo(buf, data, len);
}

/*
 * An array of text or bytea is one field whose bytes are its elements in
 * order, each as a field of its own (a null element as FF FF FF FF).
 */
static void
array_field(StringInfo buf, Datum value, Oid elemtype)
{
	ArrayType  *arr = DatumGetArrayTypeP(value);
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int			at = buf->len;
	int			e;

	deconstruct_array(arr, elemtype, -1, false, TYPALIGN_INT,
					  &elems, &nulls, &nelems);
	appendBinaryStringInfo(buf, "\0\0\0\0", 4);
	for (e = 0; e < nelems; e++)
	{
		struct varlena *p;

		if (nulls[e])
		{
			appendBinaryStringInfo(buf, "\xff\xff\xff\xff", 4);
			continue;
		}
		p = (struct varlena *) DatumGetPointer(elems[e]);
		field(buf, VARDATA_ANY(p), VARSIZE_ANY_EXHDR(p));
	}
	field_length(buf, at, buf->len - at - 4);
	pfree(elems);
	pfree(nulls);
	if ((Pointer) arr != DatumGetPointer(value))
		pfree(arr);
}

/*
 * audit_hash_values: SHA-256 of one audit_log record in canonical form.
 *
 * Columns firm_id through prev_hash are taken in order.  A null is the four
 * bytes FF FF FF FF; any other value is its length as four bytes big-endian
 * followed by its bytes: integers (the lane too) and xid8 in decimal,
 * timestamptz as the decimal number of microseconds since 1970-01-01 00:00
 * UTC, text as its characters, bytea as its bytes, jsonb as its text form,
 * an array of text or bytea as its elements each framed the same way.
 * None of these depends on a setting or on where the row is stored, so the
 * same bytes come back after pg_dump and pg_restore; doc/audit.md shows
 * the same in SQL.
 */
void
audit_hash_values(TupleDesc desc, Datum *values, bool *isnull, uint8 *out)
{
	static StringInfoData buf;
	static bool buf_ready = false;
	char		num[MAXINT8LEN + 1];
	int			a;

	if (!buf_ready)
	{
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

		initStringInfo(&buf);
		MemoryContextSwitchTo(old);
		buf_ready = true;
	}
	resetStringInfo(&buf);
	for (a = 1; a < Anum_audit_hash; a++)
	{
		Datum		v = values[a - 1];

		if (isnull[a - 1])
		{
			appendBinaryStringInfo(&buf, "\xff\xff\xff\xff", 4);
			continue;
		}
		switch (a)
		{
			case Anum_audit_firm_id:
			case Anum_audit_seq:
			case Anum_audit_staff_id:
				pg_lltoa(DatumGetInt64(v), num);
				field(&buf, num, strlen(num));
				break;
			case Anum_audit_lane:
				pg_ltoa(DatumGetInt16(v), num);
				field(&buf, num, strlen(num));
				break;
			case Anum_audit_transaction_id:
				num[pg_ulltoa_n(DatumGetUInt64(v), num)] = '\0';
				field(&buf, num, strlen(num));
				break;
			case Anum_audit_statement_time:
				pg_lltoa(DatumGetTimestampTz(v) +
						 (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) *
						 USECS_PER_DAY, num);
				field(&buf, num, strlen(num));
				break;
			case Anum_audit_row_keys:
				array_field(&buf, v, TEXTOID);
				break;
			case Anum_audit_row_digests:
				array_field(&buf, v, BYTEAOID);
				break;
			case Anum_audit_old_values:
			case Anum_audit_new_values:
				{
					Jsonb	   *j = DatumGetJsonbP(v);
					char	   *s = JsonbToCString(NULL, &j->root,
												   VARSIZE(j));

					field(&buf, s, strlen(s));
					pfree(s);
				}
				break;
			default:
				{
					/* text and bytea */
					struct varlena *p = (struct varlena *) DatumGetPointer(v);
					struct varlena *d = pg_detoast_datum_packed(p);

					field(&buf, VARDATA_ANY(d), VARSIZE_ANY_EXHDR(d));
					if (d != p)
						pfree(d);
				}
				break;
		}
	}
	audit_sha256(buf.data, buf.len, out);
}

/*
 * How long, in microseconds, a committer polls for a lane of a firm's chain
 * before it queues for it.  Another writer of the firm holds the lock only
 * for its last steps of commit, a few tens of microseconds; queueing puts
 * the waiter to sleep, and the holder then wakes it with a signal at
 * release, which on the benchmark machine cost more CPU than the whole
 * flush.  Polling a little first lets the common case get by without
 * either; a longer wait (a prepared transaction, a bulk commit) still
 * queues, so lock order and the deadlock detector work as usual.
 */
#define AUDIT_LOCK_POLL_USEC	200

static void
firm_lock_tag(LOCKTAG *tag, int64 firm, int class)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) ((uint64) firm >> 32),
						 (uint32) firm, class);
}

/* Take lane LANE of FIRM's chain if no one holds it; true if taken. */
static bool
try_lock_lane(int64 firm, int lane)
{
	LOCKTAG		tag;

	firm_lock_tag(&tag, firm, AUDIT_LOCK_CLASS + lane);
	return LockAcquire(&tag, ExclusiveLock, false, true) !=
		LOCKACQUIRE_NOT_AVAIL;
}

/* Take lane LANE of FIRM's chain, waiting for it as long as it takes. */
static void
lock_lane(int64 firm, int lane)
{
	LOCKTAG		tag;
	instr_time	start;
	instr_time	now;
	int			i;

	firm_lock_tag(&tag, firm, AUDIT_LOCK_CLASS + lane);
	if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
		return;
	INSTR_TIME_SET_CURRENT(start);
	for (;;)
	{
		for (i = 0; i < 64; i++)
			pg_spin_delay();
		if (LockAcquire(&tag, ExclusiveLock, false, true) !=
			LOCKACQUIRE_NOT_AVAIL)
			return;
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		if (INSTR_TIME_GET_MICROSEC(now) >= AUDIT_LOCK_POLL_USEC)
			break;
	}
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * take_lane: lock a lane of FIRM's chain for this committer and return it.
 *
 * First choice is the lowest lane that no one holds and whose last writer
 * has finished committing, so that we wait for no one; then any lane no
 * one holds (we will wait for its last writer's commit to end); when every
 * lane is held, we queue for one, spread over the lanes by process.  One
 * committer at a time, and a single session always, writes lane 0.
 */
static int
take_lane(int64 firm)
{
	int			nlanes = audit_lanes_usable(firm);
	int			lane;

	for (lane = 0; lane < nlanes; lane++)
		if (!audit_lane_committing(firm, lane) && try_lock_lane(firm, lane))
			return lane;
	for (lane = 0; lane < nlanes; lane++)
		if (try_lock_lane(firm, lane))
			return lane;
	lane = MyProcPid % nlanes;
	lock_lane(firm, lane);
	return lane;
}

/*
 * The lane tails this backend wrote and saw commit, per firm, so that the
 * next transaction of the same firm finds its lane's tail with a short
 * forward probe instead of reading the index backwards.  The cache is only
 * a hint: the probe still finds every record written since by anyone.  It
 * belongs to one audit_log (relation and file), and is dropped if that
 * changes.
 */
typedef struct ChainTail
{
	int64		firm_id;		/* hash key */
	int			lane;
	int64		seq;			/* 0: no tail known, only the floor */
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	bool		floor_known;	/* other_lanes_floor, once read */
	int64		floor;
} ChainTail;

static HTAB *known_tails = NULL;
static Oid	known_tails_rel = InvalidOid;
static Oid	known_tails_file = InvalidOid;

/* Tails written by the transaction now committing, kept at commit. */
static ChainTail *pending_tails = NULL;
static int	npending_tails = 0;

/*
 * Test hooks, for the isolation specs that must hold a committer between
 * writing its audit records and finishing its commit, or make it fail
 * there, as a cancel or a failing later commit step would.  Superuser
 * only; both are off unless a test sets them.
 */
static int	test_pause_after_audit_write = 0;
static bool test_fail_after_audit_write = false;

static void
run_test_hooks(void)
{
	if (test_pause_after_audit_write != 0)
	{
		LOCKTAG		tag;

		/* the key of pg_advisory_lock(int8), taken shared and let go */
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, 0,
							 (uint32) test_pause_after_audit_write, 1);
		(void) LockAcquire(&tag, ShareLock, false, false);
		(void) LockRelease(&tag, ShareLock, false);
	}
	if (test_fail_after_audit_write)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("billing.test_fail_after_audit_write is set: the commit fails after the audit records were written")));
}

/* Whether the firms' lanes were given back before commit. */
static bool chains_released = false;

/*
 * Whether this transaction wrote records before its commit because its
 * buffer grew past billing.audit_buffer_limit: it then keeps the chains it
 * took until it ends, and continues each from where it left it.
 */
static bool chains_held = false;

/*
 * The firms' lanes this transaction took, and its transaction id: at commit
 * their shared lane ends are marked committed, and if the transaction
 * fails instead they are dropped (audit_ends.c).
 */
typedef struct TouchedLane
{
	int64		firm_id;
	int			lane;
	int64		first;			/* the seqs it took last, first to end - 1 */
	int64		end;
} TouchedLane;

static TouchedLane *touched_firms = NULL;
static int	ntouched_firms = 0;
static TransactionId flush_xid = InvalidTransactionId;

static void
touch_firm(int64 firm, int lane)
{
	MemoryContext old = MemoryContextSwitchTo(TopTransactionContext);

	if (touched_firms == NULL)
		touched_firms = palloc(sizeof(TouchedLane) * 8);
	else if (ntouched_firms % 8 == 0)
		touched_firms = repalloc(touched_firms,
								 sizeof(TouchedLane) * (ntouched_firms + 8));
	MemoryContextSwitchTo(old);
	touched_firms[ntouched_firms].firm_id = firm;
	touched_firms[ntouched_firms].lane = lane;
	touched_firms[ntouched_firms].first = 0;
	touched_firms[ntouched_firms].end = 0;
	ntouched_firms++;
}

/* FIRM's seqs FIRST to END - 1 were taken by this transaction, last. */
static void
touched_seqs(int64 firm, int64 first, int64 end)
{
	int			i;

	for (i = 0; i < ntouched_firms; i++)
		if (touched_firms[i].firm_id == firm)
		{
			touched_firms[i].first = first;
			touched_firms[i].end = end;
		}
}

/* At the end of the transaction: tell the shared lane ends how it went. */
static void
settle_touched_firms(bool committed)
{
	int			i;

	for (i = 0; i < ntouched_firms; i++)
	{
		if (committed)
			audit_ends_committed(touched_firms[i].firm_id,
								 touched_firms[i].lane, flush_xid);
		else
			audit_ends_forget(touched_firms[i].firm_id,
							  touched_firms[i].lane, touched_firms[i].first,
							  touched_firms[i].end);
	}
	touched_firms = NULL;
	ntouched_firms = 0;
	flush_xid = InvalidTransactionId;
}

/*
 * A writer whose records ours follow in a firm's chain and that had not
 * finished committing when we read the chain's tail.
 */
typedef struct Predecessor
{
	TransactionId xid;
	int			proc;			/* its backend's PGPROC number, or -1 */
	int64		firm_id;
	int			lane;
} Predecessor;

/* FIRM's entry of known_tails, made if CREATE; for the log REL. */
static ChainTail *
known_tail(Relation rel, int64 firm, bool create)
{
	ChainTail  *t;
	bool		found;

	if (known_tails == NULL ||
		known_tails_rel != RelationGetRelid(rel) ||
		known_tails_file != rel->rd_rel->relfilenode)
	{
		HASHCTL		ctl;

		if (known_tails != NULL)
			hash_destroy(known_tails);
		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(ChainTail);
		ctl.hcxt = TopMemoryContext;
		known_tails = hash_create("billing audit chain tails", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		known_tails_rel = RelationGetRelid(rel);
		known_tails_file = rel->rd_rel->relfilenode;
	}
	t = hash_search(known_tails, &firm, create ? HASH_ENTER : HASH_FIND,
					&found);
	if (create && !found)
	{
		t->seq = 0;
		t->floor_known = false;
	}
	return t;
}

/*
 * The tail this transaction left its lane of a firm's chain at in an
 * earlier write of its own, or NULL: that lane is still ours, locked, and
 * goes on from there without waiting for anyone.
 */
static ChainTail *
own_tail(int64 firm)
{
	int			i;

	for (i = 0; i < npending_tails; i++)
		if (pending_tails[i].firm_id == firm)
			return &pending_tails[i];
	return NULL;
}

/* Give the firms' lanes back, before commit. */
static void
release_chains(void)
{
	int			i;

	for (i = 0; i < npending_tails; i++)
	{
		LOCKTAG		tag;

		firm_lock_tag(&tag, pending_tails[i].firm_id,
					  AUDIT_LOCK_CLASS + pending_tails[i].lane);
		(void) LockRelease(&tag, ExclusiveLock, false);
	}
	chains_released = true;
}

/*
 * At commit: remember the tails written, and release the firms' chain
 * locks when this transaction kept them until its commit (serializable);
 * releasing here rather than with the transaction's other locks shortens
 * the time one firm's committers queue behind each other.
 */
static void
keep_pending_tails(void)
{
	int			i;

	if (!chains_released)
		release_chains();
	for (i = 0; known_tails != NULL && i < npending_tails; i++)
	{
		bool		found;
		ChainTail  *t = hash_search(known_tails, &pending_tails[i].firm_id,
									HASH_ENTER, &found);

		if (!found)
			t->floor_known = false;

		t->lane = pending_tails[i].lane;
		t->seq = pending_tails[i].seq;
		memcpy(t->hash, pending_tails[i].hash, PG_SHA256_DIGEST_LENGTH);
	}
	pending_tails = NULL;
	npending_tails = 0;
	chains_released = false;
}

/*
 * How long, in microseconds, a committer polls for a predecessor to finish
 * committing before it sleeps on the predecessor's transaction lock.
 */
#define AUDIT_PREDECESSOR_POLL_USEC	50

/*
 * Wait until a predecessor has finished, and fail if it did not commit: our
 * records follow its records, which are then gone, so they would break the
 * chain.  This only happens when a transaction fails after its audit
 * records were written (a later commit step, a cancel during it).
 */
static void
await_predecessor(Predecessor *p)
{
	instr_time	start;
	instr_time	now;
	int			i;

	INSTR_TIME_SET_CURRENT(start);
	while (audit_writer_running(p->xid, p->proc))
	{
		for (i = 0; i < 32; i++)
			pg_spin_delay();
		INSTR_TIME_SET_CURRENT(now);
		INSTR_TIME_SUBTRACT(now, start);
		if (INSTR_TIME_GET_MICROSEC(now) >= AUDIT_PREDECESSOR_POLL_USEC)
		{
			XactLockTableWait(p->xid, NULL, NULL, XLTW_None);
			break;
		}
	}
	if (!TransactionIdDidCommit(p->xid))
		ereport(ERROR,
				(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
				 errmsg("could not commit: this transaction's audit records follow those of a transaction that failed while it committed"),
				 errdetail("In lane %d of the audit chain of firm %lld, they follow the records of transaction %u, which were rolled back; they would break the chain.",
						   p->lane, (long long) p->firm_id, p->xid),
				 errhint("Retry the transaction.")));
}

/*
 * The last record of a lane of a firm's chain: its seq (0 when the lane is
 * empty) and hash.  A dirty snapshot sees every committed record whatever
 * our own snapshot is, and the records of a writer still committing, whose
 * transaction is then put in *writer; no other writer of the lane is in
 * progress, since we hold the lane.  With a known tail, only records after
 * it are read.
 */
static int64
read_tail(Relation rel, Relation index, int64 firm, int lane, uint8 *hash,
		  TransactionId *writer)
{
	SnapshotData dirty;
	ScanKeyData key[3];
	IndexScanDesc scan;
	TupleTableSlot *slot = table_slot_create(rel, NULL);
	ChainTail  *known = known_tail(rel, firm, false);
	ScanDirection dir;
	int64		seq = 0;

	if (known != NULL && (known->lane != lane || known->seq == 0))
		known = NULL;
	dir = known ? ForwardScanDirection : BackwardScanDirection;
	if (known)
	{
		seq = known->seq;
		memcpy(hash, known->hash, PG_SHA256_DIGEST_LENGTH);
	}
	InitDirtySnapshot(dirty);
	ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(firm));
	ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT2EQ,
				Int16GetDatum(lane));
	ScanKeyInit(&key[2], 3, BTGreaterStrategyNumber, F_INT8GT,
				Int64GetDatum(seq));
	scan = index_beginscan(rel, index, &dirty,
#if PG_VERSION_NUM >= 180000
						   NULL,
#endif
						   known ? 3 : 2, 0);
	index_rescan(scan, key, known ? 3 : 2, NULL, 0);
	*writer = InvalidTransactionId;
	while (index_getnext_slot(scan, dir, slot))
	{
		bytea	   *h;

		/* set by the dirty snapshot when the writer is still in progress */
		*writer = dirty.xmin;

		slot_getallattrs(slot);
		seq = DatumGetInt64(slot->tts_values[Anum_audit_seq - 1]);
		h = DatumGetByteaPP(slot->tts_values[Anum_audit_hash - 1]);
		if (VARSIZE_ANY_EXHDR(h) != PG_SHA256_DIGEST_LENGTH)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("audit record %lld of firm %lld has a malformed hash",
							(long long) seq, (long long) firm),
					 errhint("Run billing.verify_audit(%lld) to see what was altered.",
							 (long long) firm)));
		memcpy(hash, VARDATA_ANY(h), PG_SHA256_DIGEST_LENGTH);
		if (dir == BackwardScanDirection)
			break;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return seq;
}

/*
 * The highest seq of FIRM in lanes FROM to AUDIT_MAX_LANES - 1, committed or
 * still being committed (0 if none): the end of each lane.
 */
static int64
last_seq_of_lanes(Relation rel, Relation index, int64 firm, int from)
{
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
	TransactionId writer;
	int64		last = 0;
	int			lane;

	for (lane = from; lane < AUDIT_MAX_LANES; lane++)
		last = Max(last, read_tail(rel, index, firm, lane, hash, &writer));
	return last;
}

/*
 * Without shared memory every firm is written in lane 0 only, but its log
 * may hold records of other lanes, written while billing was preloaded:
 * their highest seq, read once per backend, firm and log (kept with the
 * firm's known tail), is the floor of the firm's next seq.  No one writes
 * those lanes meanwhile.
 */
static int64
other_lanes_floor(Relation rel, Relation index, int64 firm)
{
	ChainTail  *t = known_tail(rel, firm, true);

	if (!t->floor_known)
	{
		t->floor = last_seq_of_lanes(rel, index, firm, 1);
		t->floor_known = true;
	}
	return t->floor;
}

/*
 * take_seqs: N seqs of FIRM for the holder of its lane LANE, whose last
 * record is LANE_TAIL; returns the first.  With shared memory they come
 * from the firm's counter, which is read from the log under the firm's
 * initializing lock the first time (and after a writer of the firm
 * failed); without it the one holder of lane 0 goes on after the firm's
 * last record.
 */
static int64
take_seqs(Relation rel, Relation index, int64 firm, int lane,
		  int64 lane_tail, int64 n)
{
	Oid			file = rel->rd_rel->relfilenode;
	int64		first;
	LOCKTAG		tag;

	if (audit_ends_reserve(file, firm, n, &first))
		return first;
	if (!audit_ends_kept(firm))
	{
		Assert(lane == 0);
		return Max(lane_tail, other_lanes_floor(rel, index, firm)) + 1;
	}

	firm_lock_tag(&tag, firm, AUDIT_INIT_CLASS);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	if (!audit_ends_reserve(file, firm, n, &first))
	{
		audit_ends_set_next(file, firm,
							last_seq_of_lanes(rel, index, firm, 0) + 1);
		if (!audit_ends_reserve(file, firm, n, &first))
			elog(ERROR, "could not reserve audit seqs for firm %lld",
				 (long long) firm);
	}
	(void) LockRelease(&tag, ExclusiveLock, false);
	return first;
}

/* Resolving names and staff members once per distinct value. */
typedef struct FlushState
{
	AuditWho   *who;			/* the who the names below are for */
	Datum		session_user_name;
	Datum		current_role_name;
	char	   *current_role;
	int64		staff_firm;		/* the firm staff_id below was found for */
	AuditWho   *staff_who;
	bool		staff_isnull;
	int64		staff_id;
	const char *table_name;		/* the table the datum below is for */
	Datum		table_name_datum;
	AuditWho   *texts_who;		/* the who the datums below are for */
	Datum		application_name;
	Datum		reason_code;
	Datum		reason;
} FlushState;

/* INSERT, UPDATE, DELETE and TRUNCATE as text values, made once. */
static Datum operation_names[4];

/*
 * Role names as text values, kept across transactions: a session acts as
 * one or two roles, and looking each up and copying it at every commit
 * was a measurable part of a one-row commit.  A change to pg_authid (a
 * rename) marks them stale; they are dropped at the start of the next
 * flush, never during one, since the records being written point at them.
 * Roles beyond the first few are looked up at each flush.
 */
#define ROLE_NAMES_KEPT 4
static struct
{
	Oid			role;
	char	   *name;
	Datum		datum;
}			role_names[ROLE_NAMES_KEPT];
static int	nrole_names = 0;
static bool role_names_stale = false;

static void
role_names_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	role_names_stale = true;
}

/* At the start of a flush: drop the kept names if a role changed. */
static void
role_names_check(void)
{
	int			i;

	if (!role_names_stale)
		return;
	for (i = 0; i < nrole_names; i++)
	{
		pfree(role_names[i].name);
		pfree(DatumGetPointer(role_names[i].datum));
	}
	nrole_names = 0;
	role_names_stale = false;
}

static Datum
role_name_datum(Oid role, char **name)
{
	int			i;
	char	   *n;
	MemoryContext old;

	for (i = 0; i < nrole_names; i++)
		if (role_names[i].role == role)
		{
			*name = role_names[i].name;
			return role_names[i].datum;
		}
	n = GetUserNameFromId(role, true);
	if (n == NULL)
		n = psprintf("%u", role);
	if (nrole_names == ROLE_NAMES_KEPT)
	{
		*name = n;
		return CStringGetTextDatum(n);
	}
	old = MemoryContextSwitchTo(TopMemoryContext);
	i = nrole_names++;
	role_names[i].role = role;
	role_names[i].name = pstrdup(n);
	role_names[i].datum = CStringGetTextDatum(n);
	MemoryContextSwitchTo(old);
	*name = role_names[i].name;
	return role_names[i].datum;
}

/*
 * The staff member found for a firm and a role, kept across transactions:
 * most backends act for one person, and the lookup opens billing.staff and
 * its index, which cost more than the rest of a one-row flush.  Valid while
 * the workflow cache's generation stays the same: the statement trigger on
 * billing.staff drops that cache whenever staff change (workflow_cache.c).
 */
static struct
{
	bool		valid;
	uint64		generation;
	int64		firm;
	Oid			role;
	bool		isnull;
	int64		staff_id;
}			last_staff;

/* The staff member of FIRM whose role_name is ROLE (named NAME), if any. */
static void
find_staff_by_role(int64 firm, Oid role, const char *name, bool *isnull,
				   int64 *staff_id)
{
	uint64		generation = workflow_cache_generation();
	WorkflowGlobals *g;
	Relation	staff;
	Relation	index;
	ScanKeyData keys[2];
	NameData	role_name;
	IndexScanDesc scan;
	TupleTableSlot *slot;

	if (last_staff.valid && last_staff.generation == generation &&
		last_staff.firm == firm && last_staff.role == role)
	{
		*isnull = last_staff.isnull;
		*staff_id = last_staff.staff_id;
		return;
	}
	g = workflow_globals();
	*isnull = true;
	*staff_id = 0;
	staff = table_open(g->staff_relid, AccessShareLock);
	index = index_open(g->staff_role_key, AccessShareLock);
	slot = table_slot_create(staff, NULL);
	namestrcpy(&role_name, name);
	ScanKeyInit(&keys[0], 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(firm));
	ScanKeyInit(&keys[1], 2, BTEqualStrategyNumber, F_NAMEEQ,
				NameGetDatum(&role_name));
	scan = index_beginscan(staff, index, GetActiveSnapshot(),
#if PG_VERSION_NUM >= 180000
						   NULL,
#endif
						   2, 0);
	index_rescan(scan, keys, 2, NULL, 0);
	if (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		Datum		d = slot_getattr(slot, g->staff_staff_id, isnull);

		if (!*isnull)
			*staff_id = DatumGetInt64(d);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	index_close(index, AccessShareLock);
	table_close(staff, AccessShareLock);

	last_staff.valid = true;
	last_staff.generation = generation;
	last_staff.firm = firm;
	last_staff.role = role;
	last_staff.isnull = *isnull;
	last_staff.staff_id = *staff_id;
}

static void
resolve_who(FlushState *fs, AuditWho *who, int64 firm)
{
	if (fs->who != who)
	{
		char	   *ignored;

		fs->session_user_name = role_name_datum(who->session_user, &ignored);
		fs->current_role_name = role_name_datum(who->current_user,
												&fs->current_role);
		fs->who = who;
	}
	if (fs->staff_who == who && fs->staff_firm == firm)
		return;
	fs->staff_who = who;
	fs->staff_firm = firm;
	if (who->staff_setting != NULL)
	{
		fs->staff_isnull = false;
		fs->staff_id = strtoll(who->staff_setting, NULL, 10);
		return;
	}

	/* The staff member whose role_name is the current role, in the firm. */
	find_staff_by_role(firm, who->current_user, fs->current_role,
					   &fs->staff_isnull, &fs->staff_id);
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL);
	return s == NULL ? (Datum) 0 : CStringGetTextDatum(s);
}

static const char *
operation_name(char op)
{
	switch (op)
	{
		case 'I':
			return "INSERT";
		case 'U':
			return "UPDATE";
		case 'T':
			return "TRUNCATE";
		default:
			return "DELETE";
	}
}

static int
record_order(const void *a, const void *b)
{
	const AuditRecord *x = *(AuditRecord *const *) a;
	const AuditRecord *y = *(AuditRecord *const *) b;

	if (x->firm_id != y->firm_id)
		return x->firm_id < y->firm_id ? -1 : 1;
	return x < y ? -1 : (x > y ? 1 : 0);
}

/* A digest as a bytea value. */
static bytea *
digest_bytea(const uint8 *digest)
{
	bytea	   *d = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

	SET_VARSIZE(d, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
	memcpy(VARDATA(d), digest, PG_SHA256_DIGEST_LENGTH);
	return d;
}

/*
 * insert_run_end: where the record that starts at order[from] ends.
 *
 * An INSERT takes the INSERTs after it into the same record while they are
 * of the same firm and table, were captured with the same who and why (the
 * same AuditWho: capture shares one while nothing in it changes), and the
 * record stays within AUDIT_ROWS_PER_RECORD rows and
 * AUDIT_KEY_BYTES_PER_RECORD key bytes.  Any other change is a record of
 * its own.
 */
static int64
insert_run_end(AuditRecord **order, int64 from, int64 n)
{
	AuditRecord *first = order[from];
	Size		key_bytes;
	int64		end;

	if (first->operation != 'I' || !first->has_digest)
		return from + 1;
	key_bytes = first->row_key ? VARSIZE_ANY(first->row_key) : 0;
	for (end = from + 1; end < n && end - from < AUDIT_ROWS_PER_RECORD; end++)
	{
		AuditRecord *r = order[end];

		if (r->operation != 'I' || !r->has_digest ||
			r->firm_id != first->firm_id || r->who != first->who ||
			(r->table_name != first->table_name &&
			 strcmp(r->table_name, first->table_name) != 0))
			break;
		key_bytes += r->row_key ? VARSIZE_ANY(r->row_key) : 0;
		if (key_bytes > AUDIT_KEY_BYTES_PER_RECORD)
			break;
	}
	return end;
}

/* The row keys of order[from] to order[to - 1], as a text[] value. */
static Datum
run_keys(AuditRecord **order, int64 from, int64 to)
{
	int			n = (int) (to - from);
	Datum	   *keys = palloc(n * sizeof(Datum));
	bool	   *nulls = palloc(n * sizeof(bool));
	int			dims[1] = {n};
	int			lbs[1] = {1};
	int			k;

	for (k = 0; k < n; k++)
	{
		text	   *key = order[from + k]->row_key;

		nulls[k] = (key == NULL);
		keys[k] = PointerGetDatum(key);
	}
	return PointerGetDatum(construct_md_array(keys, nulls, 1, dims, lbs,
											  TEXTOID, -1, false,
											  TYPALIGN_INT));
}

/*
 * The row digests of order[from] to order[to - 1], as a bytea[] value,
 * built in place: each element is a 4-byte header and 32 bytes, already
 * int-aligned, so the array is one allocation and one copy per digest.
 */
static Datum
run_digests(AuditRecord **order, int64 from, int64 to)
{
	int			n = (int) (to - from);
	int			elem = VARHDRSZ + PG_SHA256_DIGEST_LENGTH;
	Size		size = ARR_OVERHEAD_NONULLS(1) + (Size) n * elem;
	ArrayType  *a = palloc0(size);
	char	   *p;
	int			k;

	SET_VARSIZE(a, size);
	a->ndim = 1;
	a->dataoffset = 0;
	a->elemtype = BYTEAOID;
	*ARR_DIMS(a) = n;
	*ARR_LBOUND(a) = 1;
	p = ARR_DATA_PTR(a);
	for (k = 0; k < n; k++, p += elem)
	{
		SET_VARSIZE(p, elem);
		memcpy(VARDATA(p), order[from + k]->row_digest,
			   PG_SHA256_DIGEST_LENGTH);
	}
	return PointerGetDatum(a);
}

/*
 * write_buffer: seal the buffered records into their firms' chains and
 * write them to billing.audit_log.  With hold, each firm's lane is
 * kept until the transaction ends; without, it is let go once the records
 * are written.  A chain this transaction already extends (an early write)
 * goes on from where it left it.  Returns only once every transaction
 * whose records ours follow has committed, and raises 40001 if one did
 * not.  Does nothing when the buffer is empty.
 */
static void
write_buffer(bool hold, bool at_commit)
{
	Predecessor *predecessors = NULL;
	int			npredecessors = 0;
	TransactionId writer;
	int			writer_proc;
	Relation	rel;
	Relation	index;
	Oid			save_user;
	int			save_sec;
	AuditRecord **order;
	int64		n = audit_nrecords;
	int64		i;
	int64		start;
	int64		next;
	bool		sorted = true;
	AuditWriter writer_state;
	MemoryContext batch_cxt;
	MemoryContext old;
	FlushState	fs;
	Datum		xid;
	bool		ignored;

	if (n == 0)
		return;

	rel = table_open(audit_log_relid(), RowExclusiveLock);
	audit_check_log_layout(rel);
	index = index_open(RelationGetPrimaryKeyIndex(rel
#if PG_VERSION_NUM >= 170000
												  ,false
#endif
						   ), RowExclusiveLock);

	/* Write as the log's owner, whatever role the transaction runs as. */
	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(rel->rd_rel->relowner,
						   save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PushActiveSnapshot(GetLatestSnapshot());

	/* Firm order, then capture order within a firm. */
	order = MemoryContextAllocHuge(CurrentMemoryContext,
								   n * sizeof(AuditRecord *));
	for (i = 0; i < n; i++)
	{
		order[i] = &audit_records[i];
		if (i > 0 && audit_records[i].firm_id < audit_records[i - 1].firm_id)
			sorted = false;
	}
	if (!sorted)
		qsort(order, n, sizeof(AuditRecord *), record_order);

	role_names_check();
	audit_writer_open(&writer_state, rel, index, n);
	batch_cxt = audit_writer_context();
	memset(&fs, 0, sizeof(fs));
	if (operation_names[0] == (Datum) 0)
	{
		old = MemoryContextSwitchTo(TopMemoryContext);
		operation_names[0] = CStringGetTextDatum(operation_name('I'));
		operation_names[1] = CStringGetTextDatum(operation_name('U'));
		operation_names[2] = CStringGetTextDatum(operation_name('D'));
		operation_names[3] = CStringGetTextDatum(operation_name('T'));
		MemoryContextSwitchTo(old);
	}
	xid = FullTransactionIdGetDatum(GetTopFullTransactionId());
	flush_xid = GetTopTransactionId();

	for (start = 0; start < n;)
	{
		int64		firm = order[start]->firm_id;
		int			lane;
		int64		lane_tail;
		int64		seq;
		int64		nfirm = 0;
		uint8		prev[PG_SHA256_DIGEST_LENGTH];
		bool		has_prev;
		ChainTail  *own = own_tail(firm);

		/*
		 * Find who made the firm's first record before queueing for its
		 * chain: the staff member lookup opens billing.staff and probes it,
		 * which the firm's other committers need not wait for.
		 */
		resolve_who(&fs, order[start]->who, firm);
		writer = InvalidTransactionId;
		if (own != NULL)
		{
			/* ours since an early write: locked, and no one wrote since */
			lane = own->lane;
			lane_tail = own->seq;
			memcpy(prev, own->hash, PG_SHA256_DIGEST_LENGTH);
		}
		else
		{
			lane = take_lane(firm);
			touch_firm(firm, lane);
			writer_proc = -1;
			if (!audit_ends_get(rel->rd_rel->relfilenode, firm, lane,
								&lane_tail, prev, &writer, &writer_proc))
				lane_tail = read_tail(rel, index, firm, lane, prev, &writer);
		}
		if (TransactionIdIsValid(writer))
		{
			if (npredecessors == 0)
				predecessors = palloc(sizeof(Predecessor) * 8);
			else if (npredecessors % 8 == 0)
				predecessors = repalloc(predecessors, sizeof(Predecessor) *
										(npredecessors + 8));
			predecessors[npredecessors].xid = writer;
			predecessors[npredecessors].proc = writer_proc;
			predecessors[npredecessors].firm_id = firm;
			predecessors[npredecessors].lane = lane;
			npredecessors++;
		}
		has_prev = (lane_tail > 0);

		/* the firm's records are its seqs: one run of them for us */
		for (i = start; i < n && order[i]->firm_id == firm; i = next)
		{
			next = insert_run_end(order, i, n);
			nfirm++;
		}
		seq = take_seqs(rel, index, firm, lane, lane_tail, nfirm) - 1;
		touched_seqs(firm, seq + 1, seq + 1 + nfirm);

		for (i = start; i < n && order[i]->firm_id == firm; i = next)
		{
			AuditRecord *r = order[i];
			Datum	   *v;
			bool	   *nul;
			bytea	   *h;
			Size		extra = 0;

			next = insert_run_end(order, i, n);
			resolve_who(&fs, r->who, firm);
			v = audit_writer_next(&writer_state, &nul);

			old = MemoryContextSwitchTo(batch_cxt);
			v[Anum_audit_firm_id - 1] = Int64GetDatum(firm);
			v[Anum_audit_seq - 1] = Int64GetDatum(++seq);
			v[Anum_audit_lane - 1] = Int16GetDatum((int16) lane);
			/* kept across batches, so made outside batch_cxt */
			if (fs.table_name != r->table_name)
			{
				MemoryContextSwitchTo(old);
				fs.table_name = r->table_name;
				fs.table_name_datum = CStringGetTextDatum(r->table_name);
				MemoryContextSwitchTo(batch_cxt);
			}
			v[Anum_audit_table_name - 1] = fs.table_name_datum;
			v[Anum_audit_operation - 1] =
				operation_names[r->operation == 'I' ? 0 :
							  r->operation == 'U' ? 1 :
							  r->operation == 'D' ? 2 : 3];
			if (next - i > 1)
			{
				/* several rows: their keys and digests, in capture order */
				nul[Anum_audit_row_key - 1] = true;
				nul[Anum_audit_row_digest - 1] = true;
				v[Anum_audit_row_keys - 1] = run_keys(order, i, next);
				v[Anum_audit_row_digests - 1] = run_digests(order, i, next);
				extra = (next - i) * (VARHDRSZ + 2 * PG_SHA256_DIGEST_LENGTH);
			}
			else
			{
				v[Anum_audit_row_key - 1] = PointerGetDatum(r->row_key);
				nul[Anum_audit_row_key - 1] = (r->row_key == NULL);
				if (r->has_digest)
					v[Anum_audit_row_digest - 1] =
						PointerGetDatum(digest_bytea(r->row_digest));
				else
					nul[Anum_audit_row_digest - 1] = true;
				nul[Anum_audit_row_keys - 1] = true;
				nul[Anum_audit_row_digests - 1] = true;
			}
			v[Anum_audit_old_values - 1] = PointerGetDatum(r->old_values);
			nul[Anum_audit_old_values - 1] = (r->old_values == NULL);
			v[Anum_audit_new_values - 1] = PointerGetDatum(r->new_values);
			nul[Anum_audit_new_values - 1] = (r->new_values == NULL);
			v[Anum_audit_transaction_id - 1] = xid;
			v[Anum_audit_statement_time - 1] =
				TimestampTzGetDatum(r->who->statement_time);
			v[Anum_audit_session_user_name - 1] = fs.session_user_name;
			v[Anum_audit_current_role_name - 1] = fs.current_role_name;
			v[Anum_audit_staff_id - 1] = Int64GetDatum(fs.staff_id);
			nul[Anum_audit_staff_id - 1] = fs.staff_isnull;
			if (fs.texts_who != r->who)
			{
				MemoryContextSwitchTo(old);
				fs.texts_who = r->who;
				fs.application_name = text_or_null(r->who->application_name,
												   &ignored);
				fs.reason_code = text_or_null(r->who->reason_code, &ignored);
				fs.reason = text_or_null(r->who->reason, &ignored);
				MemoryContextSwitchTo(batch_cxt);
			}
			v[Anum_audit_application_name - 1] = fs.application_name;
			nul[Anum_audit_application_name - 1] =
				(r->who->application_name == NULL);
			v[Anum_audit_reason_code - 1] = fs.reason_code;
			nul[Anum_audit_reason_code - 1] = (r->who->reason_code == NULL);
			v[Anum_audit_reason - 1] = fs.reason;
			nul[Anum_audit_reason - 1] = (r->who->reason == NULL);
			if (has_prev)
				v[Anum_audit_prev_hash - 1] =
					PointerGetDatum(digest_bytea(prev));
			else
				nul[Anum_audit_prev_hash - 1] = true;

			h = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
			SET_VARSIZE(h, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
			audit_hash_values(RelationGetDescr(rel), v, nul,
							  (uint8 *) VARDATA(h));
			v[Anum_audit_hash - 1] = PointerGetDatum(h);
			memcpy(prev, VARDATA(h), PG_SHA256_DIGEST_LENGTH);
			has_prev = true;
			MemoryContextSwitchTo(old);

			audit_writer_add(&writer_state, extra);
		}
		/* the lane now ends here, for the next holder of its lock */
		audit_ends_put(rel->rd_rel->relfilenode, firm, lane, seq, prev,
					   flush_xid);
		/* remember this firm's new tail, to keep if the commit succeeds */
		if (own != NULL)
		{
			own->seq = seq;
			memcpy(own->hash, prev, PG_SHA256_DIGEST_LENGTH);
		}
		else
		{
			ChainTail  *t;

			old = MemoryContextSwitchTo(TopTransactionContext);
			if (pending_tails == NULL)
				pending_tails = palloc(sizeof(ChainTail) * 8);
			else if (npending_tails % 8 == 0)
				pending_tails = repalloc(pending_tails, sizeof(ChainTail) *
										 (npending_tails + 8));
			MemoryContextSwitchTo(old);
			t = &pending_tails[npending_tails++];
			t->firm_id = firm;
			t->lane = lane;
			t->seq = seq;
			memcpy(t->hash, prev, PG_SHA256_DIGEST_LENGTH);
		}
		start = i;
	}
	audit_writer_close(&writer_state);
	PopActiveSnapshot();
	SetUserIdAndSecContext(save_user, save_sec);
	index_close(index, NoLock);
	table_close(rel, NoLock);
	pfree(order);

	/*
	 * Our records are in.  Unless we must keep the chains until commit,
	 * let the firms' next writers in now: they follow our records, and wait
	 * for our commit only at the end of their own writing.
	 */
	if (!hold)
		release_chains();
	if (at_commit)
		run_test_hooks();
	for (i = 0; i < npredecessors; i++)
		await_predecessor(&predecessors[i]);
}

/*
 * audit_chain_flush: write the transaction's buffer at its commit.
 *
 * Contract: called once, just before commit or prepare; writes every
 * buffered record into its firm's chain in billing.audit_log.  With hold,
 * or after an early write, each firm's lane is kept until the
 * transaction ends; otherwise it is let go once the records are written.
 * Either way, returns only once every transaction whose records ours
 * follow has committed, and raises 40001 if one did not.  Changes captured
 * after this are refused (audit_chain_flushed).
 */
void
audit_chain_flush(bool hold)
{
	audit_chain_flushed = true;
	write_buffer(hold || chains_held, true);
}

/*
 * audit_chain_write_early: write the buffer now, in the middle of the
 * transaction, because it grew past billing.audit_buffer_limit.
 *
 * Contract: called by the capture at the top transaction level only (so
 * that no savepoint can roll back records the chain goes on from), between
 * two captured changes; the caller then empties the buffer.  The firms'
 * chains written to stay locked until the transaction ends, so their other
 * writers wait for it at their commit, and later writes of this
 * transaction continue them.
 */
void
audit_chain_write_early(void)
{
	Assert(GetCurrentTransactionNestLevel() == 1);
	write_buffer(true, false);
	chains_held = true;
}

PG_FUNCTION_INFO_V1(billing_audit_log_guard);

/*
 * billing_audit_log_guard: refuses every write to billing.audit_log.
 *
 * Contract: fired BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE FOR EACH
 * STATEMENT on billing.audit_log, for every role including the owner;
 * always raises ZB301.  The audit trail's writer inserts at heap level
 * and never fires it; a restore loads the log with triggers off
 * (session_replication_role = replica), like every billing table.
 * Attached by src/sql/80-audit.sql:
 *
 *		CREATE TRIGGER audit_log_append_only
 *			BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.audit_log
 *			FOR EACH STATEMENT EXECUTE FUNCTION billing.audit_log_guard();
 */
Datum
billing_audit_log_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	const char *what;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function billing.audit_log_guard was not called by the trigger manager")));
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger %s must be fired BEFORE the statement",
						td->tg_trigger->tgname)));
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		what = "INSERT into";
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		what = "UPDATE of";
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		what = "DELETE from";
	else
		what = "TRUNCATE of";
	ereport(ERROR,
			(errcode(ERRCODE_BILLING_AUDIT_APPEND_ONLY),
			 errmsg("%s billing.%s is not allowed: the audit log is append-only",
					what, RelationGetRelationName(td->tg_relation)),
			 errdetail("Only the audit trail writes the audit log, when a transaction that changed audited data commits."),
			 errhint("Correct data with a new change; the log records it.")));
	return PointerGetDatum(NULL);
}

static void
audit_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
		case XACT_EVENT_PRE_PREPARE:
			audit_chain_flush(event == XACT_EVENT_PRE_PREPARE ||
							  IsolationIsSerializable());
			break;
		case XACT_EVENT_COMMIT:
			settle_touched_firms(true);
			keep_pending_tails();
			audit_capture_discard();
			audit_chain_flushed = false;
			chains_held = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			settle_touched_firms(false);
			pending_tails = NULL;
			npending_tails = 0;
			chains_released = false;
			chains_held = false;
			audit_capture_discard();
			audit_chain_flushed = false;
			break;
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_COMMIT:
			/* a prepared transaction's entries are settled by readers */
			touched_firms = NULL;
			ntouched_firms = 0;
			flush_xid = InvalidTransactionId;
			pending_tails = NULL;
			npending_tails = 0;
			chains_released = false;
			chains_held = false;
			audit_capture_discard();
			audit_chain_flushed = false;
			break;
		default:
			break;
	}
}

static void
audit_subxact_callback(SubXactEvent event, SubTransactionId subid,
					   SubTransactionId parent, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		audit_capture_abort_subxact(subid);
}

/*
 * billing_audit_init: registers the audit trail's transaction callbacks.
 *
 * Contract: called once per backend, from _PG_init.
 */
void
billing_audit_init(void)
{
	DefineCustomIntVariable("billing.test_pause_after_audit_write",
							"For tests: the advisory lock key a committer waits for after writing its audit records.",
							"0, the default, waits for nothing.",
							&test_pause_after_audit_write, 0, 0, INT_MAX,
							PGC_SUSET, GUC_NOT_IN_SAMPLE,
							NULL, NULL, NULL);
	DefineCustomBoolVariable("billing.test_fail_after_audit_write",
							 "For tests: the commit fails after the audit records were written.",
							 NULL, &test_fail_after_audit_write, false,
							 PGC_SUSET, GUC_NOT_IN_SAMPLE,
							 NULL, NULL, NULL);
	CacheRegisterRelcacheCallback(log_relid_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHOID, role_names_callback, (Datum) 0);
	audit_capture_init();
	audit_ends_init();
	RegisterXactCallback(audit_xact_callback, NULL);
	RegisterSubXactCallback(audit_subxact_callback, NULL);
}
