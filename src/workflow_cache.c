/*
 * workflow_cache.c
 *		The per-backend cache of the workflow catalog and of the bindings of
 *		workflow and frozen-record triggers.
 *
 * Reading billing.workflow_state and billing.workflow_transition on every
 * row would cost more than the update being checked, so each backend reads
 * them once into one memory context: a WorkflowDef per workflow (keyed by
 * name) and a slot per trigger (keyed by the trigger's OID) that the
 * trigger's own file fills with what it needs.
 *
 * The cache is dropped as a whole when anything it was built from changes.
 * A statement trigger on the catalog tables (workflow_catalog_changed in
 * workflow.c) sends a relcache invalidation for the catalog table; the
 * callback registered here in _PG_init sees it, in this backend at the end
 * of the changing command and in every other backend at its next statement
 * after the commit, and marks the cache stale.  Relcache invalidations of
 * the tables the bindings read (the bound tables, billing.staff,
 * billing.state_history, parents of frozen children) and changes to roles do
 * the same.  A stale cache is not freed while a caller may still hold
 * pointers into it: its context is handed to the current transaction, which
 * frees it at its end, and a fresh one is built on the next use.
 */
#include "billing.h"
#include "workflow.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/index.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_index.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "miscadmin.h"
#include "executor/spi.h"
#include "nodes/execnodes.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/catcache.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

static MemoryContext cache_cxt = NULL;
static HTAB *definitions = NULL;
static HTAB *slots = NULL;
static WorkflowGlobals *globals = NULL;
static bool cache_stale = false;
static uint64 cache_generation = 0;

/* Relations whose invalidation makes the cache stale. */
static Oid *watched = NULL;
static int	nwatched = 0;
static int	maxwatched = 0;

static void
mark_stale(void)
{
	if (cache_cxt != NULL)
		cache_stale = true;
}

/*
 * Relcache invalidation callback: InvalidOid means "every relation" (after
 * an invalidation queue overflow); otherwise only relations we watch matter.
 * Nothing here may read the catalogs or allocate.
 */
static void
workflow_relcache_callback(Datum arg, Oid relid)
{
	int			i;

	if (cache_cxt == NULL || cache_stale)
		return;
	if (!OidIsValid(relid))
	{
		cache_stale = true;
		return;
	}
	for (i = 0; i < nwatched; i++)
	{
		if (watched[i] == relid)
		{
			cache_stale = true;
			return;
		}
	}
}

/* A role was created, renamed or dropped: role OIDs we hold may be wrong. */
static void
workflow_role_callback(Datum arg, int cacheid, uint32 hashvalue)
{
	mark_stale();
}

/*
 * billing.migration: while on, records may be created in any state of their
 * workflow and under frozen parents, so that data already validated
 * elsewhere (a migration, the demo firm) can be loaded.  Only superusers may
 * turn it on; moves are judged as always.
 */
bool		workflow_migration = false;

/*
 * workflow_init: define billing.migration and register the invalidation
 * callbacks.  Called once per backend from _PG_init.
 */
void
workflow_init(void)
{
	DefineCustomBoolVariable("billing.migration",
							 "Lets records be created in any state of their workflow.",
							 "For loading data validated elsewhere; moves are still judged.",
							 &workflow_migration, false, PGC_SUSET, 0,
							 NULL, NULL, NULL);
	CacheRegisterRelcacheCallback(workflow_relcache_callback, (Datum) 0);
	CacheRegisterSyscacheCallback(AUTHNAME, workflow_role_callback, (Datum) 0);
}

/*
 * Make the cache usable: drop a stale one (handing its memory to the current
 * transaction, so pointers held by callers stay valid until it ends) and
 * create an empty one.
 */
