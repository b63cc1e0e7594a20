/*
 * frozen.c
 *		Frozen records: once a record reaches a state that freezes it (an
 *		invoice finalized, a payment posted), neither it nor its children
 *		can be changed or deleted, by anyone, the table owner included.
 *
 * Three triggers, all of which fire for every role:
 *
 *	billing.frozen_row()	 refuses UPDATE of a frozen record, except of its
 *							 state column (whose moves the workflow trigger
 *							 judges) and of columns named as still mutable,
 *							 and refuses its DELETE;
 *	billing.frozen_child()	 refuses INSERT, UPDATE and DELETE of a child
 *							 row while its parent is frozen; a parent that
 *							 is itself a frozen child is followed up to the
 *							 record that carries the state;
 *	billing.append_only()	 refuses UPDATE, DELETE and TRUNCATE outright
 *							 (the state history), and TRUNCATE of tables that
 *							 hold frozen records.
 *
 * Which states freeze is data: billing.workflow_state.freezes.  Corrections
 * go through new records (credit notes, reversals, new versions).
 */
#include "billing.h"
#include "workflow.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/varlena.h"

/* How billing.frozen_row() sees its table. */
typedef struct FrozenRowBinding
{
	WorkflowDef *def;
	char	   *entity;
	AttrNumber	state_attnum;
	AttrNumber	id_attnum;
	Bitmapset  *mutable;		/* attnums that may change while frozen */
} FrozenRowBinding;

/* How billing.frozen_child() sees its table and its parent. */
typedef struct FrozenChildBinding
{
	char	   *entity;
	Oid			parent;
	char	   *parent_name;
	int			nkeys;
	AttrNumber *child_attnums;	/* the foreign key's columns in the child */
	Oid		   *key_types;
	char	   *query;			/* reads and share-locks the parent row */
} FrozenChildBinding;

/* How deep a chain of frozen children may go before we call it a cycle. */
#define FROZEN_MAX_DEPTH 8

PG_FUNCTION_INFO_V1(frozen_row);
PG_FUNCTION_INFO_V1(frozen_child);
PG_FUNCTION_INFO_V1(append_only);

static bool row_is_frozen(Relation rel, HeapTuple tuple, int depth,
						  char **why);

static Relation
open_named_table(const char *name, LOCKMODE mode)
{
	List	   *names = stringToQualifiedNameList(name);

	return table_openrv(makeRangeVarFromNameList(names), mode);
}

static FrozenRowBinding *
frozen_row_binding(Relation rel, Trigger *trigger)
{
	WorkflowCacheSlot *slot;
	FrozenRowBinding *b;
	WorkflowDef *def;
	MemoryContext cxt;
	MemoryContext old;
	bool		found;
	int			i;

	slot = workflow_cache_slot(trigger->tgoid, &found);
	if (found)
		return (FrozenRowBinding *) slot->binding;

	if (trigger->tgnargs < 3)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger %s on table %s needs the arguments workflow, state column, id column and any still mutable columns",
						trigger->tgname, RelationGetRelationName(rel)),
				 errhint("Attach it with billing.freeze_records().")));

	(void) workflow_globals();
	def = workflow_def(trigger->tgargs[0]);
	cxt = workflow_cache_context();
	old = MemoryContextSwitchTo(cxt);
	b = palloc0(sizeof(FrozenRowBinding));
	b->def = def;
	b->entity = workflow_entity_name(rel);
	b->state_attnum = workflow_column(rel, trigger->tgargs[1], TEXTOID,
									  "workflow state");
	b->id_attnum = workflow_column(rel, trigger->tgargs[2], INT8OID,
								   "record id");
	for (i = 3; i < trigger->tgnargs; i++)
	{
		AttrNumber	attnum = get_attnum(RelationGetRelid(rel),
										trigger->tgargs[i]);

		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("column %s of table %s does not exist",
							trigger->tgargs[i], RelationGetRelationName(rel)),
					 errdetail("Trigger %s names it as still mutable once frozen.",
							   trigger->tgname)));
		b->mutable = bms_add_member(b->mutable, attnum);
	}
	MemoryContextSwitchTo(old);
	workflow_cache_watch(RelationGetRelid(rel));

	if (workflow_cache_context() == cxt)
	{
		slot = workflow_cache_slot(trigger->tgoid, &found);
		slot->binding = b;
	}
	return b;
}

