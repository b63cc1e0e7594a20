/*
 * audit_ends.c
 *		Where each lane of each firm's audit chain ends, and the firm's next
 *		seq, kept in shared memory when billing is in
 *		shared_preload_libraries.
 *
 * The writer holding a lane of a firm's chain must know the lane's last
 * record (its seq and hash), and needs seqs that no other lane's writer
 * takes.  Without this file it reads the lane's end from the log's primary
 * key and writes only lane 0, which then orders all of the firm's writers.
 * With it, the holder finds the lane's end here, takes its seqs from the
 * firm's counter here, and after writing its records puts the lane's new
 * end here, with its own transaction id.  A lane's end is only a faster way
 * to the answer the table gives:
 *
 * - a lane end whose writer rolled back names records that are gone: the
 *   next holder sees that the writer did not commit and reads the table;
 * - a writer clears its transaction id once it has committed, and a reader
 *   clears one that it finds committed (a prepared transaction committed
 *   from another session), so no transaction's status is looked up long
 *   after the fact;
 * - a transaction that fails after taking a lane drops the lane's end and
 *   has the firm's counter checked against the table before it is used
 *   again, so a log changed behind the trail's back (a superuser with
 *   triggers off), which makes that commit fail on the log's primary key,
 *   is read again from the table by the retry; the counter never goes
 *   back, since other lanes' writers may hold seqs below it;
 * - entries carry the database and the log's relfilenode, so a log that is
 *   truncated, rewritten or dropped and created again is read afresh; a
 *   server restart empties the whole table.
 *
 * A lane's end is read and written by the holder of the lane's lock, and
 * marked by its writer once that has committed, which can happen after the
 * next holder took the lock; the counter is taken from by every lane's
 * holder: a spinlock of the firm's entry orders all of these.
 * Entries are never removed (a dropped entry is marked so), so a backend
 * finds a firm's entry in the shared hash table once, under the table's
 * LWLock, and then goes to it directly.  One LWLock taken three times per
 * commit would make the committers of every firm of the server take turns
 * on it, which a chain per firm is there to avoid.  When the table is
 * full, the firms that do not fit are read from the log.
 *
 * Whether a writer is still committing is answered from its backend's
 * PGPROC entry (the transaction id the backend runs), without the
 * ProcArrayLock that TransactionIdIsInProgress takes: a committer polling
 * its predecessor's end must not hold up the very lock the predecessor
 * needs to end.  A writer that is neither running nor in the commit log as
 * committed rolled back.  A prepared transaction keeps its chains locked
 * until it ends, so no reader meets one that is still pending.
 */
#include "audit.h"

#include "access/transam.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

/* how many firms' chain ends the server keeps */
#define AUDIT_ENDS_SIZE		4096

#define AUDIT_ENDS_TRANCHE	"billing_audit_chain_ends"

#if PG_VERSION_NUM >= 170000
#define MyProcNumberOf()	GetNumberFromPGProc(MyProc)
#else
#define MyProcNumberOf()	(MyProc->pgprocno)
#endif

typedef struct ChainEndKey
{
	Oid			database;
	uint32		padding;		/* always 0, so the key hashes as bytes */
	int64		firm_id;
} ChainEndKey;

typedef struct LaneEnd
{
	bool		known;			/* false: read the lane's end from the log */
	TransactionId writer;		/* invalid once known to have committed */
	int			writer_proc;	/* the writer's backend (PGPROC number) */
	int64		seq;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
} LaneEnd;

typedef struct ChainEnd
{
	ChainEndKey key;
	slock_t		mutex;			/* protects what follows */
	Oid			relfilenode;	/* of billing.audit_log the rest is for */
	int64		next_seq;		/* the firm's next seq; 0: not known */
	bool		recheck;		/* a writer failed: check next_seq first */
	LaneEnd		lanes[AUDIT_MAX_LANES];
} ChainEnd;

static HTAB *chain_ends = NULL;
static LWLock *chain_ends_lock = NULL;

/* billing.audit_lanes: how many lanes a committer may seal into. */
static int	audit_lanes = AUDIT_MAX_LANES;

/* This backend's way to its database's entries: firm -> ChainEnd *. */
typedef struct EndPointer
{
	int64		firm_id;		/* hash key */
	ChainEnd   *end;			/* NULL: the shared table is full */
} EndPointer;

static HTAB *end_pointers = NULL;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static void
ends_request(void)
{
#if PG_VERSION_NUM >= 150000
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
#endif
	RequestAddinShmemSpace(hash_estimate_size(AUDIT_ENDS_SIZE,
											  sizeof(ChainEnd)));
	RequestNamedLWLockTranche(AUDIT_ENDS_TRANCHE, 1);
}