static void
cache_ensure(void)
{
	HASHCTL		ctl;

	if (cache_cxt != NULL && !cache_stale)
		return;

	if (cache_cxt != NULL)
	{
		if (IsTransactionState())
			MemoryContextSetParent(cache_cxt, TopTransactionContext);
		else
			MemoryContextDelete(cache_cxt);
	}
	cache_cxt = NULL;
	definitions = NULL;
	slots = NULL;
	globals = NULL;
	watched = NULL;
	nwatched = maxwatched = 0;
	cache_stale = false;
	cache_generation++;

	cache_cxt = AllocSetContextCreate(CacheMemoryContext,
									  "billing workflow cache",
									  ALLOCSET_SMALL_SIZES);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN;
	ctl.entrysize = sizeof(WorkflowDef);
	ctl.hcxt = cache_cxt;
	definitions = hash_create("billing workflow definitions", 16, &ctl,
							  HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(WorkflowCacheSlot);
	ctl.hcxt = cache_cxt;
	slots = hash_create("billing workflow bindings", 32, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	maxwatched = 16;
	watched = MemoryContextAlloc(cache_cxt, maxwatched * sizeof(Oid));
}

/*
 * workflow_cache_context: the memory context of the current cache, made
 * fresh first if it was stale.  Everything a binding keeps goes here.
 */
MemoryContext
workflow_cache_context(void)
{
	cache_ensure();
	return cache_cxt;
}

/*
 * workflow_cache_generation: a number that changes whenever the cache is
 * dropped; what a caller keeps outside the cache is valid while it stays.
 */
uint64
workflow_cache_generation(void)
{
	cache_ensure();
	return cache_generation;
}

/*
 * workflow_cache_watch: drop the cache when this relation changes.
 */
void
workflow_cache_watch(Oid relid)
{
	int			i;

	cache_ensure();
	for (i = 0; i < nwatched; i++)
		if (watched[i] == relid)
			return;
	if (nwatched == maxwatched)
	{
		maxwatched *= 2;
		watched = repalloc(watched, maxwatched * sizeof(Oid));
	}
	watched[nwatched++] = relid;
}

/* The OID of billing.NAME, which the install script created. */
static Oid
billing_relid(Oid namespace, const char *name)
{
	Oid			relid = get_relname_relid(name, namespace);

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table billing.%s does not exist", name),
				 errhint("Reinstall the billing extension.")));
	return relid;
}

static AttrNumber
billing_attnum(Oid relid, const char *column)
{
	AttrNumber	attnum = get_attnum(relid, column);

	if (attnum == InvalidAttrNumber)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column %s of billing table %s does not exist",
						column, get_rel_name(relid)),
				 errhint("Reinstall the billing extension.")));
	return attnum;
}

static Oid
billing_function(const char *name)
{
	return LookupFuncName(list_make2(makeString("billing"),
									 makeString(pstrdup(name))),
						  0, NULL, false);
}

/* The index of rel whose key is exactly (first, second), or InvalidOid. */
static Oid
index_on(Relation rel, AttrNumber first, AttrNumber second)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			found = InvalidOid;

	foreach(lc, indexes)
	{
		Oid			indexoid = lfirst_oid(lc);
		HeapTuple	tuple = SearchSysCache1(INDEXRELID,
											ObjectIdGetDatum(indexoid));
		Form_pg_index index;

		if (!HeapTupleIsValid(tuple))
			continue;
		index = (Form_pg_index) GETSTRUCT(tuple);
		if (index->indnkeyatts == 2 && index->indisunique &&
			index->indkey.values[0] == first &&
			index->indkey.values[1] == second &&
			heap_attisnull(tuple, Anum_pg_index_indexprs, NULL) &&
			heap_attisnull(tuple, Anum_pg_index_indpred, NULL))
			found = indexoid;
		ReleaseSysCache(tuple);
		if (OidIsValid(found))
			break;
	}
	list_free(indexes);
	return found;
}

/* Names of the HistoryColumn columns, in the enum's order. */
static const char *const history_columns[HISTORY_NCOLUMNS] = {
	"firm_id", "state_history_id", "entity", "entity_id", "workflow",
	"from_state", "to_state", "changed_at", "staff_id", "role_name",
	"reason_code", "reason"
};

/*
 * Note the indexes of billing.state_history.  When each is a plain index on
 * columns, the workflow trigger fills them itself from the values of the
 * row; an index on expressions or a partial one sends it through the
 * executor's general path instead.  Creating or dropping an index
 * invalidates the table's relcache entry, which drops this cache.
 */
static void
find_history_indexes(WorkflowGlobals *g)
{
	Relation	rel = table_open(g->history_relid, AccessShareLock);
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	int			i = 0;

	g->history_plain = true;
	g->history_nindexes = list_length(indexes);
	g->history_indexes = palloc(sizeof(Oid) * Max(g->history_nindexes, 1));
	g->history_index_info = palloc(sizeof(IndexInfo *) *
								   Max(g->history_nindexes, 1));
	foreach(lc, indexes)
	{
		Relation	index = index_open(lfirst_oid(lc), AccessShareLock);
		IndexInfo  *info = BuildIndexInfo(index);

		if (info->ii_Expressions != NIL || info->ii_Predicate != NIL ||
			info->ii_ExclusionOps != NULL || !index->rd_index->indimmediate)
			g->history_plain = false;
		g->history_indexes[i] = lfirst_oid(lc);
		g->history_index_info[i] = info;
		i++;
		index_close(index, AccessShareLock);
	}
	list_free(indexes);
	table_close(rel, AccessShareLock);
}

