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
 * Entries are only read and written by the holder of the firm's chain lock;
 * one LWLock protects the hash table itself.  When the table is full, the
 * firms that do not fit are read from the log as before.
 */
#include "audit.h"

#include "access/transam.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"

/* how many firms' chain ends the server keeps */
#define AUDIT_ENDS_SIZE		4096

#define AUDIT_ENDS_TRANCHE	"billing_audit_chain_ends"

typedef struct ChainEndKey
{
	Oid			database;
	uint32		padding;		/* always 0, so the key hashes as bytes */
	int64		firm_id;
} ChainEndKey;

typedef struct ChainEnd
{
	ChainEndKey key;
	Oid			relfilenode;	/* of billing.audit_log when written */
	TransactionId writer;		/* invalid once known to have committed */
	int64		seq;
	uint8		hash[PG_SHA256_DIGEST_LENGTH];
} ChainEnd;

static HTAB *chain_ends = NULL;
static LWLock *chain_ends_lock = NULL;

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
	chain_ends = ShmemInitHash("billing audit chain ends",
							   AUDIT_ENDS_SIZE, AUDIT_ENDS_SIZE, &info,
							   HASH_ELEM | HASH_BLOBS);
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

static void
make_key(ChainEndKey *key, int64 firm)
{
	memset(key, 0, sizeof(*key));
	key->database = MyDatabaseId;
	key->firm_id = firm;
}

/*
 * audit_ends_get: the end of FIRM's chain in the log with RELFILENODE, if
 * known.  On true, *seq and hash are the last record's, and *writer is the
 * transaction that wrote it if it may still be committing (the caller's
 * predecessor), else invalid.  False means: read the table.
 */
bool
audit_ends_get(Oid relfilenode, int64 firm, int64 *seq, uint8 *hash,
			   TransactionId *writer)
{
	ChainEndKey key;
	ChainEnd   *e;
	ChainEnd	copy;
	bool		found = false;

	if (chain_ends == NULL)
		return false;
	make_key(&key, firm);
	LWLockAcquire(chain_ends_lock, LW_SHARED);
	e = hash_search(chain_ends, &key, HASH_FIND, NULL);
	if (e != NULL)
	{
		copy = *e;
		found = true;
	}
	LWLockRelease(chain_ends_lock);
	if (!found || copy.relfilenode != relfilenode)
		return false;

	if (TransactionIdIsValid(copy.writer))
	{
		if (TransactionIdIsInProgress(copy.writer))
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
	return true;
}

/*
 * audit_ends_put: FIRM's chain now ends at SEQ with HASH, written by
 * WRITER.  When the table is full the end is not kept.
 */
void
audit_ends_put(Oid relfilenode, int64 firm, int64 seq, const uint8 *hash,
			   TransactionId writer)
{
	ChainEndKey key;
	ChainEnd   *e;

	if (chain_ends == NULL)
		return;
	make_key(&key, firm);
	LWLockAcquire(chain_ends_lock, LW_EXCLUSIVE);
	e = hash_search(chain_ends, &key, HASH_ENTER_NULL, NULL);
	if (e != NULL)
	{
		e->relfilenode = relfilenode;
		e->writer = writer;
		e->seq = seq;
		memcpy(e->hash, hash, PG_SHA256_DIGEST_LENGTH);
	}
	LWLockRelease(chain_ends_lock);
}

/* audit_ends_committed: WRITER committed; mark its entry, if still there. */
void
audit_ends_committed(int64 firm, TransactionId writer)
{
	ChainEndKey key;
	ChainEnd   *e;

	if (chain_ends == NULL)
		return;
	make_key(&key, firm);
	LWLockAcquire(chain_ends_lock, LW_EXCLUSIVE);
	e = hash_search(chain_ends, &key, HASH_FIND, NULL);
	if (e != NULL && TransactionIdEquals(e->writer, writer))
		e->writer = InvalidTransactionId;
	LWLockRelease(chain_ends_lock);
}

/* audit_ends_forget: read FIRM's chain end from the table next time. */
void
audit_ends_forget(int64 firm)
{
	ChainEndKey key;

	if (chain_ends == NULL)
		return;
	make_key(&key, firm);
	LWLockAcquire(chain_ends_lock, LW_EXCLUSIVE);
	(void) hash_search(chain_ends, &key, HASH_REMOVE, NULL);
	LWLockRelease(chain_ends_lock);
}
