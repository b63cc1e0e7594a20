/*
 * workflow.c
 *		The workflow trigger: every change of a record's state is checked
 *		against the workflow catalog and recorded in billing.state_history.
 *
 * billing.enforce_workflow(table, state column, workflow) attaches
 * billing.workflow_trigger() to a table as a BEFORE INSERT OR UPDATE OF
 * <state column> row trigger.  On each row it checks, in this order:
 *
 *	1. the new state exists in the workflow (ZB207);
 *	2. a new record starts in an initial state, and a changed state follows
 *	   a transition of the catalog (ZB201);
 *	3. the acting staff member may make the move: database role, staff
 *	   level, billing admin (ZB203; ZB902 when nobody can be identified);
 *	4. a reason code is given where the move requires one (ZB202);
 *	5. whoever prepared the record does not make a move that segregation
 *	   of duties keeps from them (ZB206);
 *	6. the move's guard function returns true (ZB204);
 *
 * and then writes one row of state history.  Who acts and why reach the
 * trigger the same way whatever the client: the transaction-local settings
 * billing.staff_id, billing.reason_code and billing.reason, which
 * billing.move() sets from its arguments; without billing.staff_id the
 * actor is the staff member of the record's firm whose role_name is the
 * current role.
 *
 * The history row is written straight into the heap and its indexes, not
 * through SQL: that is most of the difference between this trigger and
 * the same checks in PL/pgSQL (bench/workflow.sh), and it needs no
 * privilege on the history table, so callers may be given none.
 */
#include "billing.h"
#include "workflow.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/regproc.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

/* How a workflow trigger sees its table. */
typedef struct WorkflowBinding
{
	WorkflowDef *def;
	char	   *entity;			/* schema-qualified table name */
	AttrNumber	state_attnum;
	AttrNumber	id_attnum;
	AttrNumber	firm_attnum;
	AttrNumber *segregation_attnums;	/* per transition of def */
} WorkflowBinding;

/* The staff member making a move, once looked up. */
typedef struct Actor
{
	bool		found;
	int64		staff_id;
	int			level;			/* rank of billing.staff_level */
	bool		billing_admin;
	char	   *role;			/* current role */
} Actor;

/*
 * The last actor found, kept across statements and transactions: most
 * backends act for one person.  It is valid while the cache generation
 * stays the same (a statement trigger on billing.staff drops the cache when
 * staff change) and the firm, the role and billing.staff_id are the same.
 */
static struct
{
	bool		valid;
	uint64		generation;
	int64		firm;
	Oid			userid;
	char		given[32];
	Actor		actor;
	char	   *role_copy;		/* in TopMemoryContext */
}			last_actor;

/* Why a transition is closed to an actor, if it is. */
typedef enum Verdict
{
	VERDICT_OPEN,
	VERDICT_NO_ACTOR,
	VERDICT_ROLE,
	VERDICT_LEVEL,
	VERDICT_BILLING_ADMIN,
	VERDICT_SEGREGATION
} Verdict;

PG_FUNCTION_INFO_V1(workflow_trigger);
PG_FUNCTION_INFO_V1(workflow_catalog_changed);
PG_FUNCTION_INFO_V1(workflow_next_states);
PG_FUNCTION_INFO_V1(workflow_acting_staff_id);

/*
 * Build, or find in the cache, the binding of workflow trigger TRIGGER on
 * REL.  Its arguments are the workflow, the state column and the id column.
 */