static int
compare_enum_order(const void *a, const void *b)
{
	Form_pg_enum x = (Form_pg_enum) GETSTRUCT(*(const HeapTuple *) a);
	Form_pg_enum y = (Form_pg_enum) GETSTRUCT(*(const HeapTuple *) b);

	if (x->enumsortorder != y->enumsortorder)
		return x->enumsortorder < y->enumsortorder ? -1 : 1;
	return 0;
}

/*
 * workflow_globals: the OIDs and column numbers of the extension's own
 * tables and functions that the triggers use, found once per cache.
 */
WorkflowGlobals *
workflow_globals(void)
{
	WorkflowGlobals *g;
	MemoryContext old;
	Relation	staff;
	Oid			level_type;
	CatCList   *list;
	HeapTuple  *members;
	int			i;

	cache_ensure();
	if (globals != NULL)
		return globals;

	old = MemoryContextSwitchTo(cache_cxt);
	g = palloc0(sizeof(WorkflowGlobals));

	g->namespace = get_namespace_oid("billing", false);
	g->staff_relid = billing_relid(g->namespace, "staff");
	g->staff_firm_id = billing_attnum(g->staff_relid, "firm_id");
	g->staff_staff_id = billing_attnum(g->staff_relid, "staff_id");
	g->staff_level = billing_attnum(g->staff_relid, "level");
	g->staff_billing_admin = billing_attnum(g->staff_relid,
											"is_billing_admin");
	g->staff_role_name = billing_attnum(g->staff_relid, "role_name");
	g->staff_active = billing_attnum(g->staff_relid, "active");

	staff = table_open(g->staff_relid, AccessShareLock);
	g->staff_pkey = index_on(staff, g->staff_firm_id, g->staff_staff_id);
	g->staff_role_key = index_on(staff, g->staff_firm_id,
								 g->staff_role_name);
	table_close(staff, AccessShareLock);
	if (!OidIsValid(g->staff_pkey) || !OidIsValid(g->staff_role_key))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("billing.staff lacks its unique keys on (firm_id, staff_id) and (firm_id, role_name)"),
				 errhint("Reinstall the billing extension.")));

	/* Staff levels, lowest first, as the enum orders them. */
	level_type = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
								 CStringGetDatum("staff_level"),
								 ObjectIdGetDatum(g->namespace));
	if (!OidIsValid(level_type))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type billing.staff_level does not exist"),
				 errhint("Reinstall the billing extension.")));
	list = SearchSysCacheList1(ENUMTYPOIDNAME, ObjectIdGetDatum(level_type));
	g->nlevels = list->n_members;
	members = palloc(sizeof(HeapTuple) * Max(g->nlevels, 1));
	for (i = 0; i < list->n_members; i++)
		members[i] = &list->members[i]->tuple;
	qsort(members, g->nlevels, sizeof(HeapTuple), compare_enum_order);
	g->level_oids = palloc(sizeof(Oid) * Max(g->nlevels, 1));
	g->level_names = palloc(sizeof(char *) * Max(g->nlevels, 1));
	for (i = 0; i < g->nlevels; i++)
	{
		Form_pg_enum e = (Form_pg_enum) GETSTRUCT(members[i]);

		g->level_oids[i] = e->oid;
		g->level_names[i] = pstrdup(NameStr(e->enumlabel));
	}
	ReleaseSysCacheList(list);

	g->history_relid = billing_relid(g->namespace, "state_history");
	g->history_seq = billing_relid(g->namespace, "state_history_id_seq");
	for (i = 0; i < HISTORY_NCOLUMNS; i++)
		g->history_att[i] = billing_attnum(g->history_relid,
										   history_columns[i]);
	find_history_indexes(g);
	g->workflow_trigger_fn = billing_function("workflow_trigger");
	g->frozen_row_fn = billing_function("frozen_row");
	g->frozen_child_fn = billing_function("frozen_child");

	MemoryContextSwitchTo(old);

	{
		HeapTuple	tuple;
		Oid			relid = billing_relid(g->namespace, "workflow_state");

		tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
		if (!HeapTupleIsValid(tuple))
			elog(ERROR, "cache lookup failed for relation %u", relid);
		g->catalog_owner = ((Form_pg_class) GETSTRUCT(tuple))->relowner;
		ReleaseSysCache(tuple);
	}

	workflow_cache_watch(billing_relid(g->namespace, "workflow"));
	workflow_cache_watch(billing_relid(g->namespace, "workflow_state"));
	workflow_cache_watch(billing_relid(g->namespace, "workflow_transition"));
	workflow_cache_watch(g->staff_relid);
	workflow_cache_watch(g->history_relid);

	globals = g;
	return g;
}

