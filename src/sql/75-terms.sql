-- 75-terms.sql: which terms govern what.  Change orders that make new
-- engagement versions through an approval, frozen versions, terms as of a
-- date, the rating trigger that prices WIP when it is recorded (src/rating.c)
-- and the cache it keeps, alerts with NOTIFY, and the views that answer
-- "which terms governed this entry, this invoice line?".  doc/terms.md is
-- the reference.
--
-- Functions here pin search_path to pg_catalog, pg_temp and qualify every
-- billing object, so a caller's search_path cannot change what they do.

-- Columns the terms need on the model's tables ---------------------------

ALTER TABLE billing.wip_entry
    ADD COLUMN over_budget boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN billing.wip_entry.over_budget IS
    'True when recording the entry would have taken the engagement''s billable WIP past its budget cap: it was held (on_hold) and routed for approval instead of billed.';

CREATE INDEX wip_entry_engagement_version_idx
    ON billing.wip_entry (firm_id, engagement_version_id);

ALTER TABLE billing.milestone
    ADD COLUMN approved_by bigint,
    ADD COLUMN approved_at timestamptz,
    ADD CONSTRAINT milestone_approver_is_staff FOREIGN KEY (firm_id, approved_by)
        REFERENCES billing.staff (firm_id, staff_id),
    ADD CONSTRAINT milestone_approval_has_a_time CHECK ((approved_by IS NULL) = (approved_at IS NULL));
COMMENT ON COLUMN billing.milestone.approved_by IS 'Who approved the milestone, making it billable.';
COMMENT ON COLUMN billing.milestone.approved_at IS 'When the milestone was approved.';

-- Who is acting -----------------------------------------------------------

CREATE FUNCTION billing.acting_staff_id(firm_id bigint, staff_id bigint DEFAULT NULL)
    RETURNS bigint
    LANGUAGE c STABLE PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'workflow_acting_staff_id';
COMMENT ON FUNCTION billing.acting_staff_id(bigint, bigint) IS
    'The staff member acting in a firm, by the workflow trigger''s rule: the one passed, else the billing.staff_id setting, else the active one whose role_name is the current role (who cannot act as anyone else); ZB902 when none.';

-- Alerts ------------------------------------------------------------------

CREATE FUNCTION billing.raise_alert(firm_id bigint, kind text, subject_table text,
        subject_id bigint, message text, details jsonb DEFAULT '{}')
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    new_id bigint;
    notify_setting text := lower(coalesce(nullif(current_setting('billing.notify_alerts', true), ''), 'on'));
BEGIN
    INSERT INTO billing.alert (firm_id, kind, subject_table, subject_id, message, details)
    VALUES (raise_alert.firm_id, raise_alert.kind, raise_alert.subject_table,
            raise_alert.subject_id, raise_alert.message, coalesce(raise_alert.details, '{}'))
    RETURNING alert_id INTO new_id;
    IF notify_setting NOT IN ('off', 'false', 'no', '0') THEN
        PERFORM pg_notify('billing_alert',
                          json_build_object('firm_id', raise_alert.firm_id,
                                            'alert_id', new_id,
                                            'kind', raise_alert.kind,
                                            'subject_table', raise_alert.subject_table,
                                            'subject_id', raise_alert.subject_id)::text);
    END IF;
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION billing.raise_alert(bigint, text, text, bigint, text, jsonb) IS
    'Records an alert in billing.alert and, unless billing.notify_alerts is off, sends NOTIFY billing_alert with its firm_id, alert_id, kind and subject; both vanish if the transaction rolls back.';

-- Approval routing ---------------------------------------------------------

CREATE FUNCTION billing.matching_approval_rule(firm_id bigint, subject text,
        reason_code text, amount billing.amount,
        OUT approval_rule_id bigint, OUT required_level billing.staff_level)
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
SELECT r.approval_rule_id, r.approver_level
  FROM billing.approval_rule r
 WHERE r.firm_id = $1 AND r.subject = $2 AND r.active
   AND (r.reason_code IS NULL OR r.reason_code = $3)
   AND (r.min_amount IS NULL
        OR ($4 IS NOT NULL
            AND billing.currency_code(r.min_amount) = billing.currency_code($4)
            AND billing.minor_units(r.min_amount) <= billing.minor_units($4)))
 ORDER BY r.approver_level DESC, r.approval_rule_id
 LIMIT 1