static WorkflowBinding *
workflow_binding(Relation rel, Trigger *trigger)
{
	WorkflowCacheSlot *slot;
	WorkflowBinding *b;
	WorkflowDef *def;
	MemoryContext cxt;
	MemoryContext old;
	bool		found;
	int			i;

	slot = workflow_cache_slot(trigger->tgoid, &found);
	if (found)
		return (WorkflowBinding *) slot->binding;

	if (trigger->tgnargs != 3)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("trigger %s on table %s must have 3 arguments: workflow, state column, id column",
						trigger->tgname, RelationGetRelationName(rel)),
				 errhint("Attach workflows with billing.enforce_workflow().")));

	(void) workflow_globals();
	def = workflow_def(trigger->tgargs[0]);
	cxt = workflow_cache_context();
	old = MemoryContextSwitchTo(cxt);
	b = palloc0(sizeof(WorkflowBinding));
	b->def = def;
	b->entity = workflow_entity_name(rel);
	b->state_attnum = workflow_column(rel, trigger->tgargs[1], TEXTOID,
									  "workflow state");
	b->id_attnum = workflow_column(rel, trigger->tgargs[2], INT8OID,
								   "record id");
	b->firm_attnum = workflow_column(rel, "firm_id", INT8OID, "firm key");
	b->segregation_attnums = palloc0(sizeof(AttrNumber) *
									 Max(def->ntransitions, 1));
	for (i = 0; i < def->ntransitions; i++)
		if (def->transitions[i].segregation_column != NULL)
			b->segregation_attnums[i] =
				workflow_column(rel, def->transitions[i].segregation_column,
								INT8OID, "preparer of the record");
	MemoryContextSwitchTo(old);
	workflow_cache_watch(RelationGetRelid(rel));

	/* Keep it only if the cache was not dropped while we built it. */
	if (workflow_cache_context() == cxt)
	{
		slot = workflow_cache_slot(trigger->tgoid, &found);
		slot->binding = b;
	}
	return b;
}

/* The text value of column ATTNUM of TUPLE, or NULL. */
static char *
tuple_text(HeapTuple tuple, TupleDesc desc, AttrNumber attnum)
{
	bool		isnull;
	Datum		d = heap_getattr(tuple, attnum, desc, &isnull);

	return isnull ? NULL : TextDatumGetCString(d);
}

static int64
tuple_int8(HeapTuple tuple, TupleDesc desc, AttrNumber attnum, bool *isnull)
{
	Datum		d = heap_getattr(tuple, attnum, desc, isnull);

	return *isnull ? 0 : DatumGetInt64(d);
}

/*
 * Look up a staff member of FIRM by one unique key (staff_id or role_name)
 * through its index, and fill ACTOR.  Returns false when there is none or
 * the person is no longer active.
 */
static bool
staff_lookup(WorkflowGlobals *g, int64 firm, Oid index, AttrNumber keycol,
			 RegProcedure eqproc, Datum key, Actor *actor)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData keys[2];
	HeapTuple	tuple;
	bool		found = false;

	rel = table_open(g->staff_relid, AccessShareLock);
	ScanKeyInit(&keys[0], g->staff_firm_id, BTEqualStrategyNumber, F_INT8EQ,
				Int64GetDatum(firm));
	ScanKeyInit(&keys[1], keycol, BTEqualStrategyNumber, eqproc, key);
	scan = systable_beginscan(rel, index, true,
							  ActiveSnapshotSet() ? GetActiveSnapshot() :
							  GetTransactionSnapshot(), 2, keys);
	tuple = systable_getnext(scan);
	if (HeapTupleIsValid(tuple))
	{
		TupleDesc	desc = RelationGetDescr(rel);
		bool		isnull;
		Datum		level;
		int			i;

		found = DatumGetBool(heap_getattr(tuple, g->staff_active, desc,
										  &isnull)) && !isnull;
		actor->staff_id = DatumGetInt64(heap_getattr(tuple, g->staff_staff_id,
													 desc, &isnull));
		level = heap_getattr(tuple, g->staff_level, desc, &isnull);
		actor->level = -1;
		for (i = 0; i < g->nlevels; i++)
			if (g->level_oids[i] == DatumGetObjectId(level))
				actor->level = i;
		actor->billing_admin =
			DatumGetBool(heap_getattr(tuple, g->staff_billing_admin, desc,
									  &isnull)) && !isnull;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	actor->found = found;
	return found;
}

static void find_actor(WorkflowGlobals *g, int64 firm, const char *given,
					   Actor *actor);

/*
 * Find who acts for FIRM: billing.staff_id if set, else the staff member
 * whose role_name is the current role.  A staff id that names nobody active
 * in the firm is an error; a role that maps to nobody leaves found false,
 * which is an error only for moves that need to know who acts.
 */