static void load_definition_as_owner(WorkflowDef *def, WorkflowGlobals *g);

/* Copy SPI result column COL of ROW into the cache context, or NULL. */
static char *
spi_string(int row, int col)
{
	char	   *value = SPI_getvalue(SPI_tuptable->vals[row],
									 SPI_tuptable->tupdesc, col);

	return value == NULL ? NULL : MemoryContextStrdup(cache_cxt, value);
}

static bool
spi_bool(int row, int col)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row],
								  SPI_tuptable->tupdesc, col, &isnull);

	return !isnull && DatumGetBool(d);
}

/*
 * workflow_state_index: the index of STATE in DEF's states, or -1.
 * Workflows have a handful of states, so a linear search is the fastest.
 */
int
workflow_state_index(WorkflowDef *def, const char *state)
{
	int			i;

	for (i = 0; i < def->nstates; i++)
		if (strcmp(def->states[i].name, state) == 0)
			return i;
	return -1;
}

/*
 * Read one workflow's states and transitions from the catalog, as the
 * catalog's owner: whoever moves a record needs no privilege on the rules
 * that judge the move.
 */
static void
load_definition(WorkflowDef *def, WorkflowGlobals *g)
{
	Oid			save_userid;
	int			save_sec_context;

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(g->catalog_owner,
						   save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		load_definition_as_owner(def, g);
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}

static void
load_definition_as_owner(WorkflowDef *def, WorkflowGlobals *g)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		args[1];
	int			i;

	args[0] = CStringGetTextDatum(def->name);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (SPI_execute_with_args("SELECT state, is_initial, is_final, freezes"
							  " FROM billing.workflow_state"
							  " WHERE workflow OPERATOR(pg_catalog.=) $1"
							  " ORDER BY state",
							  1, argtypes, args, NULL, true, 0)
		!= SPI_OK_SELECT)
		elog(ERROR, "could not read billing.workflow_state");
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("workflow \"%s\" has no states", def->name),
				 errhint("Define the workflow in billing.workflow and its states in billing.workflow_state.")));

	def->nstates = (int) SPI_processed;
	def->states = MemoryContextAllocZero(cache_cxt,
										 sizeof(WorkflowState) * def->nstates);
	for (i = 0; i < def->nstates; i++)
	{
		def->states[i].name = spi_string(i, 1);
		def->states[i].initial = spi_bool(i, 2);
		def->states[i].final = spi_bool(i, 3);
		def->states[i].freezes = spi_bool(i, 4);
	}

	if (SPI_execute_with_args("SELECT from_state, to_state,"
							  " min_level::pg_catalog.text,"
							  " role_name::pg_catalog.text,"
							  " billing_admin, reason_required,"
							  " pg_catalog.to_regprocedure(guard)::pg_catalog.oid,"
							  " guard_rule, segregation_column::pg_catalog.text"
							  " FROM billing.workflow_transition"
							  " WHERE workflow OPERATOR(pg_catalog.=) $1"
							  " ORDER BY from_state, to_state",
							  1, argtypes, args, NULL, true, 0)
		!= SPI_OK_SELECT)
		elog(ERROR, "could not read billing.workflow_transition");

	def->ntransitions = (int) SPI_processed;
	def->transitions =
		MemoryContextAllocZero(cache_cxt,
							   sizeof(WorkflowTransition) *
							   Max(def->ntransitions, 1));
	for (i = 0; i < def->ntransitions; i++)
	{
		WorkflowTransition *t = &def->transitions[i];
		char	   *from = spi_string(i, 1);
		char	   *to = spi_string(i, 2);
		bool		isnull;
		Datum		guard;
		int			level;

		t->from = workflow_state_index(def, from);
		t->to = workflow_state_index(def, to);
		if (t->from < 0 || t->to < 0)
			elog(ERROR, "transition %s -> %s of workflow %s names an unknown state",
				 from, to, def->name);

		t->min_level = -1;
		t->min_level_name = spi_string(i, 3);
		if (t->min_level_name != NULL)
			for (level = 0; level < g->nlevels; level++)
				if (strcmp(g->level_names[level], t->min_level_name) == 0)
					t->min_level = level;

		t->role_name = spi_string(i, 4);
		t->role = t->role_name ? get_role_oid(t->role_name, true) : InvalidOid;
		t->billing_admin = spi_bool(i, 5);
		t->reason_required = spi_bool(i, 6);

		guard = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
							  7, &isnull);
		t->guard = isnull ? InvalidOid : DatumGetObjectId(guard);
		t->guard_rule = spi_string(i, 8);
		if (!OidIsValid(t->guard) &&
			!heap_attisnull(SPI_tuptable->vals[i], 8, SPI_tuptable->tupdesc))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FUNCTION),
					 errmsg("guard of transition %s -> %s of workflow %s does not exist",
							from, to, def->name),
					 errhint("Create the guard function, or correct billing.workflow_transition.")));
		t->segregation_column = spi_string(i, 9);
	}

	/* Transitions come ordered by origin; note each state's range. */
	for (i = 0; i < def->nstates; i++)
		def->states[i].first = -1;
	for (i = 0; i < def->ntransitions; i++)
	{
		WorkflowState *s = &def->states[def->transitions[i].from];

		if (s->first < 0)
			s->first = i;
		s->count++;
	}
	for (i = 0; i < def->nstates; i++)
		if (def->states[i].first < 0)
			def->states[i].first = 0;

	SPI_finish();
}