static void
ends_startup(void)
{
	HASHCTL		info;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	chain_ends_lock = &(GetNamedLWLockTranche(AUDIT_ENDS_TRANCHE))->lock;
	info.keysize = sizeof(ChainEndKey);
	info.entrysize = sizeof(ChainEnd);
	/*
	 * A hard limit: without HASH_FIXED_SIZE a full table would take its
	 * further entries from the shared memory left over, which the lock
	 * manager's tables count on.
	 */
	chain_ends = ShmemInitHash("billing audit chain ends",
							   AUDIT_ENDS_SIZE, AUDIT_ENDS_SIZE, &info,
							   HASH_ELEM | HASH_BLOBS | HASH_FIXED_SIZE);
	LWLockRelease(AddinShmemInitLock);
}

/*
 * audit_ends_init: define billing.audit_lanes, and ask for the shared
 * table when billing is being loaded by shared_preload_libraries.  Called
 * from _PG_init.
 */
void
audit_ends_init(void)
{
	DefineCustomIntVariable("billing.audit_lanes",
							"How many lanes of a firm's audit chain a committer may seal into.",
							"Writers of one firm that commit at once take different lanes instead of waiting for each other; 1 makes them take turns on one lane. Needs billing in shared_preload_libraries, without which every firm uses one lane.",
							&audit_lanes, AUDIT_MAX_LANES, 1, AUDIT_MAX_LANES,
							PGC_SUSET, 0, NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ends_request;
#else
	ends_request();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ends_startup;
}

static void
forget_lanes(ChainEnd *e)
{
	int			l;

	for (l = 0; l < AUDIT_MAX_LANES; l++)
	{
		e->lanes[l].known = false;
		e->lanes[l].writer = InvalidTransactionId;
	}
}

/*
 * FIRM's entry in the shared table, made if there is room; NULL when there
 * is none, or billing is not preloaded.  An entry never moves or goes
 * away, so the pointer is kept for the backend's life.
 */
static ChainEnd *
find_end(int64 firm)
{
	EndPointer *p;
	ChainEndKey key;
	ChainEnd   *e;
	bool		found;

	if (chain_ends == NULL)
		return NULL;
	if (end_pointers == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(int64);
		ctl.entrysize = sizeof(EndPointer);
		ctl.hcxt = TopMemoryContext;
		end_pointers = hash_create("billing audit chain end pointers", 64,
								   &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	p = hash_search(end_pointers, &firm, HASH_FIND, NULL);
	if (p != NULL)
		return p->end;

	memset(&key, 0, sizeof(key));
	key.database = MyDatabaseId;
	key.firm_id = firm;
	LWLockAcquire(chain_ends_lock, LW_SHARED);
	e = hash_search(chain_ends, &key, HASH_FIND, NULL);
	LWLockRelease(chain_ends_lock);
	if (e == NULL)
	{
		LWLockAcquire(chain_ends_lock, LW_EXCLUSIVE);
		e = hash_search(chain_ends, &key, HASH_ENTER_NULL, &found);
		if (e != NULL && !found)
		{
			SpinLockInit(&e->mutex);
			e->relfilenode = InvalidOid;
			e->next_seq = 0;
			e->recheck = false;
			forget_lanes(e);
		}
		LWLockRelease(chain_ends_lock);
	}
	p = hash_search(end_pointers, &firm, HASH_ENTER, NULL);
	p->end = e;
	return e;
}

/*
 * audit_lanes_usable: how many lanes a committer may seal FIRM's records
 * into: billing.audit_lanes when the firm's lanes are kept in shared
 * memory, else 1 (lane 0 only: the firm's seqs are then read from the log
 * by the one holder of that lane).
 */
int
audit_lanes_usable(int64 firm)
{
	return find_end(firm) == NULL ? 1 : audit_lanes;
}

/* audit_ends_kept: whether FIRM's lanes and next seq are kept here. */
bool
audit_ends_kept(int64 firm)
{
	return find_end(firm) != NULL;
}

/*
 * audit_writer_running: whether transaction XID, run by the backend with
 * PGPROC number PROC (or -1, unknown), is still in progress.
 */
bool
audit_writer_running(TransactionId xid, int proc)
{
	volatile PGPROC *p;

	if (proc < 0)
		return TransactionIdIsInProgress(xid);
	/* set when the backend took XID, cleared once its commit is visible */
	p = GetPGProcByNumber(proc);
	return TransactionIdEquals(p->xid, xid);
}

/*
 * audit_lane_committing: whether the last writer of FIRM's LANE may still
 * be committing, so that a holder of the lane would wait for it.  A hint
 * for choosing a lane, read without the lane's lock.
 */
bool
audit_lane_committing(int64 firm, int lane)
{
	ChainEnd   *e = find_end(firm);
	TransactionId writer;
	int			proc;

	if (e == NULL)
		return false;
	SpinLockAcquire(&e->mutex);
	writer = e->lanes[lane].writer;
	proc = e->lanes[lane].writer_proc;
	SpinLockRelease(&e->mutex);
	return TransactionIdIsValid(writer) && audit_writer_running(writer, proc);
}

/*
 * audit_ends_get: the end of FIRM's LANE in the log with RELFILENODE, if
 * known.  On true, *seq and hash are the lane's last record's (seq 0: the
 * lane is empty), and *writer is the transaction that wrote it if it may
 * still be committing (the caller's predecessor, run by backend
 * *writer_proc), else invalid.  False means: read the table.
 */
bool
audit_ends_get(Oid relfilenode, int64 firm, int lane, int64 *seq,
			   uint8 *hash, TransactionId *writer, int *writer_proc)
{
	ChainEnd   *e = find_end(firm);
	LaneEnd		copy;

	if (e == NULL)
		return false;
	SpinLockAcquire(&e->mutex);
	copy = e->lanes[lane];
	if (e->relfilenode != relfilenode)
		copy.known = false;		/* another log */
	SpinLockRelease(&e->mutex);
	if (!copy.known)
		return false;

	if (TransactionIdIsValid(copy.writer))
	{
		if (audit_writer_running(copy.writer, copy.writer_proc))
			;					/* still committing: our predecessor */
		else if (TransactionIdDidCommit(copy.writer))
		{
			audit_ends_committed(firm, lane, copy.writer);
			copy.writer = InvalidTransactionId;
		}
		else
			return false;		/* rolled back: its records are gone */
	}
	*seq = copy.seq;
	memcpy(hash, copy.hash, PG_SHA256_DIGEST_LENGTH);
	*writer = copy.writer;
	*writer_proc = copy.writer_proc;
	return true;
}

/*
 * audit_ends_reserve: take N consecutive seqs of FIRM, the first into
 * *first.  False when the firm's next seq is not known for the log with
 * RELFILENODE (or must be checked against it first): the caller reads the
 * log and calls audit_ends_set_next.
 */
bool
audit_ends_reserve(Oid relfilenode, int64 firm, int64 n, int64 *first)
{
	ChainEnd   *e = find_end(firm);
	bool		ok;

	if (e == NULL)
		return false;
	SpinLockAcquire(&e->mutex);
	ok = (e->relfilenode == relfilenode && e->next_seq > 0 && !e->recheck);
	if (ok)
	{
		*first = e->next_seq;
		e->next_seq += n;
	}
	SpinLockRelease(&e->mutex);
	return ok;
}

/*
 * audit_ends_set_next: the log with RELFILENODE holds no seq of FIRM at or
 * above NEXT (read by the caller, who holds the firm's initializing lock).
 * The counter never goes back: other lanes' holders may have taken seqs
 * below it that they have not written yet.  For another log, everything
 * kept of the firm is dropped.
 */
void
audit_ends_set_next(Oid relfilenode, int64 firm, int64 next)
{
	ChainEnd   *e = find_end(firm);

	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	if (e->relfilenode != relfilenode)
	{
		forget_lanes(e);
		e->relfilenode = relfilenode;
		e->next_seq = next;
	}
	else
		e->next_seq = Max(e->next_seq, next);
	e->recheck = false;
	SpinLockRelease(&e->mutex);
}

/*
 * audit_ends_put: FIRM's LANE now ends at SEQ with HASH, written by WRITER,
 * this backend's transaction, which took its seqs from audit_ends_reserve.
 */
void
audit_ends_put(Oid relfilenode, int64 firm, int lane, int64 seq,
			   const uint8 *hash, TransactionId writer)
{
	ChainEnd   *e = find_end(firm);

	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	if (e->relfilenode == relfilenode)
	{
		LaneEnd    *l = &e->lanes[lane];

		l->known = true;
		l->writer = writer;
		l->writer_proc = MyProcNumberOf();
		l->seq = seq;
		memcpy(l->hash, hash, PG_SHA256_DIGEST_LENGTH);
	}
	SpinLockRelease(&e->mutex);
}

/* audit_ends_committed: WRITER committed; mark its lane end, if still so. */
void
audit_ends_committed(int64 firm, int lane, TransactionId writer)
{
	ChainEnd   *e = find_end(firm);

	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	if (TransactionIdEquals(e->lanes[lane].writer, writer))
		e->lanes[lane].writer = InvalidTransactionId;
	SpinLockRelease(&e->mutex);
}

/*
 * audit_ends_forget: a transaction that took FIRM's LANE failed: read the
 * lane's end from the table next time, and check the firm's next seq
 * against it before it is used again.  If the seqs FIRST to END - 1 it
 * took last (FIRST 0: none) are the firm's newest, no one else took any
 * since, and they are given back, so that a failed commit leaves no gap
 * unless another writer of the firm went on meanwhile.
 */
void
audit_ends_forget(int64 firm, int lane, int64 first, int64 end)
{
	ChainEnd   *e = find_end(firm);

	if (e == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	e->lanes[lane].known = false;
	e->lanes[lane].writer = InvalidTransactionId;
	if (first > 0 && e->next_seq == end)
		e->next_seq = first;
	e->recheck = true;
	SpinLockRelease(&e->mutex);
}
