/*
 * audit.h
 *		What the three files of the audit trail share.
 *
 * audit_capture.c records changes into a buffer kept for the transaction,
 * audit_chain.c seals and writes that buffer just before commit, and
 * audit_verify.c walks a chain to check it.  The layout of
 * billing.audit_log (src/sql/80-audit.sql) and the canonical form that its
 * hash covers are defined here once, so the writer and the verifier cannot
 * drift apart.
 */
#ifndef BILLING_AUDIT_H
#define BILLING_AUDIT_H

#include "postgres.h"

#include "access/xact.h"
#include "executor/tuptable.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#ifdef USE_OPENSSL
#include <openssl/sha.h>
#endif
#include "utils/jsonb.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

/* Columns of billing.audit_log, in order (1-based attribute numbers). */
#define Anum_audit_firm_id				1
#define Anum_audit_seq					2
#define Anum_audit_lane					3
#define Anum_audit_table_name			4
#define Anum_audit_operation			5
#define Anum_audit_row_key				6
#define Anum_audit_row_digest			7
#define Anum_audit_row_keys				8
#define Anum_audit_row_digests			9
#define Anum_audit_old_values			10
#define Anum_audit_new_values			11
#define Anum_audit_transaction_id		12
#define Anum_audit_statement_time		13
#define Anum_audit_session_user_name	14
#define Anum_audit_current_role_name	15
#define Anum_audit_staff_id				16
#define Anum_audit_application_name		17
#define Anum_audit_reason_code			18
#define Anum_audit_reason				19
#define Anum_audit_prev_hash			20
#define Anum_audit_hash					21
#define Natts_audit						21

/*
 * Consecutive INSERTs of one table with the same who and why (the rows of
 * one statement, as a rule) are sealed as one record of several rows, with
 * their keys and digests in row_keys and row_digests, so that a bulk insert
 * writes one log row per this many rows instead of one per row.  The key
 * bytes are bounded too, so that one record stays well below the 1 GB a
 * value can hold however long the keys are.
 */
#define AUDIT_ROWS_PER_RECORD			1000
#define AUDIT_KEY_BYTES_PER_RECORD		(256 * 1024)

/*
 * Who and why, as they stood when a change was captured.  Consecutive
 * records share one of these while nothing in it changes, so a bulk
 * statement stores it once.
 */
typedef struct AuditWho
{
	Oid			session_user;
	Oid			current_user;
	TimestampTz statement_time;
	char	   *staff_setting;	/* billing.staff_id, or NULL */
	char	   *reason_code;	/* billing.reason_code, or NULL */
	char	   *reason;			/* billing.reason, or NULL */
	char	   *application_name;	/* or NULL */
} AuditWho;

/* One captured change, waiting in the transaction's buffer. */
typedef struct AuditRecord
{
	int64		firm_id;
	const char *table_name;		/* schema-qualified, quoted as needed */
	char		operation;		/* 'I', 'U', 'D', or 'T' (TRUNCATE) */
	bool		has_digest;
	SubTransactionId subid;		/* the subtransaction that made the change */
	text	   *row_key;		/* NULL when the table has no primary key */
	Jsonb	   *old_values;		/* UPDATE: changed columns; DELETE: row;
								 * TRUNCATE: {"rows": n} */
	Jsonb	   *new_values;		/* UPDATE: changed columns */
	AuditWho   *who;
	uint8		row_digest[PG_SHA256_DIGEST_LENGTH];
} AuditRecord;

/*
 * audit_sha256: SHA-256 of len bytes at data, into out.
 *
 * With OpenSSL we call its SHA-256 directly.  pg_cryptohash goes through
 * OpenSSL 3's EVP layer, which looks the algorithm up by name under a lock
 * at every init: that cost 2.5 times the hashing itself on the audit log's
 * 200-byte records, twice per audited row.  Without OpenSSL we fall back on
 * pg_cryptohash, which then is PostgreSQL's own implementation.
 */
