/*
 * audit_verify.c
 *		Checking a firm's audit chain: billing.verify_audit, and
 *		billing.audit_anchor, whose result is kept outside the database.
 *
 * verify_audit reads the firm's records in seq order through the primary
 * key and stops at the first that does not verify: a seq that is missing
 * (a deleted record), a prev_hash that is not the previous record's hash (a
 * reordering, or a record replaced), a hash that does not match the
 * record's content (an edit, or a forged record), or a record that does not
 * match the anchor given (a chain rewritten from that point on, or cut
 * short before it).  It reads the log itself, bypassing the executor, so it
 * checks the caller's SELECT privilege on the log first.
 */
#include "audit.h"
#include "billing.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(billing_verify_audit);
PG_FUNCTION_INFO_V1(billing_audit_anchor);

typedef struct ChainScan
{
	Relation	rel;
	Relation	index;
	IndexScanDesc scan;
	TupleTableSlot *slot;
} ChainScan;

static void
chain_open(ChainScan *cs, int64 firm, ScanDirection dir)
{
	Oid			relid = audit_log_relid();
	ScanKeyData key;
	AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, "audit_log");
	cs->rel = table_open(relid, AccessShareLock);
	audit_check_log_layout(cs->rel);
	cs->index = index_open(RelationGetPrimaryKeyIndex(cs->rel
#if PG_VERSION_NUM >= 170000
													  ,false
#endif
							   ), AccessShareLock);
	ScanKeyInit(&key, 1, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(firm));
	cs->scan = index_beginscan(cs->rel, cs->index, GetActiveSnapshot(),
#if PG_VERSION_NUM >= 180000
							   NULL,
#endif
							   1, 0);
	index_rescan(cs->scan, &key, 1, NULL, 0);
	cs->slot = table_slot_create(cs->rel, NULL);
	(void) dir;
}

static void
chain_close(ChainScan *cs)
{
	index_endscan(cs->scan);
	ExecDropSingleTupleTableSlot(cs->slot);
	index_close(cs->index, AccessShareLock);
	table_close(cs->rel, AccessShareLock);
}

/* The 32 bytes of a stored hash, or NULL if null or not 32 bytes long. */
static const uint8 *
stored_hash(TupleTableSlot *slot, int attnum)
{
	bytea	   *b;

	if (slot->tts_isnull[attnum - 1])
		return NULL;
	b = DatumGetByteaPP(slot->tts_values[attnum - 1]);
	if (VARSIZE_ANY_EXHDR(b) != PG_SHA256_DIGEST_LENGTH)
		return NULL;
	return (const uint8 *) VARDATA_ANY(b);
}

/*
 * billing_verify_audit: SQL function billing.verify_audit(firm_id,
 * anchor_seq, anchor_hash).
 *
 * Contract: walks the firm's chain from seq 1 under the caller's snapshot
 * and returns one row: valid, records_checked, and for the first record
 * that does not verify its seq and the problem in words; last_seq and
 * last_hash are those of the last record that verified.  An anchor (both
 * or neither of anchor_seq and anchor_hash) must match the record it
 * names, and that record must exist.
 */