static FrozenChildBinding *
frozen_child_binding(Relation rel, Trigger *trigger)
{
	WorkflowCacheSlot *slot;
	FrozenChildBinding *b;
	MemoryContext cxt;
	MemoryContext old;
	Relation	parent;
	Oid			argtypes[2] = {OIDOID, OIDOID};
	Datum		args[2];
	StringInfoData sql;
	bool		found;
	int			i;

	slot = workflow_cache_slot(trigger->tgoid, &found);
	if (found)
		return (FrozenChildBinding *) slot->binding;

	if (trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger %s on table %s needs one argument: the parent table",
						trigger->tgname, RelationGetRelationName(rel)),
				 errhint("Attach it with billing.freeze_children().")));

	(void) workflow_globals();
	parent = open_named_table(trigger->tgargs[0], AccessShareLock);
	cxt = workflow_cache_context();

	/* The one foreign key from the child to the parent. */
	args[0] = ObjectIdGetDatum(RelationGetRelid(rel));
	args[1] = ObjectIdGetDatum(RelationGetRelid(parent));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT c.oid, k.c, a.attname::pg_catalog.text,"
							  " a.atttypid FROM pg_catalog.pg_constraint c,"
							  " ROWS FROM (pg_catalog.unnest(c.conkey),"
							  " pg_catalog.unnest(c.confkey))"
							  " WITH ORDINALITY AS k(c, p, n),"
							  " pg_catalog.pg_attribute a"
							  " WHERE c.conrelid OPERATOR(pg_catalog.=) $1"
							  " AND c.confrelid OPERATOR(pg_catalog.=) $2"
							  " AND c.contype OPERATOR(pg_catalog.=) 'f'"
							  " AND a.attrelid OPERATOR(pg_catalog.=) c.confrelid"
							  " AND a.attnum OPERATOR(pg_catalog.=) k.p"
							  " ORDER BY c.oid, k.n",
							  2, argtypes, args, NULL, true, 0)
		!= SPI_OK_SELECT)
		elog(ERROR, "could not read the foreign keys of %s",
			 RelationGetRelationName(rel));
	if (SPI_processed == 0 ||
		strcmp(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1),
			   SPI_getvalue(SPI_tuptable->vals[SPI_processed - 1],
							SPI_tuptable->tupdesc, 1)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("table %s must have exactly one foreign key to %s",
						RelationGetRelationName(rel),
						RelationGetRelationName(parent)),
				 errdetail("Trigger %s freezes the rows of %s with their parent, found through that key.",
						   trigger->tgname, RelationGetRelationName(rel))));

	old = MemoryContextSwitchTo(cxt);
	b = palloc0(sizeof(FrozenChildBinding));
	b->entity = workflow_entity_name(rel);
	b->parent = RelationGetRelid(parent);
	b->parent_name = workflow_entity_name(parent);
	b->nkeys = (int) SPI_processed;
	b->child_attnums = palloc(sizeof(AttrNumber) * b->nkeys);
	b->key_types = palloc(sizeof(Oid) * b->nkeys);
	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT p FROM %s p WHERE ", b->parent_name);
	for (i = 0; i < b->nkeys; i++)
	{
		bool		isnull;

		b->child_attnums[i] =
			DatumGetInt16(SPI_getbinval(SPI_tuptable->vals[i],
										SPI_tuptable->tupdesc, 2, &isnull));
		b->key_types[i] =
			DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
										   SPI_tuptable->tupdesc, 4, &isnull));
		appendStringInfo(&sql, "%sp.%s OPERATOR(pg_catalog.=) $%d",
						 i > 0 ? " AND " : "",
						 quote_identifier(SPI_getvalue(SPI_tuptable->vals[i],
													   SPI_tuptable->tupdesc,
													   3)),
						 i + 1);
	}

	/*
	 * FOR SHARE: a parent being frozen by a concurrent transaction makes us
	 * wait for it and then see its new state, and a parent we have checked
	 * cannot be frozen under us before we commit.
	 */
	appendStringInfoString(&sql, " FOR SHARE");
	b->query = sql.data;
	MemoryContextSwitchTo(old);
	SPI_finish();

	workflow_cache_watch(RelationGetRelid(rel));
	workflow_cache_watch(RelationGetRelid(parent));
	table_close(parent, AccessShareLock);

	if (workflow_cache_context() == cxt)
	{
		slot = workflow_cache_slot(trigger->tgoid, &found);
		slot->binding = b;
	}
	return b;
}

/*
 * Is the parent of child row TUPLE frozen?  The parent is read and
 * share-locked as the owner of the parent table, so neither the caller's
 * privileges nor row-level security hide it.
 */