$$;
COMMENT ON FUNCTION billing.matching_approval_rule(bigint, text, text, billing.amount) IS
    'The active approval rule of a firm that applies to a subject, reason code and amount, the most senior first; no row (nulls) when none applies.';

-- Frozen versions -----------------------------------------------------------

CREATE FUNCTION billing.engagement_version_last_governed_day(firm_id bigint,
        engagement_version_id bigint)
    RETURNS date
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
SELECT greatest(
    (SELECT max(w.worked_on) FROM billing.wip_entry w
      WHERE w.firm_id = $1 AND w.engagement_version_id = $2),
    (SELECT max(i.invoice_date)
       FROM billing.engagement_version v
       JOIN billing.invoice_line l ON l.firm_id = v.firm_id AND l.engagement_id = v.engagement_id
       JOIN billing.invoice i ON i.firm_id = l.firm_id AND i.invoice_id = l.invoice_id
      WHERE v.firm_id = $1 AND v.engagement_version_id = $2 AND v.state = 'approved'
        AND i.state NOT IN ('draft', 'void') AND i.invoice_date IS NOT NULL
        AND v.effective @> i.invoice_date
        AND NOT EXISTS (SELECT FROM billing.invoice_line_wip lw
                         WHERE lw.firm_id = l.firm_id AND lw.invoice_line_id = l.invoice_line_id)))
$$;
COMMENT ON FUNCTION billing.engagement_version_last_governed_day(bigint, bigint) IS
    'The last day of work or invoicing an engagement version governed (a WIP entry priced by it, or an issued invoice line without WIP dated in its period); empty when it governed nothing and may still be edited.';

CREATE FUNCTION billing.engagement_version_guard()
    RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
-- Attach as:
--   CREATE TRIGGER engagement_version_guard BEFORE UPDATE OR DELETE
--       ON billing.engagement_version FOR EACH ROW
--       EXECUTE FUNCTION billing.engagement_version_guard();
DECLARE
    last_day date;
    kept billing.engagement_version;
BEGIN
    IF TG_WHEN <> 'BEFORE' OR TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('UPDATE', 'DELETE') THEN
        RAISE EXCEPTION 'billing.engagement_version_guard() must fire BEFORE UPDATE OR DELETE FOR EACH ROW'
            USING ERRCODE = '39P01';
    END IF;
    last_day := billing.engagement_version_last_governed_day(OLD.firm_id, OLD.engagement_version_id);
    IF last_day IS NULL THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    -- A frozen version may only have the end of its period brought
    -- forward, and never before the last day it governed: that is how a
    -- change order hands the rest of the period to the new terms.
    IF TG_OP = 'UPDATE' THEN
        kept := NEW;
        kept.effective := OLD.effective;
        IF kept::text = OLD::text
           AND lower(NEW.effective) IS NOT DISTINCT FROM lower(OLD.effective)
           AND NEW.effective <@ OLD.effective
           AND NOT upper_inf(NEW.effective)
           AND upper(NEW.effective) > last_day THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'engagement version % of engagement % governed work or an invoice and cannot be changed',
            OLD.version_number, OLD.engagement_id
        USING ERRCODE = 'ZB205',
              DETAIL = format('It governed work or invoicing up to %s. Only the end of its period may be brought forward, to a day after that.', last_day),
              HINT = 'Change the terms with a change order: billing.propose_change_order().';
END
$$;
COMMENT ON FUNCTION billing.engagement_version_guard() IS
    'Trigger: a version that governed WIP or an issued invoice line cannot be updated or deleted (ZB205), except to bring the end of its period forward to a day after the last day it governed.';

CREATE TRIGGER engagement_version_guard BEFORE UPDATE OR DELETE ON billing.engagement_version
    FOR EACH ROW EXECUTE FUNCTION billing.engagement_version_guard();

-- Terms as of a date --------------------------------------------------------

