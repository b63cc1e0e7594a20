/*
 * audit_write.c
 *		Inserting sealed records into billing.audit_log: the heap rows and
 *		their index entries, in batches, without an executor.
 *
 * audit_chain.c fills one record's column values at a time and hands them
 * here.  Most commits write a single record, and for those the executor
 * state, result relation and tuple slots that ExecInsertIndexTuples needs
 * cost more than the index entry itself (callgrind, one-row commits).  The
 * log ships with its primary key alone, and a DBA may add plain indexes
 * (doc/limitations.md); for an index on plain columns the entry is the
 * row's own values, so we form it and call index_insert.  Only an index on
 * an expression, with a predicate, or backing a deferrable or exclusion
 * constraint makes the writer fall back on the executor, which computes
 * such entries; a deferrable constraint is then checked at once.
 */
#include "audit.h"
#include "billing.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/index.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/memutils.h"
#include "utils/rel.h"

/* records written per heap_multi_insert call, and their bytes at most */
#define AUDIT_BATCH			1000
#define AUDIT_BATCH_BYTES	(8 * 1024 * 1024)

/* Kept for the backend, reset after each batch. */
static MemoryContext batch_cxt = NULL;

void
audit_writer_open(AuditWriter *w, Relation rel, Relation pk, int64 nmax)
{
	List	   *oids = RelationGetIndexList(rel);
	ListCell   *lc;
	int			i = 0;

	memset(w, 0, sizeof(*w));
	w->rel = rel;
	w->cid = GetCurrentCommandId(true);
	w->capacity = (int) Min(nmax, AUDIT_BATCH);
	if (batch_cxt == NULL)
		batch_cxt = AllocSetContextCreate(TopMemoryContext,
										  "billing audit batch",
										  ALLOCSET_DEFAULT_SIZES);
	MemoryContextReset(batch_cxt);
	w->values = palloc(sizeof(Datum) * Natts_audit * w->capacity);
	w->isnull = palloc(sizeof(bool) * Natts_audit * w->capacity);
	w->slots = palloc0(sizeof(TupleTableSlot *) * w->capacity);

	w->nindexes = list_length(oids);
	w->indexes = palloc(sizeof(Relation) * w->nindexes);
	w->infos = palloc(sizeof(IndexInfo *) * w->nindexes);
	foreach(lc, oids)
	{
		Oid			oid = lfirst_oid(lc);
		Relation	ir;
		IndexInfo  *ii;

		ir = (oid == RelationGetRelid(pk)) ? pk :
			index_open(oid, RowExclusiveLock);
		ii = BuildIndexInfo(ir);
		if (ii->ii_Expressions != NIL || ii->ii_Predicate != NIL ||
			ii->ii_ExclusionOps != NULL || !ir->rd_index->indimmediate)
			w->by_executor = true;
		w->indexes[i] = ir;
		w->infos[i] = ii;
		i++;
	}
	list_free(oids);
	w->pk = pk;

	if (w->by_executor)
	{
		/* the executor opens the indexes itself */
		for (i = 0; i < w->nindexes; i++)
			if (w->indexes[i] != pk)
				index_close(w->indexes[i], NoLock);
		w->nindexes = 0;
		w->estate = CreateExecutorState();
		w->rri = makeNode(ResultRelInfo);
		InitResultRelInfo(w->rri, rel, 1, NULL, 0);
		ExecOpenIndices(w->rri, false);
	}
}

/* The next record's values and nulls, which the caller fills. */
Datum *
audit_writer_next(AuditWriter *w, bool **isnull)
{
	*isnull = w->isnull + Natts_audit * w->n;
	memset(*isnull, 0, sizeof(bool) * Natts_audit);
	return w->values + Natts_audit * w->n;
}

/* Index entries of a row just inserted at tid, made from its values. */
static void
insert_entries(AuditWriter *w, ItemPointer tid, Datum *values, bool *isnull)
{
	int			i;

	for (i = 0; i < w->nindexes; i++)
	{
		IndexInfo  *ii = w->infos[i];
		Relation	ir = w->indexes[i];
		Datum		iv[INDEX_MAX_KEYS];
		bool		in[INDEX_MAX_KEYS];
		int			k;

		if (!ii->ii_ReadyForInserts)
			continue;
		for (k = 0; k < ii->ii_NumIndexAttrs; k++)
		{
			AttrNumber	a = ii->ii_IndexAttrNumbers[k];

			iv[k] = values[a - 1];
			in[k] = isnull[a - 1];
		}
		index_insert(ir, iv, in, tid, w->rel,
					 ir->rd_index->indisunique ? UNIQUE_CHECK_YES :
					 UNIQUE_CHECK_NO,
					 false, ii);
	}
}