static bool
parent_is_frozen(Relation rel, FrozenChildBinding *b, HeapTuple tuple,
				 int depth, char **why)
{
	TupleDesc	desc = RelationGetDescr(rel);
	Datum	   *values = palloc(sizeof(Datum) * b->nkeys);
	Oid			save_userid;
	int			save_sec_context;
	Relation	parent;
	bool		frozen = false;
	int			i;

	for (i = 0; i < b->nkeys; i++)
	{
		bool		isnull;

		values[i] = heap_getattr(tuple, b->child_attnums[i], desc, &isnull);
		if (isnull)
			return false;		/* no parent: nothing to inherit */
	}

	parent = table_open(b->parent, AccessShareLock);
	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(parent->rd_rel->relowner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args(b->query, b->nkeys, b->key_types, values,
								  NULL, false, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read the parent row in %s", b->parent_name);
		if (SPI_processed == 1)
		{
			HeapTupleData row;
			HeapTupleHeader header;
			bool		isnull;
			Datum		d = SPI_getbinval(SPI_tuptable->vals[0],
										  SPI_tuptable->tupdesc, 1, &isnull);

			header = DatumGetHeapTupleHeader(d);
			row.t_len = HeapTupleHeaderGetDatumLength(header);
			ItemPointerSetInvalid(&row.t_self);
			row.t_tableOid = b->parent;
			row.t_data = header;
			frozen = row_is_frozen(parent, &row, depth + 1, why);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
	table_close(parent, AccessShareLock);
	return frozen;
}

/*
 * Is TUPLE of REL frozen, by its own state or through its parent?  WHY gets
 * a phrase naming the record whose state freezes it.
 */
static bool
row_is_frozen(Relation rel, HeapTuple tuple, int depth, char **why)
{
	WorkflowGlobals *g = workflow_globals();
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	if (depth > FROZEN_MAX_DEPTH)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("frozen children of %s nest more than %d deep",
						RelationGetRelationName(rel), FROZEN_MAX_DEPTH),
				 errhint("Look for a cycle among the billing.freeze_children() calls.")));
	if (trigdesc == NULL)
		return false;

	for (i = 0; i < trigdesc->numtriggers; i++)
	{
		Trigger    *trigger = &trigdesc->triggers[i];

		if (!trigger->tgenabled || trigger->tgenabled == TRIGGER_DISABLED)
			continue;
		if (trigger->tgfoid == g->frozen_row_fn)
		{
			FrozenRowBinding *b = frozen_row_binding(rel, trigger);
			TupleDesc	desc = RelationGetDescr(rel);
			bool		isnull;
			Datum		state = heap_getattr(tuple, b->state_attnum, desc,
											 &isnull);
			char	   *name;
			int			index;

			if (isnull)
				continue;
			name = TextDatumGetCString(state);
			index = workflow_state_index(b->def, name);
			if (index >= 0 && b->def->states[index].freezes)
			{
				Datum		id = heap_getattr(tuple, b->id_attnum, desc,
											  &isnull);

				*why = psprintf("%s %lld is %s", b->entity,
								isnull ? 0LL : (long long) DatumGetInt64(id),
								name);
				return true;
			}
		}
		else if (trigger->tgfoid == g->frozen_child_fn)
		{
			FrozenChildBinding *b = frozen_child_binding(rel, trigger);

			if (parent_is_frozen(rel, b, tuple, depth, why))
				return true;
		}
	}
	return false;
}

/*
 * billing.frozen_row(workflow, state_column, id_column [, mutable ...]):
 * refuse UPDATE and DELETE of a record whose state freezes it.  An UPDATE
 * may still change the state column (the workflow trigger judges the move)
 * and the columns named after the id column.
 *
 * Attach with billing.freeze_records(), which creates it as
 *	 BEFORE UPDATE OR DELETE ON <table> FOR EACH ROW
 *	 EXECUTE FUNCTION billing.frozen_row(workflow, state, id, mutable...)
 * together with billing.append_only() BEFORE TRUNCATE.
 */
Datum
frozen_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	FrozenRowBinding *b;
	TupleDesc	desc;
	HeapTuple	old;
	Datum		d;
	bool		isnull;
	char	   *state;
	int			index;
	int64		id;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_UPDATE(td->tg_event) ||
		  TRIGGER_FIRED_BY_DELETE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.frozen_row() must be fired BEFORE UPDATE OR DELETE FOR EACH ROW"),
				 errhint("Attach it with billing.freeze_records().")));

	b = frozen_row_binding(td->tg_relation, td->tg_trigger);
	desc = RelationGetDescr(td->tg_relation);
	old = td->tg_trigtuple;

	d = heap_getattr(old, b->state_attnum, desc, &isnull);
	if (isnull)
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(td->tg_event) ?
							   td->tg_newtuple : old);
	state = TextDatumGetCString(d);
	index = workflow_state_index(b->def, state);
	if (index < 0 || !b->def->states[index].freezes)
		return PointerGetDatum(TRIGGER_FIRED_BY_UPDATE(td->tg_event) ?
							   td->tg_newtuple : old);

	d = heap_getattr(old, b->id_attnum, desc, &isnull);
	id = isnull ? 0 : DatumGetInt64(d);

	if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_RECORD_FROZEN),
				 errmsg("%s %lld is %s and may not be deleted",
						b->entity, (long long) id, state),
				 errdetail("State \"%s\" of workflow \"%s\" freezes the record and its children.",
						   state, b->def->name),
				 errhint("Correct it with a new record: a credit note, a reversal or a new version.")));

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);
		Datum		a;
		Datum		n;
		bool		anull;
		bool		nnull;

		if (att->attisdropped || att->attnum == b->state_attnum ||
			bms_is_member(att->attnum, b->mutable))
			continue;
		a = heap_getattr(old, att->attnum, desc, &anull);
		n = heap_getattr(td->tg_newtuple, att->attnum, desc, &nnull);
		if (anull == nnull &&
			(anull || datum_image_eq(a, n, att->attbyval, att->attlen)))
			continue;
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_RECORD_FROZEN),
				 errmsg("%s %lld is %s and its %s may not be changed",
						b->entity, (long long) id, state,
						NameStr(att->attname)),
				 errdetail("State \"%s\" of workflow \"%s\" freezes the record and its children.",
						   state, b->def->name),
				 errhint("Correct it with a new record: a credit note, a reversal or a new version.")));
	}
	return PointerGetDatum(td->tg_newtuple);
}

