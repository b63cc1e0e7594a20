/*
 * audit_verify.c
 *		Checking a firm's audit chain: billing.verify_audit, and
 *		billing.audit_anchor, whose result is kept outside the database.
 *
 * verify_audit reads the firm's records in seq order, merging its lanes
 * read through the primary key, and stops at the first that does not
 * verify: a prev_hash that is not the hash of the previous record of its
 * lane (a deleted record, a reordering, or a record replaced), a hash that
 * does not match the record's content (an edit, or a forged record), a seq
 * seen twice, or a record that does not match the anchor given (a chain
 * rewritten from that point on, or cut short before it).  It reads the
 * log itself, bypassing the executor, so it checks the caller's SELECT
 * privilege on the log first.
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
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(billing_verify_audit);
PG_FUNCTION_INFO_V1(billing_audit_anchor);

/*
 * A firm's records, lane by lane, each lane read in seq order through the
 * log's primary key (firm_id, lane, seq); merged, they are the firm's chain
 * in seq order.
 */
typedef struct ChainScan
{
	Relation	rel;
	Relation	index;
	IndexScanDesc scans[AUDIT_MAX_LANES];
	TupleTableSlot *slots[AUDIT_MAX_LANES];
	bool		has[AUDIT_MAX_LANES];	/* slots[l] holds lane l's next */
	int64		seqs[AUDIT_MAX_LANES];
} ChainScan;

static void
lane_advance(ChainScan *cs, int lane, ScanDirection dir)
{
	cs->has[lane] = index_getnext_slot(cs->scans[lane], dir, cs->slots[lane]);
	if (cs->has[lane])
	{
		slot_getallattrs(cs->slots[lane]);
		cs->seqs[lane] =
			DatumGetInt64(cs->slots[lane]->tts_values[Anum_audit_seq - 1]);
	}
}

static void
chain_open(ChainScan *cs, int64 firm, ScanDirection dir)
{
	Oid			relid = audit_log_relid();
	AclResult	acl = pg_class_aclcheck(relid, GetUserId(), ACL_SELECT);
	int			lane;

	if (acl != ACLCHECK_OK)
		aclcheck_error(acl, OBJECT_TABLE, "audit_log");
	cs->rel = table_open(relid, AccessShareLock);
	audit_check_log_layout(cs->rel);
	cs->index = index_open(RelationGetPrimaryKeyIndex(cs->rel
#if PG_VERSION_NUM >= 170000
													  ,false
#endif
							   ), AccessShareLock);
	for (lane = 0; lane < AUDIT_MAX_LANES; lane++)
	{
		ScanKeyData key[2];

		ScanKeyInit(&key[0], 1, BTEqualStrategyNumber, F_INT8EQ,
					Int64GetDatum(firm));
		ScanKeyInit(&key[1], 2, BTEqualStrategyNumber, F_INT2EQ,
					Int16GetDatum(lane));
		cs->scans[lane] = index_beginscan(cs->rel, cs->index,
										  GetActiveSnapshot(),
#if PG_VERSION_NUM >= 180000
										  NULL,
#endif
										  2, 0);
		index_rescan(cs->scans[lane], key, 2, NULL, 0);
		cs->slots[lane] = table_slot_create(cs->rel, NULL);
		lane_advance(cs, lane, dir);
	}
}

/* The lane whose next record has the lowest seq, or -1 at the end. */
static int
chain_next_lane(ChainScan *cs)
{
	int			lane;
	int			best = -1;

	for (lane = 0; lane < AUDIT_MAX_LANES; lane++)
		if (cs->has[lane] && (best < 0 || cs->seqs[lane] < cs->seqs[best]))
			best = lane;
	return best;
}