static inline void
audit_sha256(const void *data, size_t len, uint8 *out)
{
#ifdef USE_OPENSSL
	SHA256_CTX	c;

	if (!SHA256_Init(&c) || !SHA256_Update(&c, data, len) ||
		!SHA256_Final(out, &c))
		elog(ERROR, "could not compute SHA-256");
#else
	pg_cryptohash_ctx *c = pg_cryptohash_create(PG_SHA256);

	if (c == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	if (pg_cryptohash_init(c) < 0 ||
		pg_cryptohash_update(c, (const uint8 *) data, len) < 0 ||
		pg_cryptohash_final(c, out, PG_SHA256_DIGEST_LENGTH) < 0)
		elog(ERROR, "could not compute SHA-256: %s", pg_cryptohash_error(c));
	pg_cryptohash_free(c);
#endif
}

/* The transaction's buffer (audit_capture.c). */
extern AuditRecord *audit_records;
extern int64 audit_nrecords;
extern MemoryContext audit_context;

/* audit_capture.c */
extern void audit_capture_init(void);
extern void audit_capture_discard(void);
extern void audit_capture_abort_subxact(SubTransactionId subid);
extern void audit_capture_truncate(Relation rel, int64 firm, int64 rows);

/*
 * A firm's chain is sealed in lanes: writers of one firm that commit at the
 * same moment take different lanes instead of waiting for each other, and
 * each record links to the previous record of its lane (doc/audit.md).
 */
#define AUDIT_MAX_LANES					8

/* audit_ends.c */
extern void audit_ends_init(void);
extern bool audit_ends_kept(int64 firm);
extern int	audit_lanes_usable(int64 firm);
extern bool audit_lane_committing(int64 firm, int lane);
extern bool audit_ends_get(Oid relfilenode, int64 firm, int lane, int64 *seq,
						   uint8 *hash, TransactionId *writer,
						   int *writer_proc);
extern bool audit_ends_reserve(Oid relfilenode, int64 firm, int64 n,
							   int64 *first);
extern void audit_ends_set_next(Oid relfilenode, int64 firm, int64 next);
extern void audit_ends_put(Oid relfilenode, int64 firm, int lane, int64 seq,
						   const uint8 *hash, TransactionId writer);
extern void audit_ends_committed(int64 firm, int lane, TransactionId writer);
extern void audit_ends_forget(int64 firm, int lane, int64 first,
							  int64 end);
extern bool audit_writer_running(TransactionId xid, int proc);

/*
 * Writing records into billing.audit_log (audit_write.c): open, then for
 * each record fill the values audit_writer_next gives (in memory from
 * audit_writer_context) and call audit_writer_add; close writes the rest.
 */
typedef struct AuditWriter
{
	Relation	rel;
	Relation	pk;				/* opened by the caller, left open */
	CommandId	cid;
	int			capacity;		/* records per batch */
	int			n;				/* records waiting */
	Size		bytes;			/* their extra bytes */
	Datum	   *values;			/* Natts_audit per record */
	bool	   *isnull;
	TupleTableSlot **slots;		/* made for the first batch of several */
	int			nindexes;
	Relation   *indexes;
	struct IndexInfo **infos;
	bool		by_executor;	/* an index we cannot fill ourselves */
	struct EState *estate;
	struct ResultRelInfo *rri;
} AuditWriter;

extern void audit_writer_open(AuditWriter *w, Relation rel, Relation pk,
							  int64 nmax);
extern Datum *audit_writer_next(AuditWriter *w, bool **isnull);
extern void audit_writer_add(AuditWriter *w, Size bytes);
extern MemoryContext audit_writer_context(void);
extern void audit_writer_close(AuditWriter *w);

/* audit_chain.c */
extern void audit_chain_flush(bool hold);
extern void audit_chain_write_early(void);
extern bool audit_chain_flushed;
extern void audit_hash_values(TupleDesc desc, Datum *values, bool *isnull,
							  uint8 *out);
extern Oid	audit_log_relid(void);
extern void audit_check_log_layout(Relation rel);
extern void audit_digest_row(TupleDesc desc, Datum *values, bool *isnull,
							 StringInfo buf, uint8 *out);

#endif							/* BILLING_AUDIT_H */
