/*
 * rating.c
 *		Version and rate resolution for WIP entries, and the cache behind it.
 *
 * When a WIP entry is recorded, the trigger billing.wip_entry_resolve()
 * finds the approved engagement version whose period covers the day the
 * work was done, applies that version's time rules (increment, rounding,
 * minimum, non-billable work types, expense markup), resolves the hourly
 * rate in a fixed order and stores the version, the rate and the exact
 * amount on the entry.  Later changes to terms or rates never touch a
 * stored entry; re-rating is an explicit call (billing.rerate_wip).
 *
 * Rate resolution order, first match wins:
 *	1. an engagement_rate of the engagement for the person,
 *	2. an engagement_rate of the engagement for the person's level,
 *	3. a rate of the version's rate card for the person,
 *	4. a rate of the version's rate card for the person's level;
 * each only when its effective period covers the day of the work.
 *
 * Amounts are exact: minor units times minutes over sixty (or times the
 * quantity, or times one plus the markup), computed in 128-bit integers and
 * rounded once, half away from zero, to the currency's minor unit.
 *
 * The cache keeps, per backend, the approved versions and overrides of each
 * engagement, the rates of each rate card and the level of each staff
 * member, in its own memory context.  A statement trigger on the tables it
 * reads (billing.terms_cache_invalidate) sends a relcache invalidation for
 * the table changed; the callback registered once in _PG_init bumps a
 * generation counter, and the next trigger call drops the whole cache.
 * Invalidations are sent at commit to other backends and applied at once in
 * our own, so a change in one session applies to the next entry recorded
 * in any session.
 */
#include "billing.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datum.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/numeric.h"
#include "utils/rel.h"

#include "amount.h"

/* A key of the cache: an id within a firm. */
typedef struct RatingKey
{
	int64		firm_id;
	int64		id;
} RatingKey;

/* An hourly rate: a rate-card rate or an engagement override. */
typedef struct RatingRate
{
	int64		rate_id;
	int64		staff_id;		/* 0 for a level's rate */
	Oid			level;			/* pg_enum oid; invalid for a person */
	DateADT		from;			/* first day covered */
	DateADT		until;			/* first day no longer covered */
	int64		units;			/* hourly rate in minor units */
	int16		currency;		/* ISO 4217 numeric code */
} RatingRate;

/* The terms of one approved engagement version that pricing needs. */
typedef struct RatingVersion
{
	int64		version_id;
	DateADT		from;
	DateADT		until;
	int64		rate_card_id;	/* 0 when the version has none */
	int16		currency;
	int32		increment;		/* minutes */
	char		rounding;		/* 'u'p, 'n'earest or 'd'own */
	int32		minimum;		/* minutes */
	int			n_non_billable;
	char	  **non_billable;	/* work types never billed */
	int64		markup_milli;	/* expense markup, thousandths of a percent */
	Datum		markup;			/* the same, as the numeric to store */
	bool		has_budget_cap;
} RatingVersion;

typedef struct RatingEngagement
{
	RatingKey	key;
	int			n_versions;
	RatingVersion *versions;
	int			n_rates;
	RatingRate *rates;			/* engagement overrides */
} RatingEngagement;

typedef struct RatingCard
{
	RatingKey	key;
	int			n_rates;
	RatingRate *rates;
} RatingCard;

typedef struct RatingStaff
{
	RatingKey	key;
	Oid			level;			/* pg_enum oid of the staff_level */
} RatingStaff;

/* The tables whose changes empty the cache. */
static const char *const watched_names[] = {
	"engagement_version", "engagement_rate", "rate", "rate_card", "staff"
};
#define N_WATCHED lengthof(watched_names)

static MemoryContext rating_context = NULL;
static HTAB *engagement_cache = NULL;
static HTAB *card_cache = NULL;
static HTAB *staff_cache = NULL;
static Oid	watched_relids[N_WATCHED];
static uint64 rating_generation = 1;	/* bumped by invalidations */
static uint64 rating_built = 0; /* generation the cache was built at */

/* Column positions (0-based) in billing.wip_entry, kept per relation. */
typedef enum WipColumn
{
	WIP_FIRM_ID,
	WIP_ENTRY_ID,
	WIP_ENGAGEMENT_ID,
	WIP_VERSION_ID,
	WIP_KIND,
	WIP_STAFF_ID,
	WIP_WORKED_ON,
	WIP_WORK_TYPE,
	WIP_BILLABLE,
	WIP_MINUTES,
	WIP_BILLABLE_MINUTES,
	WIP_QUANTITY,
	WIP_RATE_ID,
	WIP_ENGAGEMENT_RATE_ID,
	WIP_UNIT_PRICE,
	WIP_COST,
	WIP_MARKUP_PERCENT,
	WIP_AMOUNT,
	WIP_STATE,
	WIP_OVER_BUDGET,
	WIP_N_COLUMNS
} WipColumn;

