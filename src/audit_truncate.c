/*
 * audit_truncate.c
 *		TRUNCATE of a table under audit: refused, or recorded.
 *
 * A truncate removes a table's rows without firing its row triggers, so
 * the audit trail would not see them go.  billing.audit_table puts this
 * trigger on the table (BEFORE TRUNCATE, for each statement) and on each of
 * its partitions.  A role that is not a superuser is refused (ZB304) and
 * deletes rows instead, each one recorded.  A superuser's truncate is
 * recorded: before the rows go, the table is read once to count them firm
 * by firm, and each firm with rows gets one TRUNCATE record in its chain
 * with the number of its rows removed.  A superuser who switches the
 * trigger off first (or sets session_replication_role = replica) truncates
 * unrecorded, which the threat model in doc/audit.md covers.
 */
#include "audit.h"
#include "billing.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

PG_FUNCTION_INFO_V1(billing_audit_truncate_guard);

typedef struct FirmRows
{
	int64		firm_id;		/* hash key */
	int64		rows;
} FirmRows;

static int
firm_rows_order(const void *a, const void *b)
{
	int64		x = (*(FirmRows *const *) a)->firm_id;
	int64		y = (*(FirmRows *const *) b)->firm_id;

	return (x > y) - (x < y);
}

/* The column firm_id bigint of the table, or InvalidAttrNumber. */
static AttrNumber
firm_column(Relation rel)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && att->atttypid == INT8OID &&
			strcmp(NameStr(att->attname), "firm_id") == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

/*
 * Record the truncate of one table: count its own rows (a partitioned
 * table has none; its partitions' triggers count theirs) by firm, with a
 * snapshot taken now, under the truncate's exclusive lock, so every row
 * the truncate removes is counted.
 */
static void
record_truncate(Relation rel)
{
	AttrNumber	firm_att = firm_column(rel);
	HASHCTL		ctl;
	HTAB	   *firms;
	Snapshot	snap;
	TableScanDesc scan;
	TupleTableSlot *slot;
	HASH_SEQ_STATUS it;
	FirmRows   *f;
	FirmRows  **order;
	long		n;
	long		i;

	if (rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE ||
		firm_att == InvalidAttrNumber)
		return;

	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(FirmRows);
	ctl.hcxt = CurrentMemoryContext;
	firms = hash_create("billing truncated rows by firm", 16, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	snap = RegisterSnapshot(GetLatestSnapshot());
	scan = table_beginscan(rel, snap, 0, NULL);
	slot = table_slot_create(rel, NULL);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot))
	{
		bool		isnull;
		int64		firm = DatumGetInt64(slot_getattr(slot, firm_att, &isnull));
		bool		found;

		CHECK_FOR_INTERRUPTS();
		/* a row without a firm has no chain to be recorded in */
		if (isnull)
			continue;
		f = hash_search(firms, &firm, HASH_ENTER, &found);
		if (!found)
			f->rows = 0;
		f->rows++;
	}
	ExecDropSingleTupleTableSlot(slot);
	table_endscan(scan);
	UnregisterSnapshot(snap);

	/* in firm order, so that the records read in the order of the firms */
	n = hash_get_num_entries(firms);
	order = palloc(sizeof(FirmRows *) * Max(n, 1));
	i = 0;
	hash_seq_init(&it, firms);
	while ((f = hash_seq_search(&it)) != NULL)
		order[i++] = f;
	qsort(order, n, sizeof(FirmRows *), firm_rows_order);
	for (i = 0; i < n; i++)
		audit_capture_truncate(rel, order[i]->firm_id, order[i]->rows);
	pfree(order);
	hash_destroy(firms);
}

/*
 * billing_audit_truncate_guard: billing.audit_truncate_guard(), a trigger.
 *
 * Contract: fired BEFORE TRUNCATE FOR EACH STATEMENT on a table under audit
 * (billing.audit_table attaches it as billing_audit_truncate).  Raises
 * ZB304 for a role that is not a superuser.  For a superuser, appends one
 * TRUNCATE record per firm with rows in the table to the transaction's
 * audit buffer, written at commit like every record.
 */
Datum
billing_audit_truncate_guard(PG_FUNCTION_ARGS)
{
	TriggerData *td;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function billing.audit_truncate_guard was not called by the trigger manager"),
				 errhint("Attach it to a table with billing.audit_table(regclass).")));
	td = (TriggerData *) fcinfo->context;
	if (!TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger %s must be fired BEFORE TRUNCATE",
						td->tg_trigger->tgname),
				 errhint("Attach billing.audit_truncate_guard with billing.audit_table(regclass).")));
	rel = td->tg_relation;
	if (!superuser())
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_AUDIT_TRUNCATE),
				 errmsg("TRUNCATE of %s is not allowed: the table is under audit, and a truncate removes rows without a record",
						quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel))),
				 errhint("Delete the rows with DELETE, so that each is recorded; a superuser's TRUNCATE is recorded, one record per firm.")));
	record_truncate(rel);
	return PointerGetDatum(NULL);
}