static void
resolve_actor(WorkflowGlobals *g, int64 firm, Actor *actor)
{
	const char *given = setting_staff_id();
	Oid			userid = GetUserId();
	uint64		generation = workflow_cache_generation();

	if (last_actor.valid && last_actor.generation == generation &&
		last_actor.firm == firm && last_actor.userid == userid &&
		strcmp(last_actor.given, given ? given : "") == 0)
	{
		*actor = last_actor.actor;
		return;
	}
	last_actor.valid = false;
	find_actor(g, firm, given, actor);

	/* Only short settings are remembered; the role name is kept with it. */
	if (given == NULL || strlen(given) < sizeof(last_actor.given))
	{
		last_actor.actor = *actor;
		last_actor.actor.role = MemoryContextStrdup(TopMemoryContext,
													actor->role);
		if (last_actor.role_copy != NULL)
			pfree(last_actor.role_copy);
		last_actor.role_copy = last_actor.actor.role;
		last_actor.generation = generation;
		last_actor.firm = firm;
		last_actor.userid = userid;
		strlcpy(last_actor.given, given ? given : "", sizeof(last_actor.given));
		last_actor.valid = true;
	}
}

static void
find_actor(WorkflowGlobals *g, int64 firm, const char *given, Actor *actor)
{
	NameData	role;

	memset(actor, 0, sizeof(Actor));
	actor->role = GetUserNameFromId(GetUserId(), false);
	namestrcpy(&role, actor->role);

	if (given != NULL)
	{
		char	   *end;
		int64		staff_id;
		Actor		by_role;

		errno = 0;
		staff_id = strtoi64(given, &end, 10);
		if (errno != 0 || end == given || *end != '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
					 errmsg("billing.staff_id \"%s\" is not a staff id", given),
					 errhint("SET LOCAL billing.staff_id to the number of a staff member of the firm.")));
		if (!staff_lookup(g, firm, g->staff_pkey, g->staff_staff_id,
						  F_INT8EQ, Int64GetDatum(staff_id), actor))
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_UNKNOWN_ACTOR),
					 errmsg("billing.staff_id %lld is not an active staff member of firm %lld",
							(long long) staff_id, (long long) firm),
					 errhint("SET LOCAL billing.staff_id to an active staff member of the record's firm.")));

		/*
		 * A role that is itself a staff member acts as that person only:
		 * billing.staff_id lets a shared application role say whom it acts
		 * for, not a person borrow a colleague's level.
		 */
		if (staff_lookup(g, firm, g->staff_role_key, g->staff_role_name,
						 F_NAMEEQ, NameGetDatum(&role), &by_role) &&
			by_role.staff_id != staff_id)
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_ACTOR_NOT_PERMITTED),
					 errmsg("role %s is staff member %lld of firm %lld and may not act as staff member %lld",
							actor->role, (long long) by_role.staff_id,
							(long long) firm, (long long) staff_id),
					 errdetail("billing.staff_id names the person an application role acts for; a role mapped to a staff member always acts as that person."),
					 errhint("Reset billing.staff_id, or connect as a role that is not mapped to a staff member.")));
		return;
	}
	(void) staff_lookup(g, firm, g->staff_role_key, g->staff_role_name,
						F_NAMEEQ, NameGetDatum(&role), actor);
}

/*
 * billing.acting_staff_id(firm_id bigint, staff_id bigint DEFAULT NULL)
 *		The staff member acting for firm_id, by the very rule the workflow
 *		trigger applies: staff_id when given (standing in for the
 *		billing.staff_id setting), else the setting, else the active staff
 *		member whose role_name is the current role.  A role mapped to one
 *		person cannot act as another.  Raises ZB902 when nobody is found, so
 *		functions that record who approved something have one rule for "who
 *		acts" with the trigger.
 */
Datum
workflow_acting_staff_id(PG_FUNCTION_ARGS)
{
	char		given_buf[32];
	const char *given;
	int64		firm;
	Actor		actor;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	firm = PG_GETARG_INT64(0);
	if (!PG_ARGISNULL(1))
	{
		snprintf(given_buf, sizeof(given_buf), INT64_FORMAT,
				 PG_GETARG_INT64(1));
		given = given_buf;
	}
	else
		given = setting_staff_id();

	find_actor(workflow_globals(), firm, given, &actor);
	if (!actor.found)
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_UNKNOWN_ACTOR),
				 errmsg("no active staff member of firm %lld acts for role %s",
						(long long) firm, actor.role),
				 errdetail("Approvals and change orders record the staff member who made them."),
				 errhint("Pass the staff member, SET LOCAL billing.staff_id, or map the role in billing.staff.role_name.")));
	PG_RETURN_INT64(actor.staff_id);
}