CREATE FUNCTION billing.terms_as_of(firm_id bigint, engagement_id bigint, on_date date)
    RETURNS SETOF billing.engagement_version
    LANGUAGE sql STABLE STRICT PARALLEL SAFE ROWS 1
    SET search_path = pg_catalog, pg_temp
AS $$
SELECT v.*
  FROM billing.engagement_version v
 WHERE v.firm_id = $1 AND v.engagement_id = $2 AND v.state = 'approved'
   AND v.effective @> $3
$$;
COMMENT ON FUNCTION billing.terms_as_of(bigint, bigint, date) IS
    'The approved engagement version in force on a date: one row, or none when no terms cover it. Approved versions never overlap, so the answer is unique.';

-- Change orders ---------------------------------------------------------------

CREATE FUNCTION billing.propose_change_order(firm_id bigint, engagement_id bigint,
        effective_from date, terms jsonb, reason_code text, change_reason text,
        requested_by bigint DEFAULT NULL)
    RETURNS bigint
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := propose_change_order.firm_id;
    e bigint := propose_change_order.engagement_id;
    d date := propose_change_order.effective_from;
    term_names text[] := ARRAY['rate_card_id', 'fixed_fee', 'recurring_fee',
        'recurring_interval', 'scope_hours', 'retainer_amount', 'retainer_threshold',
        'retainer_overdraw_limit', 'budget_cap', 'budget_alert_percents',
        'increment_minutes', 'time_rounding', 'minimum_minutes',
        'non_billable_work_types', 'expense_markup_percent', 'payment_terms_days'];
    unknown text;
    actor bigint;
    eng billing.engagement;
    base billing.engagement_version;
    proposed billing.engagement_version;
    next_number integer;
    new_id bigint;
    rule record;
    key text;
    columns text := '';
    selected text := '';