/*
 * workflow_def: the definition of workflow NAME, read from the catalog on
 * first use.  Raises an error if the workflow has no states.
 */
WorkflowDef *
workflow_def(const char *name)
{
	WorkflowGlobals *g = workflow_globals();
	char		key[NAMEDATALEN];
	WorkflowDef *def;
	bool		found;

	if (strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("workflow name \"%s\" is too long", name)));
	memset(key, 0, sizeof(key));
	strlcpy(key, name, NAMEDATALEN);

	def = hash_search(definitions, key, HASH_FIND, NULL);
	if (def != NULL)
		return def;

	/*
	 * Build into a local copy first, so that an error part way leaves no
	 * half-built entry behind.
	 */
	{
		WorkflowDef local;

		memset(&local, 0, sizeof(local));
		strlcpy(local.name, name, NAMEDATALEN);
		load_definition(&local, g);

		/*
		 * Reading the catalog may have processed an invalidation that made
		 * the cache stale: then this definition serves the current caller
		 * only, and lives until the end of the transaction with the rest of
		 * the stale cache.
		 */
		if (cache_stale)
		{
			def = MemoryContextAlloc(cache_cxt, sizeof(WorkflowDef));
			memcpy(def, &local, sizeof(WorkflowDef));
			return def;
		}
		def = hash_search(definitions, key, HASH_ENTER, &found);
		memcpy(def, &local, sizeof(WorkflowDef));
	}
	return def;
}

/*
 * workflow_cache_slot: the slot of trigger TGOID; *found tells whether its
 * binding was built already.  A new slot has binding NULL and must be
 * filled by the caller before anything else uses the cache.
 */
WorkflowCacheSlot *
workflow_cache_slot(Oid tgoid, bool *found)
{
	WorkflowCacheSlot *slot;

	cache_ensure();
	slot = hash_search(slots, &tgoid, HASH_ENTER, found);
	if (!*found)
		slot->binding = NULL;
	else if (slot->binding == NULL)
		*found = false;
	return slot;
}

/*
 * workflow_column: the attribute number of COLUMN in REL, checked to be of
 * type TYPE; WHAT says what the column is for, in the error.
 */
AttrNumber
workflow_column(Relation rel, const char *column, Oid type, const char *what)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), column) != 0)
			continue;
		if (att->atttypid != type)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column %s of table %s is of type %s, not %s",
							column, RelationGetRelationName(rel),
							format_type_be(att->atttypid),
							format_type_be(type)),
					 errdetail("The column is used as the %s.", what)));
		return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column %s of table %s does not exist",
					column, RelationGetRelationName(rel)),
			 errdetail("The column is used as the %s.", what)));
	return InvalidAttrNumber;	/* not reached */
}

/*
 * workflow_entity_name: the schema-qualified name of REL, as the state
 * history and the error messages name it.
 */
char *
workflow_entity_name(Relation rel)
{
	char	   *schema = get_namespace_name(RelationGetNamespace(rel));

	return quote_qualified_identifier(schema, RelationGetRelationName(rel));
}