static void
chain_close(ChainScan *cs)
{
	int			lane;

	for (lane = 0; lane < AUDIT_MAX_LANES; lane++)
	{
		index_endscan(cs->scans[lane]);
		ExecDropSingleTupleTableSlot(cs->slots[lane]);
	}
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
 * Contract: walks the firm's chain in seq order under the caller's
 * snapshot, each record against the previous record of its lane, and
 * returns one row: valid, records_checked, and for the first record that
 * does not verify its seq and the problem in words; last_seq and last_hash
 * are those of the last record that verified.  An anchor (both or neither
 * of anchor_seq and anchor_hash) must match the record it names, and that
 * record must exist.
 *
 * A gap in seq is not a problem in itself: a transaction that failed while
 * it committed beside other writers of its firm leaves one.  A record
 * removed from a lane shows at the lane's next record, which no longer
 * links to the record before it, and is reported at the first seq missing
 * before that record; the last record of a lane, removed, shows against an
 * anchor.
 */
Datum
billing_verify_audit(PG_FUNCTION_ARGS)
{
	int64		firm;
	bool		has_anchor;
	int64		anchor_seq = 0;
	bytea	   *anchor_hash = NULL;
	bool		anchor_seen = false;
	ChainScan	cs;
	MemoryContext rec_cxt;
	MemoryContext old;
	/* per lane: its last record's seq (0: none yet) and hash */
	int64		lane_seq[AUDIT_MAX_LANES] = {0};
	uint8		lane_hash[AUDIT_MAX_LANES][PG_SHA256_DIGEST_LENGTH];
	/* per lane: the first seq missing since its last record (0: none) */
	int64		gap_since[AUDIT_MAX_LANES] = {0};
	uint8		last[PG_SHA256_DIGEST_LENGTH];
	uint8		computed[PG_SHA256_DIGEST_LENGTH];
	int64		expected = 1;
	int64		last_seq = 0;
	int64		checked = 0;
	int64		failed = 0;
	char	   *problem = NULL;
	TupleDesc	rdesc;
	Datum		out[6];
	bool		outnull[6] = {false, false, true, true, true, true};
	int			lane;

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

	while ((lane = chain_next_lane(&cs)) >= 0)
	{
		TupleTableSlot *slot = cs.slots[lane];
		int64		seq = cs.seqs[lane];
		const uint8 *prev_hash;
		const uint8 *hash;
		int			l;

		CHECK_FOR_INTERRUPTS();
		old = MemoryContextSwitchTo(rec_cxt);

		if (seq == last_seq)
		{
			failed = seq;
			problem = psprintf("record %lld appears twice, the second time in lane %d: a record was forged",
							   (long long) seq, lane);
			MemoryContextSwitchTo(old);
			break;
		}
		if (seq > expected)
		{
			/* seqs expected to seq - 1 are not there */
			for (l = 0; l < AUDIT_MAX_LANES; l++)
				if (gap_since[l] == 0)
					gap_since[l] = expected;
		}

		prev_hash = stored_hash(slot, Anum_audit_prev_hash);
		if (lane_seq[lane] == 0 ?
			!slot->tts_isnull[Anum_audit_prev_hash - 1] :
			(prev_hash == NULL ||
			 memcmp(prev_hash, lane_hash[lane], PG_SHA256_DIGEST_LENGTH) != 0))
		{
			if (gap_since[lane] != 0)
			{
				failed = gap_since[lane];
				problem = lane_seq[lane] == 0 ?
					psprintf("record %lld is missing: record %lld, now the first record of lane %d, links to an earlier one (records deleted)",
							 (long long) failed, (long long) seq, lane) :
					psprintf("record %lld is missing: record %lld does not link to record %lld, now the record before it in lane %d (records deleted)",
							 (long long) failed, (long long) seq,
							 (long long) lane_seq[lane], lane);
			}
			else
			{
				failed = seq;
				problem = lane_seq[lane] == 0 ?
					psprintf("record %lld has a prev_hash, but no record of lane %d comes before it: it was changed, or records before it were removed",
							 (long long) seq, lane) :
					psprintf("record %lld does not link to record %lld, the record before it in lane %d: its prev_hash is not that record's hash (records reordered, or a record replaced)",
							 (long long) seq, (long long) lane_seq[lane],
							 lane);
			}
			MemoryContextSwitchTo(old);
			break;
		}

		audit_hash_values(RelationGetDescr(cs.rel), slot->tts_values,
						  slot->tts_isnull, computed);
		hash = stored_hash(slot, Anum_audit_hash);
		if (hash == NULL ||
			memcmp(hash, computed, PG_SHA256_DIGEST_LENGTH) != 0)
		{
			if (gap_since[lane] != 0)
			{
				/* the first thing wrong is the seq missing before it */
				failed = gap_since[lane];
				problem = psprintf("record %lld is missing, and record %lld, next in lane %d, does not match its hash (records deleted or moved)",
								   (long long) failed, (long long) seq,
								   lane);
			}
			else
			{
				failed = seq;
				problem = psprintf("record %lld does not match its hash: it was changed after it was written, or forged",
								   (long long) seq);
			}
			MemoryContextSwitchTo(old);
			break;
		}
		if (has_anchor && seq == anchor_seq)
		{
			if (memcmp(hash, VARDATA_ANY(anchor_hash),
					   PG_SHA256_DIGEST_LENGTH) != 0)
			{
				failed = seq;
				problem = psprintf("record %lld does not match the anchor: the chain was rewritten from this record or earlier",
								   (long long) seq);
				MemoryContextSwitchTo(old);
				break;
			}
			anchor_seen = true;
		}

		memcpy(lane_hash[lane], hash, PG_SHA256_DIGEST_LENGTH);
		memcpy(last, hash, PG_SHA256_DIGEST_LENGTH);
		lane_seq[lane] = seq;
		gap_since[lane] = 0;
		last_seq = seq;
		expected = seq + 1;
		checked++;
		MemoryContextSwitchTo(old);
		MemoryContextReset(rec_cxt);
		lane_advance(&cs, lane, ForwardScanDirection);
	}
	chain_close(&cs);

	if (problem == NULL && has_anchor && !anchor_seen)
	{
		/* the first record that should be there and is not */
		failed = anchor_seq > last_seq ? last_seq + 1 : anchor_seq;
		if (checked == 0)
			problem = psprintf("the chain is empty but the anchor names record %lld: its records were removed",
							   (long long) anchor_seq);
		else if (anchor_seq > last_seq)
			problem = psprintf("the chain ends at record %lld but the anchor names record %lld: records were removed from its end",
							   (long long) last_seq,
							   (long long) anchor_seq);
		else
			problem = psprintf("record %lld, which the anchor names, is missing: it was removed",
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
		memcpy(VARDATA(h), last, PG_SHA256_DIGEST_LENGTH);
		out[4] = Int64GetDatum(last_seq);
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
 * Contract: returns, for each lane of the firm's chain that has records,
 * the seq and hash of its last record visible to the statement and the
 * lane, in lane order; for an empty chain one row: seq 0, a null hash,
 * lane 0.
 */
Datum
billing_audit_anchor(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		firm = PG_GETARG_INT64(0);
	ChainScan	cs;
	Datum		out[3];
	bool		outnull[3] = {false, false, false};
	bool		any = false;
	int			lane;

	InitMaterializedSRF(fcinfo, 0);
	chain_open(&cs, firm, BackwardScanDirection);
	for (lane = 0; lane < AUDIT_MAX_LANES; lane++)
	{
		Datum	   *v = cs.slots[lane]->tts_values;

		if (!cs.has[lane])
			continue;
		out[0] = v[Anum_audit_seq - 1];
		out[1] = v[Anum_audit_hash - 1];
		out[2] = Int16GetDatum((int16) lane);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out,
							 outnull);
		any = true;
	}
	chain_close(&cs);
	if (!any)
	{
		out[0] = Int64GetDatum(0);
		outnull[1] = true;
		out[2] = Int16GetDatum(0);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out,
							 outnull);
	}
	return (Datum) 0;
}