BEGIN
    IF f IS NULL OR e IS NULL OR d IS NULL THEN
        RAISE EXCEPTION 'a change order needs a firm, an engagement and the day it takes effect'
            USING ERRCODE = '22004';
    END IF;
    terms := coalesce(terms, '{}');
    IF jsonb_typeof(terms) <> 'object' THEN
        RAISE EXCEPTION 'terms of a change order must be a JSON object'
            USING ERRCODE = '22023',
                  HINT = 'Pass the terms that change, such as {"rate_card_id": 7, "budget_cap": "50000.00 USD"}.';
    END IF;
    SELECT string_agg(k, ', ' ORDER BY k) INTO unknown
      FROM jsonb_object_keys(terms) AS k
     WHERE k <> ALL (term_names);
    IF unknown IS NOT NULL THEN
        RAISE EXCEPTION 'a change order cannot set %', unknown
            USING ERRCODE = '22023',
                  HINT = 'Terms a change order may set: ' || array_to_string(term_names, ', ') || '.';
    END IF;

    actor := billing.acting_staff_id(f, requested_by);
    -- The workflow trigger judges the moves below as this person.
    PERFORM pg_catalog.set_config('billing.staff_id', actor::text, true);
    -- One change order at a time per engagement: numbering and periods.
    SELECT * INTO eng FROM billing.engagement x
     WHERE x.firm_id = f AND x.engagement_id = e
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'engagement % of firm % does not exist', e, f USING ERRCODE = '23503';
    END IF;

    SELECT * INTO base FROM billing.engagement_version v
     WHERE v.firm_id = f AND v.engagement_id = e AND v.state = 'approved'
     ORDER BY v.effective @> d DESC, coalesce(lower(v.effective) <= d, true) DESC,
              abs(coalesce(lower(v.effective), d) - d)
     LIMIT 1;

    IF base.engagement_version_id IS NOT NULL
       AND (nullif(btrim(coalesce(reason_code, '')), '') IS NULL
            OR nullif(btrim(coalesce(change_reason, '')), '') IS NULL) THEN
        RAISE EXCEPTION 'a change order to engagement % needs a reason code and a reason', eng.engagement_code
            USING ERRCODE = 'ZB202',
                  HINT = 'Pass one of the firm''s reason codes for change orders and say why the terms change.';
    END IF;
    IF reason_code IS NOT NULL AND NOT EXISTS (
            SELECT FROM billing.reason_code r
             WHERE r.firm_id = f AND r.reason_code = propose_change_order.reason_code
               AND r.active AND 'change_order' = ANY (r.applies_to)) THEN
        RAISE EXCEPTION 'reason code "%" of firm % does not explain change orders', reason_code, f
            USING ERRCODE = 'ZB202',
                  HINT = 'Use an active reason code whose applies_to includes change_order.';
    END IF;

    SELECT coalesce(max(v.version_number), 0) + 1 INTO next_number
      FROM billing.engagement_version v
     WHERE v.firm_id = f AND v.engagement_id = e;

    IF base.engagement_version_id IS NULL THEN
        -- The first terms: what the change order does not set takes the
        -- table's defaults.
        FOR key IN SELECT k FROM jsonb_object_keys(terms) AS k ORDER BY k LOOP
            columns := columns || format(', %I', key);
            selected := selected || format(', p.%I', key);
        END LOOP;
        EXECUTE format('INSERT INTO billing.engagement_version (firm_id, engagement_id,'
                       ' version_number, effective, state, currency, requested_by,'
                       ' reason_code, change_reason%s)'
                       ' SELECT $1, $2, $3, pg_catalog.daterange($4, NULL), ''pending_approval'','
                       ' $5, $6, $7, $8%s'
                       ' FROM pg_catalog.jsonb_populate_record(NULL::billing.engagement_version, $9) p'
                       ' RETURNING engagement_version_id', columns, selected)
           INTO new_id
          USING f, e, next_number, d, eng.currency, actor, reason_code, change_reason, terms;
    ELSE
        proposed := jsonb_populate_record(base, terms);
        proposed.engagement_version_id := nextval('billing.engagement_version_id_seq');
        proposed.version_number := next_number;
        proposed.effective := daterange(d, NULL);
        proposed.state := 'pending_approval';
        proposed.reason_code := reason_code;
        proposed.change_reason := change_reason;
        proposed.requested_by := actor;
        proposed.approved_by := NULL;
        proposed.approved_at := NULL;
        proposed.created_at := now();
        INSERT INTO billing.engagement_version SELECT proposed.*;
        new_id := proposed.engagement_version_id;
    END IF;

    SELECT * INTO rule FROM billing.matching_approval_rule(f, 'engagement_version', reason_code, NULL);
    INSERT INTO billing.approval (firm_id, approval_rule_id, engagement_version_id,
            required_level, requested_by)
    VALUES (f, rule.approval_rule_id, new_id, coalesce(rule.required_level, 'partner'), actor);

    PERFORM set_config('billing.reason_code', coalesce(reason_code, ''), true);
    PERFORM set_config('billing.reason', coalesce(change_reason, ''), true);
    RETURN new_id;
END
$$;
COMMENT ON FUNCTION billing.propose_change_order(bigint, bigint, date, jsonb, text, text, bigint) IS
    'Proposes new terms for an engagement from a day on: a pending version that copies the terms in force on that day and changes those named in the JSON object, plus an approval request. Needs a reason code for change orders and a reason once terms exist. Returns the new engagement_version_id.';

CREATE FUNCTION billing.approve_change_order(firm_id bigint, engagement_version_id bigint,
        approved_by bigint DEFAULT NULL, note text DEFAULT NULL)
    RETURNS billing.engagement_version
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := approve_change_order.firm_id;
    vid bigint := approve_change_order.engagement_version_id;
    actor bigint;
    actor_level billing.staff_level;
    v billing.engagement_version;
    cover billing.engagement_version;
    pending billing.approval;
    d date;
    new_upper date;
    last_day date;