/* Is transition T open to ACTOR, for a record prepared by PREPARER? */
static Verdict
judge(WorkflowTransition *t, Actor *actor, bool has_preparer, int64 preparer)
{
	if (t->role_name != NULL &&
		(!OidIsValid(t->role) || !has_privs_of_role(GetUserId(), t->role)))
		return VERDICT_ROLE;
	if ((t->min_level >= 0 || t->billing_admin ||
		 t->segregation_column != NULL) && !actor->found)
		return VERDICT_NO_ACTOR;
	if (t->min_level >= 0 && actor->level < t->min_level)
		return VERDICT_LEVEL;
	if (t->billing_admin && !actor->billing_admin)
		return VERDICT_BILLING_ADMIN;
	if (t->segregation_column != NULL && has_preparer &&
		preparer == actor->staff_id)
		return VERDICT_SEGREGATION;
	return VERDICT_OPEN;
}

/* Call the guard of T for a record; a NULL result counts as false. */
static bool
guard_met(WorkflowTransition *t, int64 firm, int64 id)
{
	FmgrInfo	flinfo;
	Datum		result;

	LOCAL_FCINFO(fcinfo, 2);

	if (!OidIsValid(t->guard))
		return true;
	fmgr_info(t->guard, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, 2, InvalidOid, NULL, NULL);
	fcinfo->args[0].value = Int64GetDatum(firm);
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = Int64GetDatum(id);
	fcinfo->args[1].isnull = false;
	result = FunctionCallInvoke(fcinfo);
	return !fcinfo->isnull && DatumGetBool(result);
}

/*
 * workflow_allowed_next: the states reachable from state FROM of DEF, as a
 * comma-separated list for error details.
 */
char *
workflow_allowed_next(WorkflowDef *def, int from)
{
	WorkflowState *s = &def->states[from];
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = s->first; i < s->first + s->count; i++)
		appendStringInfo(&buf, "%s%s", i > s->first ? ", " : "",
						 def->states[def->transitions[i].to].name);
	return buf.data;
}

static char *
states_list(WorkflowDef *def, bool initial_only)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < def->nstates; i++)
		if (!initial_only || def->states[i].initial)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
							 def->states[i].name);
	return buf.data;
}

/*
 * Write one row of state history straight into the heap and its indexes.
 * No privilege on the table is checked: the row records a move the trigger
 * has just allowed, whoever the caller is.
 */