static const char *const wip_column_names[WIP_N_COLUMNS] = {
	"firm_id", "wip_entry_id", "engagement_id", "engagement_version_id",
	"kind", "staff_id", "worked_on", "work_type", "billable", "minutes",
	"billable_minutes", "quantity", "rate_id", "engagement_rate_id",
	"unit_price", "cost", "markup_percent", "amount", "state", "over_budget"
};

static Oid	wip_relid = InvalidOid;
static int	wip_column[WIP_N_COLUMNS];

/*
 * The queries that fill the cache.  They run with the caller's search_path,
 * so every name and operator is qualified.
 */
#define PERIOD_COLUMNS \
	" COALESCE(pg_catalog.lower(effective), '-infinity'::pg_catalog.date)," \
	" COALESCE(pg_catalog.upper(effective), 'infinity'::pg_catalog.date)"

static const char versions_query[] =
"SELECT engagement_version_id," PERIOD_COLUMNS ","
" rate_card_id, currency, increment_minutes, time_rounding,"
" minimum_minutes, non_billable_work_types,"
" (expense_markup_percent OPERATOR(pg_catalog.*) 1000)::pg_catalog.int8,"
" expense_markup_percent, budget_cap IS NOT NULL"
" FROM billing.engagement_version"
" WHERE firm_id OPERATOR(pg_catalog.=) $1"
" AND engagement_id OPERATOR(pg_catalog.=) $2"
" AND state OPERATOR(pg_catalog.=) 'approved'";

static const char overrides_query[] =
"SELECT engagement_rate_id, staff_id, level," PERIOD_COLUMNS ", hourly_rate"
" FROM billing.engagement_rate"
" WHERE firm_id OPERATOR(pg_catalog.=) $1"
" AND engagement_id OPERATOR(pg_catalog.=) $2";

static const char card_query[] =
"SELECT rate_id, staff_id, level," PERIOD_COLUMNS ", hourly_rate"
" FROM billing.rate"
" WHERE firm_id OPERATOR(pg_catalog.=) $1"
" AND rate_card_id OPERATOR(pg_catalog.=) $2";

static const char staff_query[] =
"SELECT level FROM billing.staff"
" WHERE firm_id OPERATOR(pg_catalog.=) $1"
" AND staff_id OPERATOR(pg_catalog.=) $2";

static const char budget_query[] =
"SELECT billing.budget_check($1, $2, $3, $4, $5)";

/* Plans kept for the life of the backend; the plan cache revalidates them. */
static SPIPlanPtr versions_plan = NULL;
static SPIPlanPtr overrides_plan = NULL;
static SPIPlanPtr card_plan = NULL;
static SPIPlanPtr staff_plan = NULL;
static SPIPlanPtr budget_plan = NULL;

/* Whether this trigger call has connected to SPI (it never nests). */
static bool rating_spi_connected = false;

static void rating_relcache_callback(Datum arg, Oid relid);

/*
 * billing_rating_init: register the relcache callback that invalidates the
 * cache.  Called once per backend from _PG_init.
 */
void
billing_rating_init(void)
{
	CacheRegisterRelcacheCallback(rating_relcache_callback, (Datum) 0);
}

/*
 * The callback runs while invalidation messages are processed, possibly in
 * the middle of a trigger call that is reading the cache, so it only marks
 * the cache stale; the next trigger call drops it.
 */
static void
rating_relcache_callback(Datum arg, Oid relid)
{
	int			i;

	if (relid == InvalidOid)
	{
		rating_generation++;
		wip_relid = InvalidOid;
		return;
	}
	if (relid == wip_relid)
		wip_relid = InvalidOid;
	for (i = 0; i < N_WATCHED; i++)
	{
		if (watched_relids[i] == relid)
		{
			rating_generation++;
			return;
		}
	}
}

/*
 * rating_prepare_cache: drop the cache if an invalidation made it stale.
 * Only called at the start of a trigger call, when no pointer into the
 * cache is held (the trigger never runs a statement that could record WIP,
 * so it is never re-entered while it uses the cache).
 */