BEGIN
    actor := billing.acting_staff_id(f, approved_by);
    -- The workflow trigger judges the moves below as this person.
    PERFORM pg_catalog.set_config('billing.staff_id', actor::text, true);
    SELECT * INTO v FROM billing.engagement_version x
     WHERE x.firm_id = f AND x.engagement_version_id = vid;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'engagement version % of firm % does not exist', vid, f USING ERRCODE = 'P0002';
    END IF;
    -- Change orders of one engagement are approved one at a time: the lock
    -- is held to the end of the transaction, so a second approval reads
    -- the periods the first one left.
    PERFORM FROM billing.engagement x
     WHERE x.firm_id = f AND x.engagement_id = v.engagement_id
       FOR NO KEY UPDATE;
    SELECT * INTO v FROM billing.engagement_version x
     WHERE x.firm_id = f AND x.engagement_version_id = vid
       FOR UPDATE;
    IF v.state <> 'pending_approval' THEN
        RAISE EXCEPTION 'change order % of engagement % is %, not pending approval', v.version_number,
                v.engagement_id, v.state
            USING ERRCODE = 'ZB201',
                  HINT = 'Only a pending change order can be approved or rejected.';
    END IF;
    IF actor = v.requested_by THEN
        RAISE EXCEPTION 'staff member % prepared change order % and cannot approve it', actor, v.version_number
            USING ERRCODE = 'ZB206',
                  HINT = 'Have another person approve it.';
    END IF;
    SELECT * INTO pending FROM billing.approval a
     WHERE a.firm_id = f AND a.engagement_version_id = vid AND a.state = 'pending'
     ORDER BY a.approval_id DESC LIMIT 1
       FOR UPDATE;
    SELECT s.level INTO actor_level FROM billing.staff s WHERE s.firm_id = f AND s.staff_id = actor;
    IF actor_level < coalesce(pending.required_level, 'partner') THEN
        RAISE EXCEPTION 'staff member % is a %, and change order % needs a % to approve it',
                actor, actor_level, v.version_number, coalesce(pending.required_level, 'partner')
            USING ERRCODE = 'ZB203',
                  HINT = 'Ask someone of the level named to approve it.';
    END IF;

    d := lower(v.effective);
    SELECT * INTO cover FROM billing.engagement_version x
     WHERE x.firm_id = f AND x.engagement_id = v.engagement_id AND x.state = 'approved'
       AND x.effective @> d
       FOR UPDATE;
    IF FOUND THEN
        IF lower(cover.effective) IS NOT DISTINCT FROM d THEN
            RAISE EXCEPTION 'change order % starts on the first day of version %, which it would replace entirely',
                    v.version_number, cover.version_number
                USING ERRCODE = 'ZB406',
                      HINT = 'Reject it and propose the change from a later day; terms are changed from a day on, never replaced.';
        END IF;
        last_day := billing.engagement_version_last_governed_day(f, cover.engagement_version_id);
        IF last_day >= d THEN
            RAISE EXCEPTION 'version % governed work on %, on or after the day change order % starts',
                    cover.version_number, last_day, v.version_number
                USING ERRCODE = 'ZB205',
                      DETAIL = 'Work already priced under the current terms keeps them.',
                      HINT = format('Reject this change order and propose it from %s or later.', last_day + 1);
        END IF;
        new_upper := upper(cover.effective);
        UPDATE billing.engagement_version x
           SET effective = daterange(lower(cover.effective), d)
         WHERE x.firm_id = f AND x.engagement_version_id = cover.engagement_version_id;
    ELSE
        SELECT min(lower(x.effective)) INTO new_upper
          FROM billing.engagement_version x
         WHERE x.firm_id = f AND x.engagement_id = v.engagement_id AND x.state = 'approved'
           AND lower(x.effective) > d;
    END IF;

    PERFORM set_config('billing.reason_code', coalesce(v.reason_code, ''), true);
    PERFORM set_config('billing.reason', coalesce(v.change_reason, ''), true);
    UPDATE billing.engagement_version x
       SET state = 'approved', effective = daterange(d, new_upper),
           approved_by = actor, approved_at = now()
     WHERE x.firm_id = f AND x.engagement_version_id = vid
    RETURNING * INTO v;
    UPDATE billing.approval a
       SET state = 'approved', decided_by = actor, decided_at = now(), decision_note = note
     WHERE a.firm_id = f AND a.approval_id = pending.approval_id;
    RETURN v;
END
$$;
COMMENT ON FUNCTION billing.approve_change_order(bigint, bigint, bigint, text) IS
    'Approves a pending change order in one transaction: closes the period of the version in force on its first day at that day, gives it the rest of that period, and records the decision. The preparer cannot approve (ZB206); the approver needs the level the request names (ZB203).';