/*
 * The executor leaves a deferrable constraint's check to a trigger at the
 * end of the transaction, but the records are written after those have
 * fired: check each such constraint now, as that trigger would.  Our
 * records are the transaction's last writes, so now is when the deferred
 * check would have run.
 */
static void
check_deferred(AuditWriter *w, TupleTableSlot *slot, List *deferred)
{
	ListCell   *lc;
	int			i;

	foreach(lc, deferred)
	{
		Oid			oid = lfirst_oid(lc);

		for (i = 0; i < w->rri->ri_NumIndices; i++)
		{
			Relation	ir = w->rri->ri_IndexRelationDescs[i];
			IndexInfo  *ii = w->rri->ri_IndexRelationInfo[i];
			ExprContext *econtext;
			Datum		values[INDEX_MAX_KEYS];
			bool		isnull[INDEX_MAX_KEYS];

			if (RelationGetRelid(ir) != oid)
				continue;
			econtext = GetPerTupleExprContext(w->estate);
			econtext->ecxt_scantuple = slot;
			FormIndexDatum(ii, slot, w->estate, values, isnull);
			if (ii->ii_ExclusionOps == NULL)
				index_insert(ir, values, isnull, &slot->tts_tid, w->rel,
							 UNIQUE_CHECK_EXISTING, false, ii);
			else
				check_exclusion_constraint(w->rel, ir, ii, &slot->tts_tid,
										   values, isnull, w->estate, false);
		}
	}
}

/* Write the waiting records: one with heap_insert, more at once. */
static void
write_batch(AuditWriter *w)
{
	int			i;

	if (w->n == 1 && !w->by_executor)
	{
		HeapTuple	tup = heap_form_tuple(RelationGetDescr(w->rel),
										  w->values, w->isnull);

		heap_insert(w->rel, tup, w->cid, 0, NULL);
		insert_entries(w, &tup->t_self, w->values, w->isnull);
		heap_freetuple(tup);
	}
	else if (w->n > 0)
	{
		for (i = 0; i < w->n; i++)
		{
			TupleTableSlot *slot = w->slots[i];

			if (slot == NULL)
				slot = w->slots[i] = table_slot_create(w->rel, NULL);
			ExecClearTuple(slot);
			memcpy(slot->tts_values, w->values + Natts_audit * i,
				   sizeof(Datum) * Natts_audit);
			memcpy(slot->tts_isnull, w->isnull + Natts_audit * i,
				   sizeof(bool) * Natts_audit);
			ExecStoreVirtualTuple(slot);
		}

		/*
		 * No BulkInsertState: its small ring of buffers makes this backend
		 * write out (and flush WAL for) the log's pages itself as the ring
		 * wraps, which costs more than the insert; the pages go to shared
		 * buffers like the audited rows themselves.
		 */
		heap_multi_insert(w->rel, w->slots, w->n, w->cid, 0, NULL);
		for (i = 0; i < w->n; i++)
		{
			TupleTableSlot *slot = w->slots[i];

			if (w->by_executor)
			{
				List	   *r;

				r = ExecInsertIndexTuples(w->rri, slot, w->estate, false,
										  false, NULL, NIL
#if PG_VERSION_NUM >= 160000
										  ,false
#endif
					);
				check_deferred(w, slot, r);
				list_free(r);
				ResetPerTupleExprContext(w->estate);
			}
			else
				insert_entries(w, &slot->tts_tid, slot->tts_values,
							   slot->tts_isnull);
			ExecClearTuple(slot);
		}
	}
	w->n = 0;
	w->bytes = 0;
	MemoryContextReset(batch_cxt);
}

/*
 * The record whose values audit_writer_next gave is complete: it is
 * written with the ones before it once the batch is full.  bytes is what
 * its values take beyond the usual, so that large records go out sooner.
 */
void
audit_writer_add(AuditWriter *w, Size bytes)
{
	w->n++;
	w->bytes += bytes;
	if (w->n == w->capacity || w->bytes >= AUDIT_BATCH_BYTES)
		write_batch(w);
}

/* Memory for the values of the records waiting to be written. */
MemoryContext
audit_writer_context(void)
{
	return batch_cxt;
}

/* Write what waits, and let go of everything but the log and its key. */
void
audit_writer_close(AuditWriter *w)
{
	int			i;

	write_batch(w);
	for (i = 0; i < w->capacity; i++)
		if (w->slots[i] != NULL)
			ExecDropSingleTupleTableSlot(w->slots[i]);
	for (i = 0; i < w->nindexes; i++)
		if (w->indexes[i] != w->pk)
			index_close(w->indexes[i], NoLock);
	if (w->by_executor)
	{
		ExecCloseIndices(w->rri);
		FreeExecutorState(w->estate);
	}
	pfree(w->values);
	pfree(w->isnull);
	pfree(w->slots);
	pfree(w->indexes);
	pfree(w->infos);
}