/*
 * billing.frozen_child(parent): refuse INSERT, UPDATE and DELETE of a row
 * whose parent (found through the one foreign key to the parent table) is
 * frozen, directly or through its own parent.
 *
 * Attach with billing.freeze_children(child, parent), which creates it as
 *	 BEFORE INSERT OR UPDATE OR DELETE ON <child> FOR EACH ROW
 *	 EXECUTE FUNCTION billing.frozen_child('<parent table>')
 * together with billing.append_only() BEFORE TRUNCATE.
 */
Datum
frozen_child(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	FrozenChildBinding *b;
	HeapTuple	result;
	char	   *why = NULL;
	const char *verb;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.frozen_child() must be fired BEFORE INSERT OR UPDATE OR DELETE FOR EACH ROW"),
				 errhint("Attach it with billing.freeze_children().")));

	b = frozen_child_binding(td->tg_relation, td->tg_trigger);
	result = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ?
		td->tg_newtuple : td->tg_trigtuple;

	/*
	 * Loading rows validated elsewhere: a restore or a replica applying
	 * changes (session_replication_role = replica), or a migration.  Both
	 * are for superusers only; changing and deleting stay refused.
	 */
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) &&
		(workflow_migration ||
		 SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA))
		return PointerGetDatum(result);

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		verb = "added to";
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		verb = "deleted from";
	else
		verb = "changed in";

	/* The row's parent before the change, and after it if it moves. */
	if ((!TRIGGER_FIRED_BY_INSERT(td->tg_event) &&
		 parent_is_frozen(td->tg_relation, b, td->tg_trigtuple, 0, &why)) ||
		(!TRIGGER_FIRED_BY_DELETE(td->tg_event) &&
		 parent_is_frozen(td->tg_relation, b, result, 0, &why)))
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_RECORD_FROZEN),
				 errmsg("rows of %s may not be %s %s: %s",
						b->entity, verb, b->parent_name, why),
				 errdetail("A frozen record's children are frozen with it."),
				 errhint("Correct it with a new record: a credit note, a reversal or a new version.")));
	return PointerGetDatum(result);
}

/*
 * billing.append_only(): refuse the change outright.  As a BEFORE UPDATE OR
 * DELETE row trigger it makes a table append-only (the state history); as a
 * BEFORE TRUNCATE trigger it keeps TRUNCATE from emptying a table of frozen
 * records, which row triggers cannot see.
 *
 * Attached by the install script to billing.state_history, and by
 * billing.freeze_records() and billing.freeze_children() as
 *	 BEFORE TRUNCATE ON <table> FOR EACH STATEMENT
 *	 EXECUTE FUNCTION billing.append_only()
 */
Datum
append_only(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	char	   *entity;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		TRIGGER_FIRED_BY_INSERT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.append_only() must be fired BEFORE UPDATE, DELETE or TRUNCATE")));

	entity = workflow_entity_name(td->tg_relation);
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_RECORD_FROZEN),
				 errmsg("table %s may not be truncated: it holds frozen records",
						entity),
				 errdetail("TRUNCATE would remove records that billing keeps frozen."),
				 errhint("Delete the records that are not frozen with DELETE; frozen records are corrected with new records.")));
	ereport(ERROR,
			(errcode(ERRCODE_BILLING_RECORD_FROZEN),
			 errmsg("rows of %s may not be %s: the table is append-only",
					entity,
					TRIGGER_FIRED_BY_DELETE(td->tg_event) ? "deleted" : "changed"),
			 errdetail("Every row records a change that has happened."),
			 errhint("Record a correction as a new change instead.")));
	PG_RETURN_NULL();			/* not reached */
}