CREATE FUNCTION billing.reject_change_order(firm_id bigint, engagement_version_id bigint,
        rejected_by bigint DEFAULT NULL, note text DEFAULT NULL)
    RETURNS billing.engagement_version
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := reject_change_order.firm_id;
    vid bigint := reject_change_order.engagement_version_id;
    actor bigint;
    v billing.engagement_version;
BEGIN
    actor := billing.acting_staff_id(f, rejected_by);
    -- The workflow trigger judges the moves below as this person.
    PERFORM pg_catalog.set_config('billing.staff_id', actor::text, true);
    SELECT * INTO v FROM billing.engagement_version x
     WHERE x.firm_id = f AND x.engagement_version_id = vid
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'engagement version % of firm % does not exist', vid, f USING ERRCODE = 'P0002';
    END IF;
    IF v.state <> 'pending_approval' THEN
        RAISE EXCEPTION 'change order % of engagement % is %, not pending approval', v.version_number,
                v.engagement_id, v.state
            USING ERRCODE = 'ZB201';
    END IF;
    IF actor = v.requested_by THEN
        RAISE EXCEPTION 'staff member % prepared change order % and cannot decide it', actor, v.version_number
            USING ERRCODE = 'ZB206',
                  HINT = 'Have another person reject it.';
    END IF;
    UPDATE billing.engagement_version x SET state = 'rejected'
     WHERE x.firm_id = f AND x.engagement_version_id = vid
    RETURNING * INTO v;
    UPDATE billing.approval a
       SET state = 'rejected', decided_by = actor, decided_at = now(), decision_note = note
     WHERE a.firm_id = f AND a.engagement_version_id = vid AND a.state = 'pending';
    RETURN v;
END
$$;
COMMENT ON FUNCTION billing.reject_change_order(bigint, bigint, bigint, text) IS
    'Rejects a pending change order and its approval request; the terms in force do not change.';

-- Rating: the trigger that prices WIP and its cache (src/rating.c) -----------

CREATE FUNCTION billing.wip_entry_resolve()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'wip_entry_resolve'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION billing.wip_entry_resolve() IS
    'Trigger: fills a WIP entry''s governing version, billable minutes, rate, unit price, markup and amount from the terms and rates in force on the day of the work (ZB401, ZB402, ZB405), and holds new work that would pass a budget cap.';

CREATE TRIGGER wip_entry_resolve BEFORE INSERT OR UPDATE ON billing.wip_entry
    FOR EACH ROW EXECUTE FUNCTION billing.wip_entry_resolve();

CREATE FUNCTION billing.terms_cache_invalidate()
    RETURNS trigger
    AS 'MODULE_PATHNAME', 'terms_cache_invalidate'
    LANGUAGE C VOLATILE PARALLEL UNSAFE;
COMMENT ON FUNCTION billing.terms_cache_invalidate() IS
    'Statement trigger: tells every session that the table changed, so each drops the terms and rates it cached for pricing WIP.';

CREATE TRIGGER terms_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.engagement_version
    FOR EACH STATEMENT EXECUTE FUNCTION billing.terms_cache_invalidate();
CREATE TRIGGER terms_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.engagement_rate
    FOR EACH STATEMENT EXECUTE FUNCTION billing.terms_cache_invalidate();
CREATE TRIGGER terms_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.rate
    FOR EACH STATEMENT EXECUTE FUNCTION billing.terms_cache_invalidate();
CREATE TRIGGER terms_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.rate_card
    FOR EACH STATEMENT EXECUTE FUNCTION billing.terms_cache_invalidate();
CREATE TRIGGER terms_cache_invalidate
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON billing.staff
    FOR EACH STATEMENT EXECUTE FUNCTION billing.terms_cache_invalidate();

CREATE FUNCTION billing.billable_minutes(minutes integer, increment_minutes integer,
        time_rounding text, minimum_minutes integer)
    RETURNS integer
    AS 'MODULE_PATHNAME', 'wip_billable_minutes'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION billing.billable_minutes(integer, integer, text, integer) IS
    'The time rule applied to a time entry: minutes rounded to the increment (up, nearest with halves up, or down), then raised to the minimum.';