static void
write_history(WorkflowGlobals *g, WorkflowBinding *b, int64 firm, int64 id,
			  const char *from, const char *to, Actor *actor)
{
	Relation	rel;
	TupleDesc	desc;
	Datum	   *values;
	bool	   *nulls;
	NameData   *role;
	const char *reason_code = setting_reason_code();
	const char *reason = setting_reason();
	HeapTuple	tuple;
	EState	   *estate;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	List	   *recheck;

	if (reason == NULL && from == NULL && workflow_migration)
		reason = "loaded with billing.migration on";

	rel = table_open(g->history_relid, RowExclusiveLock);
	desc = RelationGetDescr(rel);
	values = palloc0(sizeof(Datum) * desc->natts);
	nulls = palloc(sizeof(bool) * desc->natts);
	memset(nulls, true, sizeof(bool) * desc->natts);

#define SET_HISTORY(column, value) \
	do { \
		values[g->history_att[column] - 1] = (value); \
		nulls[g->history_att[column] - 1] = false; \
	} while (0)

	SET_HISTORY(HISTORY_FIRM_ID, Int64GetDatum(firm));
	SET_HISTORY(HISTORY_STATE_HISTORY_ID,
				Int64GetDatum(nextval_internal(g->history_seq, false)));
	SET_HISTORY(HISTORY_ENTITY, CStringGetTextDatum(b->entity));
	SET_HISTORY(HISTORY_ENTITY_ID, Int64GetDatum(id));
	SET_HISTORY(HISTORY_WORKFLOW, CStringGetTextDatum(b->def->name));
	if (from != NULL)
		SET_HISTORY(HISTORY_FROM_STATE, CStringGetTextDatum(from));
	SET_HISTORY(HISTORY_TO_STATE, CStringGetTextDatum(to));
	SET_HISTORY(HISTORY_CHANGED_AT,
				TimestampTzGetDatum(GetCurrentTransactionStartTimestamp()));
	if (actor->found)
		SET_HISTORY(HISTORY_STAFF_ID, Int64GetDatum(actor->staff_id));
	role = palloc0(sizeof(NameData));
	namestrcpy(role, actor->role);
	SET_HISTORY(HISTORY_ROLE_NAME, NameGetDatum(role));
	if (reason_code != NULL)
		SET_HISTORY(HISTORY_REASON_CODE, CStringGetTextDatum(reason_code));
	if (reason != NULL)
		SET_HISTORY(HISTORY_REASON, CStringGetTextDatum(reason));
#undef SET_HISTORY

	tuple = heap_form_tuple(desc, values, nulls);

	if (g->history_plain)
	{
		int			i;

		simple_heap_insert(rel, tuple);
		for (i = 0; i < g->history_nindexes; i++)
		{
			IndexInfo  *info = g->history_index_info[i];
			Relation	index = index_open(g->history_indexes[i],
										   RowExclusiveLock);
			Datum		ivalues[INDEX_MAX_KEYS];
			bool		inulls[INDEX_MAX_KEYS];
			int			k;

			for (k = 0; k < info->ii_NumIndexAttrs; k++)
			{
				AttrNumber	attnum = info->ii_IndexAttrNumbers[k];

				ivalues[k] = values[attnum - 1];
				inulls[k] = nulls[attnum - 1];
			}
			index_insert(index, ivalues, inulls, &tuple->t_self, rel,
						 info->ii_Unique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
						 false, info);
			index_close(index, NoLock);
		}
		table_close(rel, NoLock);
		return;
	}

	estate = CreateExecutorState();
	rri = makeNode(ResultRelInfo);
	InitResultRelInfo(rri, rel, 1, NULL, 0);
	ExecOpenIndices(rri, false);
	slot = ExecInitExtraTupleSlot(estate, desc, &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tuple, slot, false);
	simple_table_tuple_insert(rel, slot);
	if (rri->ri_NumIndices > 0)
	{
#if PG_VERSION_NUM >= 160000
		recheck = ExecInsertIndexTuples(rri, slot, estate, false, false,
										NULL, NIL, false);
#else
		recheck = ExecInsertIndexTuples(rri, slot, estate, false, false,
										NULL, NIL);
#endif
		list_free(recheck);
	}
	ExecCloseIndices(rri);
	ExecResetTupleTable(estate->es_tupleTable, false);
	FreeExecutorState(estate);
	table_close(rel, NoLock);
}

/*
 * billing.workflow_trigger(): enforce a workflow on a table's state column
 * and record every change of state.
 *
 * Attach with billing.enforce_workflow(table, state_column, workflow), which
 * creates it as
 *	 BEFORE INSERT OR UPDATE OF <state_column> ON <table> FOR EACH ROW
 *	 EXECUTE FUNCTION
 *		 billing.workflow_trigger(workflow, state_column, id_column)
 * The table must have firm_id bigint, the id column bigint and the state
 * column text.  An UPDATE that leaves the state as it was is let through
 * and not recorded.
 */
