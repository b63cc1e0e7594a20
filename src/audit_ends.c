/*
 * audit_ends.c
 *		Where each firm's audit chain ends, kept in shared memory when
 *		billing is in shared_preload_libraries.
 *
 * The writer holding a firm's chain lock must know the chain's last record
 * (its seq and hash).  Without this file it reads it from the log's primary
 * key, which is about a seventh of what the audit trail adds to a one-row
 * commit and a third of the time the chain is held.  With it, the holder
 * finds the end here, and after writing its records puts the new end here,
 * with its own transaction id.  An entry is only a faster way to the answer
 * the table gives:
 *
 * - an entry whose writer rolled back names records that are gone: the
 *   next holder sees that the writer did not commit and reads the table;
 * - a writer clears its transaction id once it has committed, and a reader
 *   clears one that it finds committed (a prepared transaction committed
 *   from another session), so no transaction's status is looked up long
 *   after the fact;
 * - a transaction that fails after taking a firm's chain drops the firm's
 *   entry, so a log changed behind the trail's back (a superuser with
 *   triggers off), which makes that commit fail on the log's primary key,
 *   is read again from the table by the retry;
 * - entries carry the database and the log's relfilenode, so a log that is
 *   truncated, rewritten or dropped and created again is read afresh; a
 *   server restart empties the whole table.
 *
 * An entry is read and written by the holder of its firm's chain lock, and
 * marked by its writer once that has committed, which can happen after the
 * next holder took the lock: a spinlock of the entry's own orders the two.
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

typedef struct ChainEnd
{
	ChainEndKey key;
	slock_t		mutex;			/* protects what follows */
	Oid			relfilenode;	/* of billing.audit_log; invalid: dropped */
	TransactionId writer;		/* invalid once known to have committed */
	int			writer_proc;	/* the writer's backend (PGPROC number) */
	int64		seq;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
} ChainEnd;

static HTAB *chain_ends = NULL;
static LWLock *chain_ends_lock = NULL;

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
 * audit_ends_init: ask for the shared table.  Called from _PG_init; does
 * nothing unless billing is being loaded by shared_preload_libraries.
 */
void
audit_ends_init(void)
{
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

/*
 * FIRM's entry in the shared table, made if CREATE and there is room; NULL
 * when there is none.  An entry never moves or goes away, so the pointer
 * is kept for the backend's life.
 */
static ChainEnd *
find_end(int64 firm, bool create)
{
	EndPointer *p;
	ChainEndKey key;
	ChainEnd   *e;
	bool		found;

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
	if (e == NULL && create)
	{
		LWLockAcquire(chain_ends_lock, LW_EXCLUSIVE);
		e = hash_search(chain_ends, &key, HASH_ENTER_NULL, &found);
		if (e != NULL && !found)
		{
			SpinLockInit(&e->mutex);
			e->relfilenode = InvalidOid;
			e->writer = InvalidTransactionId;
			e->writer_proc = -1;
			e->seq = 0;
		}
		LWLockRelease(chain_ends_lock);
	}
	if (e == NULL && !create)
		return NULL;			/* not kept yet: nothing to remember */
	p = hash_search(end_pointers, &firm, HASH_ENTER, NULL);
	p->end = e;
	return e;
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
 * audit_ends_get: the end of FIRM's chain in the log with RELFILENODE, if
 * known.  On true, *seq and hash are the last record's, and *writer is the
 * transaction that wrote it if it may still be committing (the caller's
 * predecessor, run by backend *writer_proc), else invalid.  False means:
 * read the table.
 */
bool
audit_ends_get(Oid relfilenode, int64 firm, int64 *seq, uint8 *hash,
			   TransactionId *writer, int *writer_proc)
{
	ChainEnd   *e;
	ChainEnd	copy;

	if (chain_ends == NULL || (e = find_end(firm, false)) == NULL)
		return false;
	SpinLockAcquire(&e->mutex);
	copy.relfilenode = e->relfilenode;
	copy.writer = e->writer;
	copy.writer_proc = e->writer_proc;
	copy.seq = e->seq;
	memcpy(copy.hash, e->hash, PG_SHA256_DIGEST_LENGTH);
	SpinLockRelease(&e->mutex);
	if (copy.relfilenode != relfilenode)
		return false;			/* another log, or dropped */

	if (TransactionIdIsValid(copy.writer))
	{
		if (audit_writer_running(copy.writer, copy.writer_proc))
			;					/* still committing: our predecessor */
		else if (TransactionIdDidCommit(copy.writer))
		{
			audit_ends_committed(firm, copy.writer);
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
 * audit_ends_put: FIRM's chain now ends at SEQ with HASH, written by
 * WRITER, this backend's transaction.  When the table is full the end is
 * not kept.
 */
void
audit_ends_put(Oid relfilenode, int64 firm, int64 seq, const uint8 *hash,
			   TransactionId writer)
{
	ChainEnd   *e;

	if (chain_ends == NULL || (e = find_end(firm, true)) == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	e->relfilenode = relfilenode;
	e->writer = writer;
	e->writer_proc = MyProcNumberOf();
	e->seq = seq;
	memcpy(e->hash, hash, PG_SHA256_DIGEST_LENGTH);
	SpinLockRelease(&e->mutex);
}

/* audit_ends_committed: WRITER committed; mark its entry, if still there. */
void
audit_ends_committed(int64 firm, TransactionId writer)
{
	ChainEnd   *e;

	if (chain_ends == NULL || (e = find_end(firm, false)) == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	if (TransactionIdEquals(e->writer, writer))
		e->writer = InvalidTransactionId;
	SpinLockRelease(&e->mutex);
}

/* audit_ends_forget: read FIRM's chain end from the table next time. */
void
audit_ends_forget(int64 firm)
{
	ChainEnd   *e;

	if (chain_ends == NULL || (e = find_end(firm, false)) == NULL)
		return;
	SpinLockAcquire(&e->mutex);
	e->relfilenode = InvalidOid;
	e->writer = InvalidTransactionId;
	SpinLockRelease(&e->mutex);
}