-- Which terms governed what ---------------------------------------------------

CREATE VIEW billing.wip_governing_terms AS
SELECT w.firm_id, w.wip_entry_id, w.engagement_id, w.work_item_id, w.kind, w.staff_id,
       w.worked_on, w.state, w.billable,
       v.engagement_version_id, v.version_number,
       v.effective AS terms_effective, v.reason_code AS terms_reason_code,
       v.change_reason AS terms_change_reason, v.approved_by AS terms_approved_by,
       v.approved_at AS terms_approved_at,
       CASE WHEN w.engagement_rate_id IS NOT NULL THEN 'engagement_rate'
            WHEN w.rate_id IS NOT NULL THEN 'rate_card' END AS rate_source,
       w.rate_id, w.engagement_rate_id, r.rate_card_id,
       coalesce(er.staff_id, r.staff_id) AS rate_staff_id,
       coalesce(er.level, r.level) AS rate_level,
       w.minutes, w.billable_minutes, w.quantity, w.cost, w.markup_percent,
       w.unit_price,
       billing.value(w.unit_price) AS unit_price_value,
       w.amount,
       billing.value(w.amount) AS amount_value,
       billing.currency_code(w.amount) AS currency
  FROM billing.wip_entry w
  JOIN billing.engagement_version v
    ON v.firm_id = w.firm_id AND v.engagement_version_id = w.engagement_version_id
  LEFT JOIN billing.rate r ON r.firm_id = w.firm_id AND r.rate_id = w.rate_id
  LEFT JOIN billing.engagement_rate er
    ON er.firm_id = w.firm_id AND er.engagement_rate_id = w.engagement_rate_id;

COMMENT ON VIEW billing.wip_governing_terms IS
    'For each WIP entry, the engagement version and the rate that priced it when it was recorded, with the amounts also as numbers for BI tools.';
COMMENT ON COLUMN billing.wip_governing_terms.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.wip_governing_terms.wip_entry_id IS 'The WIP entry.';
COMMENT ON COLUMN billing.wip_governing_terms.engagement_id IS 'Its engagement.';
COMMENT ON COLUMN billing.wip_governing_terms.work_item_id IS 'Its work item.';
COMMENT ON COLUMN billing.wip_governing_terms.kind IS 'time, flat or expense.';
COMMENT ON COLUMN billing.wip_governing_terms.staff_id IS 'Who did the work.';
COMMENT ON COLUMN billing.wip_governing_terms.worked_on IS 'The day of the work; the terms in force that day governed it.';
COMMENT ON COLUMN billing.wip_governing_terms.state IS 'The entry''s workflow state.';
COMMENT ON COLUMN billing.wip_governing_terms.billable IS 'False for work never billed (a non-billable work type).';
COMMENT ON COLUMN billing.wip_governing_terms.engagement_version_id IS 'The version of the terms that governed the entry.';
COMMENT ON COLUMN billing.wip_governing_terms.version_number IS 'Its number: 1 for the engagement letter, then one per change order.';
COMMENT ON COLUMN billing.wip_governing_terms.terms_effective IS 'The period of that version.';
COMMENT ON COLUMN billing.wip_governing_terms.terms_reason_code IS 'The reason code of the change order that made the version.';
COMMENT ON COLUMN billing.wip_governing_terms.terms_change_reason IS 'Why the terms changed, in words.';
COMMENT ON COLUMN billing.wip_governing_terms.terms_approved_by IS 'Who approved the version.';
COMMENT ON COLUMN billing.wip_governing_terms.terms_approved_at IS 'When the version was approved.';
COMMENT ON COLUMN billing.wip_governing_terms.rate_source IS 'engagement_rate (an override of the engagement) or rate_card; empty for flat tasks and expenses.';
COMMENT ON COLUMN billing.wip_governing_terms.rate_id IS 'The rate-card rate that priced the time.';
COMMENT ON COLUMN billing.wip_governing_terms.engagement_rate_id IS 'The engagement override that priced the time.';
COMMENT ON COLUMN billing.wip_governing_terms.rate_card_id IS 'The rate card of the rate-card rate.';
COMMENT ON COLUMN billing.wip_governing_terms.rate_staff_id IS 'The person the rate is for, when it is a personal rate.';
COMMENT ON COLUMN billing.wip_governing_terms.rate_level IS 'The staff level the rate is for, when it is a level''s rate.';
COMMENT ON COLUMN billing.wip_governing_terms.minutes IS 'Minutes recorded.';
COMMENT ON COLUMN billing.wip_governing_terms.billable_minutes IS 'Minutes billed after the version''s increment, rounding and minimum.';
COMMENT ON COLUMN billing.wip_governing_terms.quantity IS 'Units of a flat task.';
COMMENT ON COLUMN billing.wip_governing_terms.cost IS 'Cost of an expense.';
COMMENT ON COLUMN billing.wip_governing_terms.markup_percent IS 'Markup the version put on the expense.';
COMMENT ON COLUMN billing.wip_governing_terms.unit_price IS 'Hourly rate or unit price.';
COMMENT ON COLUMN billing.wip_governing_terms.unit_price_value IS 'unit_price as a number, in currency.';
COMMENT ON COLUMN billing.wip_governing_terms.amount IS 'Standard value of the entry.';
COMMENT ON COLUMN billing.wip_governing_terms.amount_value IS 'amount as a number, in currency.';
COMMENT ON COLUMN billing.wip_governing_terms.currency IS 'ISO 4217 code of the amounts.';