Datum
workflow_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	WorkflowGlobals *g;
	WorkflowBinding *b;
	WorkflowDef *def;
	TupleDesc	desc;
	HeapTuple	newtuple;
	char	   *old_state = NULL;
	char	   *new_state;
	int64		firm;
	int64		id;
	bool		firm_null;
	bool		id_null;
	int			from = -1;
	int			to;
	int			i;
	WorkflowTransition *t = NULL;
	AttrNumber	segregation_attnum = InvalidAttrNumber;
	Actor		actor;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BEFORE(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(td->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(td->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.workflow_trigger() must be fired BEFORE INSERT OR UPDATE FOR EACH ROW"),
				 errhint("Attach workflows with billing.enforce_workflow().")));

	g = workflow_globals();
	b = workflow_binding(td->tg_relation, td->tg_trigger);
	def = b->def;
	desc = RelationGetDescr(td->tg_relation);
	newtuple = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ?
		td->tg_newtuple : td->tg_trigtuple;

	new_state = tuple_text(newtuple, desc, b->state_attnum);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		old_state = tuple_text(td->tg_trigtuple, desc, b->state_attnum);
		if (old_state != NULL && new_state != NULL &&
			strcmp(old_state, new_state) == 0)
			return PointerGetDatum(newtuple);
	}

	firm = tuple_int8(newtuple, desc, b->firm_attnum, &firm_null);
	id = tuple_int8(newtuple, desc, b->id_attnum, &id_null);
	if (firm_null || id_null)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("a record of %s under workflow \"%s\" needs a firm_id and an id",
						b->entity, def->name)));

	to = new_state ? workflow_state_index(def, new_state) : -1;
	if (to < 0)
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_UNKNOWN_STATE),
				 errmsg("%s %lld cannot enter state \"%s\": workflow \"%s\" has no such state",
						b->entity, (long long) id,
						new_state ? new_state : "(null)", def->name),
				 errdetail("The states of workflow \"%s\" are: %s.",
						   def->name, states_list(def, false)),
				 errhint("Use one of the states listed in billing.workflow_state.")));

	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
	{
		if (!def->states[to].initial && !workflow_migration)
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_TRANSITION_NOT_ALLOWED),
					 errmsg("%s %lld may not be created in state \"%s\"",
							b->entity, (long long) id, new_state),
					 errdetail("A new record of workflow \"%s\" starts in: %s.",
							   def->name, states_list(def, true)),
					 errhint("Create the record in a starting state, then move it; to load records validated elsewhere, a superuser may SET billing.migration = on.")));
	}
	else
	{
		from = old_state ? workflow_state_index(def, old_state) : -1;
		if (from < 0)
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_UNKNOWN_STATE),
					 errmsg("%s %lld is in state \"%s\", which workflow \"%s\" does not have",
							b->entity, (long long) id,
							old_state ? old_state : "(null)", def->name),
					 errdetail("The states of workflow \"%s\" are: %s.",
							   def->name, states_list(def, false)),
					 errhint("Add the state to billing.workflow_state, or correct the record with the workflow trigger disabled.")));

		for (i = def->states[from].first;
			 i < def->states[from].first + def->states[from].count; i++)
		{
			if (def->transitions[i].to == to)
			{
				t = &def->transitions[i];
				segregation_attnum = b->segregation_attnums[i];
				break;
			}
		}
		if (t == NULL)
		{
			if (def->states[from].count == 0)
				ereport(ERROR,
						(errcode(ERRCODE_BILLING_TRANSITION_NOT_ALLOWED),
						 errmsg("%s %lld may not move from \"%s\" to \"%s\"",
								b->entity, (long long) id, old_state,
								new_state),
						 errdetail("State \"%s\" of workflow \"%s\" is final: no move leaves it.",
								   old_state, def->name),
						 errhint("Correct the record with a new one (a credit note, a reversal, a new version) instead of moving it.")));
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_TRANSITION_NOT_ALLOWED),
					 errmsg("%s %lld may not move from \"%s\" to \"%s\"",
							b->entity, (long long) id, old_state, new_state),
					 errdetail("Allowed next states from \"%s\" in workflow \"%s\": %s.",
							   old_state, def->name,
							   workflow_allowed_next(def, from)),
					 errhint("Move the record to one of the allowed states; billing.next_states() lists the moves open to you.")));
		}
	}

	resolve_actor(g, firm, &actor);

	if (t != NULL)
	{
		bool		has_preparer = false;
		int64		preparer = 0;

		if (segregation_attnum != InvalidAttrNumber)
		{
			bool		isnull;

			preparer = tuple_int8(newtuple, desc, segregation_attnum, &isnull);
			has_preparer = !isnull;
		}

		switch (judge(t, &actor, has_preparer, preparer))
		{
			case VERDICT_OPEN:
				break;
			case VERDICT_ROLE:
				ereport(ERROR,
						(errcode(ERRCODE_BILLING_ACTOR_NOT_PERMITTED),
						 errmsg("role %s may not move %s %lld from \"%s\" to \"%s\"",
								actor.role, b->entity, (long long) id,
								old_state, new_state),
						 errdetail("This move of workflow \"%s\" is reserved to members of role %s.",
								   def->name, t->role_name),
						 errhint("Ask a member of role %s to make this move.",
								 t->role_name)));
				break;
			case VERDICT_NO_ACTOR:
				ereport(ERROR,
						(errcode(ERRCODE_BILLING_UNKNOWN_ACTOR),
						 errmsg("no staff member of firm %lld acts as role %s",
								(long long) firm, actor.role),
						 errdetail("Moving %s %lld from \"%s\" to \"%s\" needs to know which staff member makes the move.",
								   b->entity, (long long) id, old_state,
								   new_state),
						 errhint("SET LOCAL billing.staff_id to the acting staff member, or map the role in billing.staff.role_name.")));
				break;
			case VERDICT_LEVEL:
				ereport(ERROR,
						(errcode(ERRCODE_BILLING_ACTOR_NOT_PERMITTED),
						 errmsg("staff member %lld may not move %s %lld from \"%s\" to \"%s\"",
								(long long) actor.staff_id, b->entity,
								(long long) id, old_state, new_state),
						 errdetail("This move of workflow \"%s\" needs staff level %s or higher; staff member %lld is %s.",
								   def->name, t->min_level_name,
								   (long long) actor.staff_id,
								   actor.level >= 0 ?
								   g->level_names[actor.level] : "unranked"),
						 errhint("Ask a staff member at level %s or higher to make this move.",
								 t->min_level_name)));
				break;
			case VERDICT_BILLING_ADMIN:
				ereport(ERROR,
						(errcode(ERRCODE_BILLING_ACTOR_NOT_PERMITTED),
						 errmsg("staff member %lld may not move %s %lld from \"%s\" to \"%s\"",
								(long long) actor.staff_id, b->entity,
								(long long) id, old_state, new_state),
						 errdetail("This move of workflow \"%s\" is reserved to billing admins.",
								   def->name),
						 errhint("Ask a billing admin to make this move.")));
				break;
			case VERDICT_SEGREGATION:
				ereport(ERROR,
						(errcode(ERRCODE_BILLING_SEGREGATION_OF_DUTIES),
						 errmsg("staff member %lld may not move %s %lld from \"%s\" to \"%s\" because they prepared it",
								(long long) actor.staff_id, b->entity,
								(long long) id, old_state, new_state),
						 errdetail("Column %s names staff member %lld as the preparer, and whoever prepared a record may not make this move.",
								   t->segregation_column,
								   (long long) actor.staff_id),
						 errhint("Have another staff member make this move.")));
				break;
		}

		if (t->reason_required && setting_reason_code() == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_REASON_REQUIRED),
					 errmsg("moving %s %lld from \"%s\" to \"%s\" requires a reason code",
							b->entity, (long long) id, old_state, new_state),
					 errdetail("Workflow \"%s\" records why this move is made.",
							   def->name),
					 errhint("Pass a reason code to billing.move(), or SET LOCAL billing.reason_code before the UPDATE.")));

		if (!guard_met(t, firm, id))
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_GUARD_FAILED),
					 errmsg("%s %lld may not move from \"%s\" to \"%s\": its rule is not met",
							b->entity, (long long) id, old_state, new_state),
					 errdetail("The move requires that %s (checked by %s).",
							   t->guard_rule ? t->guard_rule : "its guard returns true",
							   format_procedure(t->guard)),
					 errhint("Meet the rule first, then make the move again.")));
	}

	write_history(g, b, firm, id, old_state, new_state, &actor);
	return PointerGetDatum(newtuple);
}