static void
rating_prepare_cache(void)
{
	HASHCTL		ctl;
	Oid			nsp;
	int			i;

	/* Apply what other sessions committed since our last statement. */
	AcceptInvalidationMessages();
	if (rating_context != NULL && rating_built == rating_generation)
		return;

	if (rating_context == NULL)
		rating_context = AllocSetContextCreate(CacheMemoryContext,
											   "billing rating cache",
											   ALLOCSET_DEFAULT_SIZES);
	else
		MemoryContextReset(rating_context);

	rating_built = rating_generation;

	nsp = get_namespace_oid("billing", false);
	for (i = 0; i < N_WATCHED; i++)
		watched_relids[i] = get_relname_relid(watched_names[i], nsp);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(RatingKey);
	ctl.hcxt = rating_context;
	ctl.entrysize = sizeof(RatingEngagement);
	engagement_cache = hash_create("billing rating engagements", 256, &ctl,
								   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.entrysize = sizeof(RatingCard);
	card_cache = hash_create("billing rating rate cards", 64, &ctl,
							 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.entrysize = sizeof(RatingStaff);
	staff_cache = hash_create("billing rating staff", 256, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* rating_prepare_plan: a plan for query, prepared once and kept. */
static SPIPlanPtr
rating_prepare_plan(SPIPlanPtr *plan, const char *query, int nargs,
					Oid *argtypes)
{
	if (*plan == NULL)
	{
		SPIPlanPtr	p = SPI_prepare(query, nargs, argtypes);

		if (p == NULL)
			elog(ERROR, "could not prepare \"%s\": %s", query,
				 SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		*plan = p;
	}
	return *plan;
}

/* rating_need_spi: connect to SPI once per trigger call, when needed. */
static void
rating_need_spi(void)
{
	if (rating_spi_connected)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rating_spi_connected = true;
}

/* rating_currency_of_char: the numeric code of a char(3) currency datum. */
static int16
rating_currency_of_char(Datum d)
{
	text	   *code = DatumGetTextPP(d);
	const BillingCurrency *c;

	c = currency_by_code(VARDATA_ANY(code), VARSIZE_ANY_EXHDR(code));
	if (c == NULL)
		elog(ERROR, "unknown currency in engagement terms");
	return c->numeric_code;
}

/* Fetch column col of row row of the last SPI result; nulls give 0. */
static Datum
rating_spi_value(int row, int col, bool *isnull)
{
	return SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc,
						 col, isnull);
}

static int64
rating_spi_int64(int row, int col)
{
	bool		isnull;
	Datum		d = rating_spi_value(row, col, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

/*
 * rating_copy_rates: the rows of the last SPI result, shaped (id, staff_id,
 * level, from, until, hourly_rate), as an array in the cache's context.
 */
static RatingRate *
rating_copy_rates(int *n)
{
	RatingRate *rates;
	uint64		i;

	*n = (int) SPI_processed;
	rates = MemoryContextAllocZero(rating_context,
								   sizeof(RatingRate) * Max(*n, 1));
	for (i = 0; i < SPI_processed; i++)
	{
		RatingRate *r = &rates[i];
		bool		isnull;
		Datum		d;
		Amount	   *a;

		r->rate_id = rating_spi_int64(i, 1);
		r->staff_id = rating_spi_int64(i, 2);
		d = rating_spi_value(i, 3, &isnull);
		r->level = isnull ? InvalidOid : DatumGetObjectId(d);
		r->from = DatumGetDateADT(rating_spi_value(i, 4, &isnull));
		r->until = DatumGetDateADT(rating_spi_value(i, 5, &isnull));
		a = DatumGetAmountP(rating_spi_value(i, 6, &isnull));
		r->units = a->units;
		r->currency = a->currency;
	}
	return rates;
}

/*
 * rating_engagement: the cached versions and overrides of an engagement,
 * loaded on first use.
 */
static RatingEngagement *
rating_engagement(int64 firm_id, int64 engagement_id)
{
	RatingKey	key;
	RatingEngagement *e;
	bool		found;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	uint64		i;
	MemoryContext old;

	key.firm_id = firm_id;
	key.id = engagement_id;
	e = hash_search(engagement_cache, &key, HASH_FIND, NULL);
	if (e != NULL)
		return e;

	rating_need_spi();
	args[0] = Int64GetDatum(firm_id);
	args[1] = Int64GetDatum(engagement_id);

	rating_prepare_plan(&versions_plan, versions_query, 2, argtypes);
	if (SPI_execute_plan(versions_plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read the versions of engagement " INT64_FORMAT,
			 engagement_id);

	/* Allocate the entry only once nothing can fail half-way. */
	old = MemoryContextSwitchTo(rating_context);
	{
		int			n = (int) SPI_processed;
		RatingVersion *versions = palloc0(sizeof(RatingVersion) * Max(n, 1));

		for (i = 0; i < SPI_processed; i++)
		{
			RatingVersion *v = &versions[i];
			bool		isnull;
			Datum		d;
			char	   *rounding;

			v->version_id = rating_spi_int64(i, 1);
			v->from = DatumGetDateADT(rating_spi_value(i, 2, &isnull));
			v->until = DatumGetDateADT(rating_spi_value(i, 3, &isnull));
			v->rate_card_id = rating_spi_int64(i, 4);
			d = rating_spi_value(i, 5, &isnull);
			v->currency = rating_currency_of_char(d);
			v->increment = DatumGetInt32(rating_spi_value(i, 6, &isnull));
			rounding = TextDatumGetCString(rating_spi_value(i, 7, &isnull));
			v->rounding = rounding[0];
			v->minimum = DatumGetInt32(rating_spi_value(i, 8, &isnull));
			d = rating_spi_value(i, 9, &isnull);
			if (!isnull)
			{
				ArrayType  *arr = DatumGetArrayTypeP(d);
				Datum	   *elems;
				bool	   *nulls;
				int			nelems,
							j;

				deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
								  &elems, &nulls, &nelems);
				v->non_billable = palloc0(sizeof(char *) * Max(nelems, 1));
				for (j = 0; j < nelems; j++)
					if (!nulls[j])
						v->non_billable[v->n_non_billable++] =
							TextDatumGetCString(elems[j]);
			}
			v->markup_milli = rating_spi_int64(i, 10);
			v->markup = datumCopy(rating_spi_value(i, 11, &isnull), false, -1);
			v->has_budget_cap = DatumGetBool(rating_spi_value(i, 12, &isnull));
		}
		MemoryContextSwitchTo(old);

		rating_prepare_plan(&overrides_plan, overrides_query, 2, argtypes);
		if (SPI_execute_plan(overrides_plan, args, NULL, true, 0) !=
			SPI_OK_SELECT)
			elog(ERROR, "could not read the rates of engagement " INT64_FORMAT,
				 engagement_id);

		e = hash_search(engagement_cache, &key, HASH_ENTER, &found);
		e->n_versions = n;
		e->versions = versions;
		e->rates = rating_copy_rates(&e->n_rates);
	}
	return e;
}

/* rating_card: the cached rates of a rate card, loaded on first use. */
static RatingCard *
rating_card(int64 firm_id, int64 rate_card_id)
{
	RatingKey	key;
	RatingCard *c;
	bool		found;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	RatingRate *rates;
	int			n;

	key.firm_id = firm_id;
	key.id = rate_card_id;
	c = hash_search(card_cache, &key, HASH_FIND, NULL);
	if (c != NULL)
		return c;

	rating_need_spi();
	args[0] = Int64GetDatum(firm_id);
	args[1] = Int64GetDatum(rate_card_id);
	rating_prepare_plan(&card_plan, card_query, 2, argtypes);
	if (SPI_execute_plan(card_plan, args, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read rate card " INT64_FORMAT, rate_card_id);
	rates = rating_copy_rates(&n);
	c = hash_search(card_cache, &key, HASH_ENTER, &found);
	c->rates = rates;
	c->n_rates = n;
	return c;
}

/* rating_staff_level: the level of a staff member; 23503 when unknown. */
static Oid
rating_staff_level(int64 firm_id, int64 staff_id)
{
	RatingKey	key;
	RatingStaff *s;
	bool		found;
	bool		isnull;
	Oid			argtypes[2] = {INT8OID, INT8OID};
	Datum		args[2];
	Oid			level;

	key.firm_id = firm_id;
	key.id = staff_id;
	s = hash_search(staff_cache, &key, HASH_FIND, NULL);
	if (s != NULL)
		return s->level;

	rating_need_spi();
	args[0] = Int64GetDatum(firm_id);
	args[1] = Int64GetDatum(staff_id);
	rating_prepare_plan(&staff_plan, staff_query, 2, argtypes);
	if (SPI_execute_plan(staff_plan, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read staff member " INT64_FORMAT, staff_id);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("staff member " INT64_FORMAT " of firm " INT64_FORMAT " does not exist",
						staff_id, firm_id),
				 errdetail("A WIP entry is priced at the rate of the person who did the work.")));
	level = DatumGetObjectId(rating_spi_value(0, 1, &isnull));
	s = hash_search(staff_cache, &key, HASH_ENTER, &found);
	s->level = level;
	return level;
}

/* rating_find_rate: the first rate of rates matching person, then level. */
static RatingRate *
rating_find_rate(RatingRate *rates, int n, int64 staff_id, Oid level,
				 DateADT day)
{
	int			i;

	for (i = 0; i < n; i++)
		if (rates[i].staff_id == staff_id && rates[i].from <= day &&
			day < rates[i].until)
			return &rates[i];
	for (i = 0; i < n; i++)
		if (rates[i].level == level && rates[i].staff_id == 0 &&
			rates[i].from <= day && day < rates[i].until)
			return &rates[i];
	return NULL;
}

/*
 * rating_divide: num / den rounded half away from zero (den > 0); 22003
 * when the result does not fit an amount.
 */
static int64
rating_divide(int128 num, int128 den)
{
	int128		q = num / den;
	int128		r = num % den;

	if (r * 2 >= den)
		q++;
	else if (-r * 2 >= den)
		q--;
	if (q > AMOUNT_MAX_UNITS || q < AMOUNT_MIN_UNITS)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("amount of WIP entry out of range")));
	return (int64) q;
}

/*
 * rating_billable_minutes: minutes after the version's increment, rounding
 * and minimum.  Exposed for tests through billing.billable_minutes().
 */
static int32
rating_billable_minutes(int32 minutes, int32 increment, char rounding,
						int32 minimum)
{
	int32		steps;

	if (increment <= 0)
		increment = 1;
	switch (rounding)
	{
		case 'd':
			steps = minutes / increment;
			break;
		case 'n':
			steps = (minutes + increment / 2) / increment;
			break;
		default:
			steps = (minutes + increment - 1) / increment;
			break;
	}
	return Max(steps * increment, minimum);
}

static void
rating_check_currency(int16 have, int16 want, const char *what,
					  int64 version_id)
{
	if (have != want)
	{
		const BillingCurrency *h = currency_by_numeric(have);
		const BillingCurrency *w = currency_by_numeric(want);

		ereport(ERROR,
				(errcode(ERRCODE_BILLING_CURRENCY_MISMATCH),
				 errmsg("%s of WIP entry is in %s but engagement version " INT64_FORMAT " bills in %s",
						what, h ? h->code : "?", version_id,
						w ? w->code : "?"),
				 errhint("Record amounts in the engagement's currency.")));
	}
}

/* rating_text_is: whether the text datum d equals the C string s. */
static bool
rating_text_is(Datum d, const char *s)
{
	text	   *t = DatumGetTextPP(d);
	int			len = VARSIZE_ANY_EXHDR(t);

	return len == strlen(s) && memcmp(VARDATA_ANY(t), s, len) == 0;
}

/* rating_day: a date as text, for messages. */
static char *
rating_day(DateADT day)
{
	return DatumGetCString(DirectFunctionCall1(date_out,
											   DateADTGetDatum(day)));
}

/* rating_columns: find the columns of billing.wip_entry in rel. */
static void
rating_columns(Relation rel)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	int			i;

	if (RelationGetRelid(rel) == wip_relid)
		return;
	for (i = 0; i < WIP_N_COLUMNS; i++)
	{
		int			attnum = SPI_fnumber(tupdesc, wip_column_names[i]);

		if (attnum <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("billing.wip_entry_resolve() must be attached to billing.wip_entry"),
					 errdetail("Table \"%s\" has no column \"%s\".",
							   RelationGetRelationName(rel),
							   wip_column_names[i])));
		wip_column[i] = attnum - 1;
	}
	wip_relid = RelationGetRelid(rel);
}

/*
 * rating_same: whether column col is equal in two deformed rows (binary
 * equality, which is what "changed" means for a stored value).
 */
static bool
rating_same(TupleDesc tupdesc, int col, Datum *a, bool *an, Datum *b,
			bool *bn)
{
	int			i = wip_column[col];
	Form_pg_attribute att = TupleDescAttr(tupdesc, i);

	if (an[i] || bn[i])
		return an[i] == bn[i];
	return datumIsEqual(a[i], b[i], att->attbyval, att->attlen);
}

/* rating_column_text: a text column of a deformed row, as a C string. */
static char *
rating_column_text(Datum *values, int col)
{
	return TextDatumGetCString(values[wip_column[col]]);
}

/* A state in which an entry is billed or closed, and frozen. */
static bool
rating_state_is_closed(Datum state)
{
	return rating_text_is(state, "billed") ||
		rating_text_is(state, "written_off");
}

PG_FUNCTION_INFO_V1(wip_entry_resolve);

/*
 * billing.wip_entry_resolve() returns trigger.
 *
 * BEFORE INSERT OR UPDATE, FOR EACH ROW, on billing.wip_entry only:
 *
 *	CREATE TRIGGER wip_entry_resolve BEFORE INSERT OR UPDATE
 *		ON billing.wip_entry FOR EACH ROW
 *		EXECUTE FUNCTION billing.wip_entry_resolve();
 *
 * On INSERT, and on an UPDATE of an unbilled entry that changes what it is
 * priced from (engagement, kind, person, day, work type, minutes,
 * quantity, unit price of a flat task, cost) or that empties
 * engagement_version_id (a re-rate, which needs billing.reason_code set),
 * it fills engagement_version_id (or checks it: ZB405), billable,
 * billable_minutes, rate_id or engagement_rate_id, unit_price,
 * markup_percent and amount, and, when the version has a budget cap and
 * the entry is new work (draft or submitted), asks billing.budget_check()
 * whether it must be held (state on_hold, over_budget true).  Entries
 * recorded as billed or written off (migrated or restored) keep what they
 * carry.  Any other UPDATE that changes the stored pricing raises ZB405,
 * and one that changes a billed entry's pricing raises ZB205.
 */
Datum
wip_entry_resolve(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	Relation	rel;
	TupleDesc	tupdesc;
	HeapTuple	newtup;
	HeapTuple	result;
	Datum	   *values;
	bool	   *nulls;
	Datum	   *old_values = NULL;
	bool	   *old_nulls = NULL;
	bool		is_update;
	bool		rerate = false;
	int64		firm_id,
				engagement_id,
				entry_id;
	DateADT		day;
	RatingEngagement *eng;
	RatingVersion *version = NULL;
	int64		version_id;
	int16		currency;
	int64		amount_units = 0;
	bool		check_budget;
	int			i;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.wip_entry_resolve() must be called as a trigger")));
	if (!TRIGGER_FIRED_BEFORE(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!(TRIGGER_FIRED_BY_INSERT(trigdata->tg_event) ||
		  TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event)))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.wip_entry_resolve() must fire BEFORE INSERT OR UPDATE FOR EACH ROW")));

	rel = trigdata->tg_relation;
	tupdesc = RelationGetDescr(rel);
	is_update = TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event);
	newtup = is_update ? trigdata->tg_newtuple : trigdata->tg_trigtuple;

	rating_spi_connected = false;
	rating_prepare_cache();
	rating_columns(rel);

	values = palloc(sizeof(Datum) * tupdesc->natts);
	nulls = palloc(sizeof(bool) * tupdesc->natts);
	heap_deform_tuple(newtup, tupdesc, values, nulls);

#define COL(c)		values[wip_column[c]]
#define ISNULL(c)	nulls[wip_column[c]]
#define SET(c, d)	(values[wip_column[c]] = (d), nulls[wip_column[c]] = false)
#define SETNULL(c)	\
	(values[wip_column[c]] = (Datum) 0, nulls[wip_column[c]] = true)
#define SAME(c)		\
	rating_same(tupdesc, c, values, nulls, old_values, old_nulls)

	/* Rows whose keys are missing fail on their NOT NULL constraints. */
	if (ISNULL(WIP_FIRM_ID) || ISNULL(WIP_ENGAGEMENT_ID) ||
		ISNULL(WIP_KIND) || ISNULL(WIP_STAFF_ID) || ISNULL(WIP_WORKED_ON) ||
		ISNULL(WIP_STATE) || ISNULL(WIP_ENTRY_ID))
		return PointerGetDatum(newtup);

	if (is_update)
	{
		bool		inputs_changed;
		bool		pricing_changed;

		old_values = palloc(sizeof(Datum) * tupdesc->natts);
		old_nulls = palloc(sizeof(bool) * tupdesc->natts);
		heap_deform_tuple(trigdata->tg_trigtuple, tupdesc, old_values,
						  old_nulls);

		rerate = ISNULL(WIP_VERSION_ID);
		inputs_changed = !SAME(WIP_FIRM_ID) || !SAME(WIP_ENGAGEMENT_ID) ||
			!SAME(WIP_KIND) || !SAME(WIP_STAFF_ID) ||
			!SAME(WIP_WORKED_ON) || !SAME(WIP_WORK_TYPE) ||
			!SAME(WIP_MINUTES) || !SAME(WIP_QUANTITY) || !SAME(WIP_COST) ||
			(rating_text_is(COL(WIP_KIND), "flat") && !SAME(WIP_UNIT_PRICE));
		pricing_changed = !SAME(WIP_VERSION_ID) ||
			!SAME(WIP_BILLABLE_MINUTES) || !SAME(WIP_RATE_ID) ||
			!SAME(WIP_ENGAGEMENT_RATE_ID) || !SAME(WIP_UNIT_PRICE) ||
			!SAME(WIP_MARKUP_PERCENT) || !SAME(WIP_AMOUNT);

		if (!inputs_changed && !pricing_changed)
			return PointerGetDatum(newtup);
		if (rating_state_is_closed(old_values[wip_column[WIP_STATE]]))
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_RECORD_FROZEN),
					 errmsg("WIP entry " INT64_FORMAT " is %s and its pricing cannot change",
							DatumGetInt64(COL(WIP_ENTRY_ID)),
							rating_column_text(old_values, WIP_STATE)),
					 errhint("Correct a billed entry with an adjustment or a credit note.")));
		if (rerate)
		{
			if (setting_reason_code() == NULL)
				ereport(ERROR,
						(errcode(ERRCODE_BILLING_REASON_REQUIRED),
						 errmsg("re-rating WIP entry " INT64_FORMAT " needs a reason code",
								DatumGetInt64(COL(WIP_ENTRY_ID))),
						 errhint("Use billing.rerate_wip(), or SET LOCAL billing.reason_code first.")));
		}
		else if (!inputs_changed)
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_PRICING_MISMATCH),
					 errmsg("pricing of WIP entry " INT64_FORMAT " is set by its terms and rates",
							DatumGetInt64(COL(WIP_ENTRY_ID))),
					 errdetail("The version, rate, billable minutes, unit price, markup and amount are resolved when the entry is recorded."),
					 errhint("Re-rate it with billing.rerate_wip(), or adjust it with a write-up or write-down.")));
		else if (SAME(WIP_VERSION_ID))
		{
			/* The facts changed: resolve the version afresh. */
			SETNULL(WIP_VERSION_ID);
		}
	}
	else if (rating_state_is_closed(COL(WIP_STATE)))
		return PointerGetDatum(newtup);

	firm_id = DatumGetInt64(COL(WIP_FIRM_ID));
	engagement_id = DatumGetInt64(COL(WIP_ENGAGEMENT_ID));
	entry_id = DatumGetInt64(COL(WIP_ENTRY_ID));
	day = DatumGetDateADT(COL(WIP_WORKED_ON));

	/* The governing version. */
	eng = rating_engagement(firm_id, engagement_id);
	for (i = 0; i < eng->n_versions; i++)
		if (eng->versions[i].from <= day && day < eng->versions[i].until)
		{
			version = &eng->versions[i];
			break;
		}
	if (version == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_NO_GOVERNING_VERSION),
				 errmsg("no approved version of the terms of engagement " INT64_FORMAT " covers %s",
						engagement_id,
						rating_day(day)),
				 errdetail("Work is priced by the engagement version in force on the day it was done."),
				 errhint("Approve terms for that date through a change order (billing.propose_change_order), or record the work on a day the terms cover.")));
	version_id = version->version_id;
	currency = version->currency;
	if (!ISNULL(WIP_VERSION_ID) &&
		DatumGetInt64(COL(WIP_VERSION_ID)) != version_id)
		ereport(ERROR,
				(errcode(ERRCODE_BILLING_PRICING_MISMATCH),
				 errmsg("WIP entry names engagement version " INT64_FORMAT " but version " INT64_FORMAT " governs %s",
						DatumGetInt64(COL(WIP_VERSION_ID)), version_id,
						rating_day(day)),
				 errhint("Leave engagement_version_id empty and billing fills it in.")));
	SET(WIP_VERSION_ID, Int64GetDatum(version_id));

	/* Work types the terms never bill. */
	if (!ISNULL(WIP_WORK_TYPE) && version->n_non_billable > 0)
	{
		char	   *work_type = TextDatumGetCString(COL(WIP_WORK_TYPE));

		for (i = 0; i < version->n_non_billable; i++)
			if (strcmp(work_type, version->non_billable[i]) == 0)
				SET(WIP_BILLABLE, BoolGetDatum(false));
	}

	if (rating_text_is(COL(WIP_KIND), "time"))
	{
		int32		minutes;
		int32		billable_minutes;
		Oid			level;
		RatingRate *rate = NULL;
		bool		is_override = true;

		if (ISNULL(WIP_MINUTES))
			goto done;			/* the row fails wip_entry_time_has_minutes */
		minutes = DatumGetInt32(COL(WIP_MINUTES));
		billable_minutes = rating_billable_minutes(minutes, version->increment,
												   version->rounding,
												   version->minimum);

		level = rating_staff_level(firm_id, DatumGetInt64(COL(WIP_STAFF_ID)));
		rate = rating_find_rate(eng->rates, eng->n_rates,
								DatumGetInt64(COL(WIP_STAFF_ID)), level, day);
		if (rate == NULL && version->rate_card_id != 0)
		{
			RatingCard *card = rating_card(firm_id, version->rate_card_id);

			rate = rating_find_rate(card->rates, card->n_rates,
									DatumGetInt64(COL(WIP_STAFF_ID)), level,
									day);
			is_override = false;
		}
		if (rate == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_BILLING_NO_RATE),
					 errmsg("no rate covers staff member " INT64_FORMAT " on %s under engagement version " INT64_FORMAT,
							DatumGetInt64(COL(WIP_STAFF_ID)),
							rating_day(day),
							version_id),
					 errdetail("Rates are looked up for the person, then their level, first among the engagement's own rates, then on the version's rate card."),
					 errhint("Add a rate for the person or their level to the rate card, or an engagement rate.")));
		rating_check_currency(rate->currency, currency, "rate", version_id);

		amount_units = rating_divide((int128) rate->units * billable_minutes,
									 60);
		SET(WIP_BILLABLE_MINUTES, Int32GetDatum(billable_minutes));
		if (is_override)
		{
			SETNULL(WIP_RATE_ID);
			SET(WIP_ENGAGEMENT_RATE_ID, Int64GetDatum(rate->rate_id));
		}
		else
		{
			SET(WIP_RATE_ID, Int64GetDatum(rate->rate_id));
			SETNULL(WIP_ENGAGEMENT_RATE_ID);
		}
		SET(WIP_UNIT_PRICE,
			AmountPGetDatum(amount_make(rate->units, rate->currency)));
		SETNULL(WIP_MARKUP_PERCENT);
	}
	else if (rating_text_is(COL(WIP_KIND), "flat"))
	{
		Amount	   *price;
		int64		milli;
		Datum		thousand;
		Datum		product;

		if (ISNULL(WIP_QUANTITY) || ISNULL(WIP_UNIT_PRICE))
			goto done;			/* fails its CHECK constraint */
		price = DatumGetAmountP(COL(WIP_UNIT_PRICE));
		rating_check_currency(price->currency, currency, "unit price",
							  version_id);
#if PG_VERSION_NUM >= 140000
		thousand = NumericGetDatum(int64_to_numeric(1000));
#else
		thousand = DirectFunctionCall1(int8_numeric, Int64GetDatum(1000));
#endif
		/* quantity is numeric(12,3): times 1000 it is a whole number */
		product = DirectFunctionCall2(numeric_mul, COL(WIP_QUANTITY),
									  thousand);
		milli = DatumGetInt64(DirectFunctionCall1(numeric_int8, product));
		amount_units = rating_divide((int128) price->units * milli, 1000);
		SETNULL(WIP_RATE_ID);
		SETNULL(WIP_ENGAGEMENT_RATE_ID);
		SETNULL(WIP_MARKUP_PERCENT);
	}
	else if (rating_text_is(COL(WIP_KIND), "expense"))
	{
		Amount	   *cost;

		if (ISNULL(WIP_COST))
			goto done;			/* fails wip_entry_expense_has_a_cost */
		cost = DatumGetAmountP(COL(WIP_COST));
		rating_check_currency(cost->currency, currency, "cost", version_id);
		amount_units = rating_divide((int128) cost->units *
									 (100000 + version->markup_milli),
									 100000);
		SET(WIP_MARKUP_PERCENT, version->markup);
		SETNULL(WIP_RATE_ID);
		SETNULL(WIP_ENGAGEMENT_RATE_ID);
	}
	else
		goto done;				/* an unknown kind fails its CHECK */

	SET(WIP_AMOUNT, AmountPGetDatum(amount_make(amount_units, currency)));

	/*
	 * Budget caps.  New work (draft or submitted) that is billable and not
	 * already held is checked; billing.budget_check locks the engagement,
	 * raises threshold alerts and says whether the entry must be held.
	 */
	check_budget = version->has_budget_cap &&
		DatumGetBool(COL(WIP_BILLABLE)) &&
		(ISNULL(WIP_OVER_BUDGET) || !DatumGetBool(COL(WIP_OVER_BUDGET))) &&
		(rating_text_is(COL(WIP_STATE), "draft") ||
		 rating_text_is(COL(WIP_STATE), "submitted") ||
		 (is_update && rating_text_is(COL(WIP_STATE), "approved")));
	if (check_budget)
	{
		Oid			argtypes[5] = {
			INT8OID, INT8OID, INT8OID, INT8OID, INT8OID
		};
		Datum		args[5];
		bool		isnull;

		/* No pointer into the cache is used from here on. */
		rating_need_spi();
		args[0] = Int64GetDatum(firm_id);
		args[1] = Int64GetDatum(engagement_id);
		args[2] = Int64GetDatum(version_id);
		args[3] = Int64GetDatum(entry_id);
		args[4] = Int64GetDatum(amount_units);
		rating_prepare_plan(&budget_plan, budget_query, 5, argtypes);
		if (SPI_execute_plan(budget_plan, args, NULL, false, 1) !=
			SPI_OK_SELECT || SPI_processed != 1)
			elog(ERROR, "billing.budget_check did not answer");
		if (DatumGetBool(rating_spi_value(0, 1, &isnull)) && !isnull)
		{
			SET(WIP_STATE, CStringGetTextDatum("on_hold"));
			SET(WIP_OVER_BUDGET, BoolGetDatum(true));
		}
	}