CREATE VIEW billing.invoice_line_governing_terms AS
SELECT l.firm_id, l.invoice_id, l.invoice_line_id, l.line_number, l.engagement_id, l.kind,
       lw.wip_entry_id,
       v.engagement_version_id, v.version_number, v.effective AS terms_effective,
       CASE WHEN lw.wip_entry_id IS NOT NULL THEN 'wip_entry' ELSE 'invoice_date' END AS governed_through,
       coalesce(lw.billed_amount, l.amount) AS amount,
       billing.value(coalesce(lw.billed_amount, l.amount)) AS amount_value,
       billing.currency_code(coalesce(lw.billed_amount, l.amount)) AS currency
  FROM billing.invoice_line l
  JOIN billing.invoice i ON i.firm_id = l.firm_id AND i.invoice_id = l.invoice_id
  LEFT JOIN billing.invoice_line_wip lw
    ON lw.firm_id = l.firm_id AND lw.invoice_line_id = l.invoice_line_id
  LEFT JOIN billing.wip_entry w
    ON w.firm_id = lw.firm_id AND w.wip_entry_id = lw.wip_entry_id
  LEFT JOIN billing.engagement_version v
    ON v.firm_id = l.firm_id
   AND ((lw.wip_entry_id IS NOT NULL AND v.engagement_version_id = w.engagement_version_id)
        OR (lw.wip_entry_id IS NULL AND v.engagement_id = l.engagement_id
            AND v.state = 'approved'
            AND v.effective @> coalesce(i.invoice_date, (i.created_at AT TIME ZONE 'UTC')::date)));

COMMENT ON VIEW billing.invoice_line_governing_terms IS
    'For each invoice line, the engagement version that governed it: through each WIP entry it bills (one row per entry), or, for a line without WIP (a fixed fee, a milestone), the version in force on the invoice date.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.invoice_id IS 'The invoice.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.invoice_line_id IS 'The line.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.line_number IS 'Position of the line on the invoice.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.engagement_id IS 'The engagement the line bills.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.kind IS 'The kind of line.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.wip_entry_id IS 'The WIP entry behind this row of the line; empty for a line without WIP.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.engagement_version_id IS 'The version of the terms that governed it.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.version_number IS 'Its number.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.terms_effective IS 'The period of that version.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.governed_through IS 'wip_entry (the version stored on the entry) or invoice_date (the version in force that day; the creation day while a draft has no date).';
COMMENT ON COLUMN billing.invoice_line_governing_terms.amount IS 'What the line took from the entry, or the line''s amount when it has no WIP.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.amount_value IS 'amount as a number, in currency.';
COMMENT ON COLUMN billing.invoice_line_governing_terms.currency IS 'ISO 4217 code of the amount.';