/*
 * billing.workflow_catalog_changed(): tell every backend to drop its cached
 * workflows.  The relcache invalidation of the catalog table is sent at
 * commit (and applied at once in this backend); the callback in
 * workflow_cache.c turns it into a rebuild on next use.
 *
 * Attached by the install script to each catalog table as
 *	 AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON <catalog table>
 *	 FOR EACH STATEMENT EXECUTE FUNCTION billing.workflow_catalog_changed()
 */
Datum
workflow_catalog_changed(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.workflow_catalog_changed() must be fired AFTER ... FOR EACH STATEMENT")));

	CacheInvalidateRelcacheByRelid(RelationGetRelid(td->tg_relation));
	return PointerGetDatum(NULL);
}

/*
 * billing.next_states(entity regclass, firm_id bigint, entity_id bigint):
 * the moves open to the current actor from the record's current state,
 * judged by the same rules as the trigger (role, level, billing admin,
 * segregation of duties), with whether a reason is required and whether the
 * move's guard is met now.  Errors if the table has no workflow or the
 * record does not exist (or is not visible to the caller).
 */
Datum
workflow_next_states(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			relid = PG_GETARG_OID(0);
	int64		firm = PG_GETARG_INT64(1);
	int64		id = PG_GETARG_INT64(2);
	WorkflowGlobals *g;
	Relation	rel;
	Trigger    *trigger = NULL;
	WorkflowBinding *b;
	WorkflowDef *def;
	TupleDesc	desc;
	StringInfoData sql;
	char	   *firm_column;
	char	   *id_column;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	HeapTupleData row;
	HeapTupleHeader header;
	bool		isnull;
	char	   *state;
	int			from;
	int			i;
	Actor		actor;

	InitMaterializedSRF(fcinfo, 0);
	g = workflow_globals();

	rel = table_open(relid, AccessShareLock);
	if (rel->trigdesc != NULL)
		for (i = 0; i < rel->trigdesc->numtriggers; i++)
			if (rel->trigdesc->triggers[i].tgfoid == g->workflow_trigger_fn)
				trigger = &rel->trigdesc->triggers[i];
	if (trigger == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("table %s has no workflow", RelationGetRelationName(rel)),
				 errhint("Attach one with billing.enforce_workflow().")));
	b = workflow_binding(rel, trigger);
	def = b->def;
	desc = CreateTupleDescCopy(RelationGetDescr(rel));

	/* Read the record as the caller: row-level security applies. */
	initStringInfo(&sql);
	firm_column = NameStr(TupleDescAttr(desc, b->firm_attnum - 1)->attname);
	id_column = NameStr(TupleDescAttr(desc, b->id_attnum - 1)->attname);
	appendStringInfo(&sql,
					 "SELECT r FROM %s r WHERE r.%s OPERATOR(pg_catalog.=) $1"
					 " AND r.%s OPERATOR(pg_catalog.=) $2",
					 b->entity, quote_identifier(firm_column),
					 quote_identifier(id_column));
	table_close(rel, AccessShareLock);

	args[0] = Int64GetDatum(firm);
	args[1] = Int64GetDatum(id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args(sql.data, 2, argtypes, args, NULL, true, 1) !=
		SPI_OK_SELECT)
		elog(ERROR, "could not read %s", b->entity);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_NO_DATA_FOUND),
				 errmsg("%s %lld of firm %lld does not exist",
						b->entity, (long long) id, (long long) firm)));
	header = DatumGetHeapTupleHeader(SPI_getbinval(SPI_tuptable->vals[0],
												   SPI_tuptable->tupdesc, 1,
												   &isnull));
	row.t_len = HeapTupleHeaderGetDatumLength(header);
	ItemPointerSetInvalid(&row.t_self);
	row.t_tableOid = relid;
	row.t_data = header;

	state = tuple_text(&row, desc, b->state_attnum);
	from = state ? workflow_state_index(def, state) : -1;
	resolve_actor(g, firm, &actor);

	if (from >= 0)
	{
		WorkflowState *s = &def->states[from];

		for (i = s->first; i < s->first + s->count; i++)
		{
			WorkflowTransition *t = &def->transitions[i];
			bool		has_preparer = false;
			int64		preparer = 0;
			Datum		values[4];
			bool		nulls[4] = {false, false, false, false};

			if (b->segregation_attnums[i] != InvalidAttrNumber)
			{
				preparer = tuple_int8(&row, desc, b->segregation_attnums[i],
									  &isnull);
				has_preparer = !isnull;
			}
			if (judge(t, &actor, has_preparer, preparer) != VERDICT_OPEN)
				continue;

			values[0] = CStringGetTextDatum(def->states[t->to].name);
			values[1] = BoolGetDatum(t->reason_required);
			if (t->guard_rule != NULL)
				values[2] = CStringGetTextDatum(t->guard_rule);
			else
				nulls[2] = true;
			values[3] = BoolGetDatum(guard_met(t, firm, id));
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
								 values, nulls);
		}
	}
	SPI_finish();
	return (Datum) 0;
}