done:
	if (rating_spi_connected)
	{
		rating_spi_connected = false;
		SPI_finish();
	}

	result = heap_form_tuple(tupdesc, values, nulls);
	result->t_data->t_ctid = newtup->t_data->t_ctid;
	result->t_self = newtup->t_self;
	result->t_tableOid = newtup->t_tableOid;
	return PointerGetDatum(result);

#undef COL
#undef ISNULL
#undef SET
#undef SETNULL
#undef SAME
}

PG_FUNCTION_INFO_V1(terms_cache_invalidate);

/*
 * billing.terms_cache_invalidate() returns trigger.
 *
 * AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE, FOR EACH STATEMENT, on
 * every table the rating cache reads:
 *
 *	CREATE TRIGGER terms_cache_invalidate
 *		AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.rate
 *		FOR EACH STATEMENT EXECUTE FUNCTION billing.terms_cache_invalidate();
 *
 * Sends a relcache invalidation for the table: our own backend applies it
 * at the end of the statement, the others when the transaction commits,
 * and each drops its rating cache.
 */
Datum
terms_cache_invalidate(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.terms_cache_invalidate() must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("billing.terms_cache_invalidate() must fire AFTER ... FOR EACH STATEMENT")));
	CacheInvalidateRelcacheByRelid(RelationGetRelid(trigdata->tg_relation));
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(wip_billable_minutes);

/*
 * billing.billable_minutes(minutes integer, increment_minutes integer,
 * time_rounding text, minimum_minutes integer) returns integer: the time
 * rule the trigger applies, for previews and tests.  22023 for an
 * increment that is not positive, a negative minimum or an unknown
 * rounding.
 */
Datum
wip_billable_minutes(PG_FUNCTION_ARGS)
{
	int32		minutes = PG_GETARG_INT32(0);
	int32		increment = PG_GETARG_INT32(1);
	char	   *rounding = text_to_cstring(PG_GETARG_TEXT_PP(2));
	int32		minimum = PG_GETARG_INT32(3);
	char		mode;

	if (strcmp(rounding, "up") == 0)
		mode = 'u';
	else if (strcmp(rounding, "nearest") == 0)
		mode = 'n';
	else if (strcmp(rounding, "down") == 0)
		mode = 'd';
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown time rounding \"%s\"", rounding),
				 errhint("Use up, nearest or down.")));
	if (increment < 1 || increment > 1440 || minimum < 0 || minutes < 0 ||
		minutes > 1440)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("minutes must be 0 to 1440, the increment 1 to 1440 and the minimum not negative")));
	PG_RETURN_INT32(rating_billable_minutes(minutes, increment, mode,
											minimum));
}