Datum
billing_verify_audit(PG_FUNCTION_ARGS)
{
	int64		firm;
	bool		has_anchor;
	int64		anchor_seq = 0;
	bytea	   *anchor_hash = NULL;
	ChainScan	cs;
	MemoryContext rec_cxt;
	MemoryContext old;
	uint8		prev[PG_SHA256_DIGEST_LENGTH];
	uint8		computed[PG_SHA256_DIGEST_LENGTH];
	int64		expected = 1;
	int64		checked = 0;
	int64		failed = 0;
	char	   *problem = NULL;
	TupleDesc	rdesc;
	Datum		out[6];
	bool		outnull[6] = {false, false, true, true, true, true};

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	firm = PG_GETARG_INT64(0);
	/* the anchor of an empty chain, (0, null), vouches for nothing */
	has_anchor = !PG_ARGISNULL(1) &&
		!(PG_ARGISNULL(2) && PG_GETARG_INT64(1) == 0);
	if (has_anchor && PG_ARGISNULL(2))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anchor_seq and anchor_hash must be given together"),
				 errhint("Pass both columns of a row returned by billing.audit_anchor, or neither.")));
	if (!PG_ARGISNULL(2) && PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("anchor_seq and anchor_hash must be given together"),
				 errhint("Pass both columns of a row returned by billing.audit_anchor, or neither.")));
	if (has_anchor)
	{
		anchor_seq = PG_GETARG_INT64(1);
		anchor_hash = PG_GETARG_BYTEA_PP(2);
		if (anchor_seq < 1)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("anchor_seq %lld is not the seq of a record",
							(long long) anchor_seq),
					 errhint("Pass the seq returned by billing.audit_anchor; records are numbered from 1.")));
		if (VARSIZE_ANY_EXHDR(anchor_hash) != PG_SHA256_DIGEST_LENGTH)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("anchor_hash must be a SHA-256 digest of 32 bytes"),
					 errhint("Pass the hash returned by billing.audit_anchor.")));
	}
	if (get_call_result_type(fcinfo, NULL, &rdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	rec_cxt = AllocSetContextCreate(CurrentMemoryContext,
									"billing audit verify",
									ALLOCSET_DEFAULT_SIZES);
	chain_open(&cs, firm, ForwardScanDirection);

	while (index_getnext_slot(cs.scan, ForwardScanDirection, cs.slot))
	{
		TupleTableSlot *slot = cs.slot;
		int64		seq;
		const uint8 *prev_hash;
		const uint8 *hash;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rec_cxt);
		slot_getallattrs(slot);
		seq = DatumGetInt64(slot->tts_values[Anum_audit_seq - 1]);

		if (seq != expected)
		{
			failed = expected;
			if (seq < expected)
				problem = psprintf("record %lld appears again after record %lld: the chain is out of order",
								   (long long) seq, (long long) (expected - 1));
			else if (expected == 1 && seq == 2)
				problem = psprintf("record 1 is missing: the chain does not start at its first record");
			else if (expected == 1)
				problem = psprintf("records 1 to %lld are missing: the chain does not start at its first record",
								   (long long) (seq - 1));
			else
				problem = psprintf("record %lld is missing: the chain jumps from record %lld to record %lld (records deleted)",
								   (long long) expected,
								   (long long) (expected - 1),
								   (long long) seq);
			MemoryContextSwitchTo(old);
			break;
		}

		prev_hash = stored_hash(slot, Anum_audit_prev_hash);
		if (expected == 1 ?
			!slot->tts_isnull[Anum_audit_prev_hash - 1] :
			(prev_hash == NULL ||
			 memcmp(prev_hash, prev, PG_SHA256_DIGEST_LENGTH) != 0))
		{
			failed = seq;
			problem = expected == 1 ?
				psprintf("record 1 has a prev_hash, but the first record of a chain has none: records before it were removed") :
				psprintf("record %lld does not link to record %lld: its prev_hash is not that record's hash (records reordered, or a record replaced)",
						 (long long) seq, (long long) (seq - 1));
			MemoryContextSwitchTo(old);
			break;
		}

		audit_hash_values(RelationGetDescr(cs.rel), slot->tts_values,
						  slot->tts_isnull, computed);
		hash = stored_hash(slot, Anum_audit_hash);
		if (hash == NULL ||
			memcmp(hash, computed, PG_SHA256_DIGEST_LENGTH) != 0)
		{
			failed = seq;
			problem = psprintf("record %lld does not match its hash: it was changed after it was written, or forged",
							   (long long) seq);
			MemoryContextSwitchTo(old);
			break;
		}
		if (has_anchor && seq == anchor_seq &&
			memcmp(hash, VARDATA_ANY(anchor_hash),
				   PG_SHA256_DIGEST_LENGTH) != 0)
		{
			failed = seq;
			problem = psprintf("record %lld does not match the anchor: the chain was rewritten from this record or earlier",
							   (long long) seq);
			MemoryContextSwitchTo(old);
			break;
		}

		memcpy(prev, hash, PG_SHA256_DIGEST_LENGTH);
		checked++;
		expected++;
		MemoryContextSwitchTo(old);
		MemoryContextReset(rec_cxt);
	}
	chain_close(&cs);

	if (problem == NULL && has_anchor && anchor_seq >= expected)
	{
		failed = expected;
		if (expected == 1)
			problem = psprintf("the chain is empty but the anchor names record %lld: its records were removed",
							   (long long) anchor_seq);
		else
			problem = psprintf("the chain ends at record %lld but the anchor names record %lld: records were removed from its end",
							   (long long) (expected - 1),
							   (long long) anchor_seq);
	}
	else if (problem != NULL)
		problem = pstrdup(problem);


	out[0] = BoolGetDatum(problem == NULL);
	out[1] = Int64GetDatum(checked);
	if (problem != NULL)
	{
		out[2] = Int64GetDatum(failed);
		outnull[2] = false;
		out[3] = CStringGetTextDatum(problem);
		outnull[3] = false;
	}
	if (checked > 0)
	{
		bytea	   *h = palloc(VARHDRSZ + PG_SHA256_DIGEST_LENGTH);

		SET_VARSIZE(h, VARHDRSZ + PG_SHA256_DIGEST_LENGTH);
		memcpy(VARDATA(h), prev, PG_SHA256_DIGEST_LENGTH);
		out[4] = Int64GetDatum(checked);
		out[5] = PointerGetDatum(h);
		outnull[4] = outnull[5] = false;
	}
	MemoryContextDelete(rec_cxt);
	rdesc = BlessTupleDesc(rdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(rdesc, out, outnull)));
}

/*
 * billing_audit_anchor: SQL function billing.audit_anchor(firm_id).
 *
 * Contract: returns the seq and hash of the last record of the firm's chain
 * visible to the statement (seq 0 and a null hash for an empty chain).
 */
Datum
billing_audit_anchor(PG_FUNCTION_ARGS)
{
	int64		firm = PG_GETARG_INT64(0);
	ChainScan	cs;
	TupleDesc	rdesc;
	Datum		out[2] = {Int64GetDatum(0), (Datum) 0};
	bool		outnull[2] = {false, true};

	if (get_call_result_type(fcinfo, NULL, &rdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	chain_open(&cs, firm, BackwardScanDirection);
	if (index_getnext_slot(cs.scan, BackwardScanDirection, cs.slot))
	{
		Datum	   *v = cs.slot->tts_values;

		slot_getallattrs(cs.slot);
		out[0] = v[Anum_audit_seq - 1];
		out[1] = PointerGetDatum(DatumGetByteaPCopy(v[Anum_audit_hash - 1]));
		outnull[1] = false;
	}
	chain_close(&cs);
	rdesc = BlessTupleDesc(rdesc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(rdesc, out, outnull)));
}
