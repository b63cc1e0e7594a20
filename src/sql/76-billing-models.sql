-- 76-billing-models.sql: every billing model up to what is ready to invoice.
--
-- Hourly work with a budget cap (threshold alerts once per crossing, work
-- past the cap held for approval), fixed fees and milestones, recurring
-- fees generated once per period, retainers (deposits, draws, the balance,
-- a replenishment request once per crossing of the threshold, no overdraw
-- past the terms), a fixed fee plus hourly overage beyond a scope of hours,
-- explicit re-rating, and the view billing.ready_to_invoice that the
-- invoice run starts from.  doc/terms.md is the reference.

-- Budget caps ---------------------------------------------------------------

CREATE TABLE billing.budget_threshold_crossing (
    firm_id             bigint NOT NULL,
    engagement_id       bigint NOT NULL,
    percent             numeric NOT NULL CHECK (percent > 0),
    engagement_version_id bigint NOT NULL,
    consumed            billing.amount NOT NULL,
    budget_cap          billing.amount NOT NULL,
    crossed_at          timestamptz NOT NULL DEFAULT now(),
    alert_id            bigint NOT NULL,
    PRIMARY KEY (firm_id, engagement_id, percent),
    FOREIGN KEY (firm_id, engagement_id, engagement_version_id)
        REFERENCES billing.engagement_version (firm_id, engagement_id, engagement_version_id),
    FOREIGN KEY (firm_id, alert_id) REFERENCES billing.alert (firm_id, alert_id)
);

COMMENT ON TABLE billing.budget_threshold_crossing IS
    'The budget thresholds an engagement''s billable WIP is at or above, each with the alert its crossing raised; a row goes when consumption falls back below, so the next crossing alerts again.';
COMMENT ON COLUMN billing.budget_threshold_crossing.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.budget_threshold_crossing.engagement_id IS 'The engagement whose budget it is.';
COMMENT ON COLUMN billing.budget_threshold_crossing.percent IS 'The threshold, as a percentage of the budget cap (one of the version''s budget_alert_percents).';
COMMENT ON COLUMN billing.budget_threshold_crossing.engagement_version_id IS 'The version whose cap was crossed.';
COMMENT ON COLUMN billing.budget_threshold_crossing.consumed IS 'Billable WIP value when it was crossed.';
COMMENT ON COLUMN billing.budget_threshold_crossing.budget_cap IS 'The cap it was measured against.';
COMMENT ON COLUMN billing.budget_threshold_crossing.crossed_at IS 'When it was crossed.';
COMMENT ON COLUMN billing.budget_threshold_crossing.alert_id IS 'The alert raised.';

CREATE FUNCTION billing.budget_consumed_minor_units(firm_id bigint, engagement_id bigint,
        except_wip_entry_id bigint DEFAULT NULL)
    RETURNS bigint
    LANGUAGE sql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce(sum(billing.minor_units(w.amount)), 0)::bigint
  FROM billing.wip_entry w
 WHERE w.firm_id = $1 AND w.engagement_id = $2 AND w.billable
   AND w.state <> 'written_off'
   AND NOT (w.over_budget AND w.state = 'on_hold')
   AND w.wip_entry_id IS DISTINCT FROM $3
$$;
COMMENT ON FUNCTION billing.budget_consumed_minor_units(bigint, bigint, bigint) IS
    'An engagement''s budget consumption in minor units: its billable WIP not written off and not held over budget, leaving out one entry when asked.';

CREATE FUNCTION billing.budget_note_consumption(firm_id bigint, engagement_id bigint,
        engagement_version_id bigint, consumed bigint)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := budget_note_consumption.firm_id;
    e bigint := budget_note_consumption.engagement_id;
    v billing.engagement_version;
    cap bigint;
    p numeric;
    alert bigint;
    raised integer := 0;
BEGIN
    SELECT * INTO v FROM billing.engagement_version x
     WHERE x.firm_id = f AND x.engagement_version_id = budget_note_consumption.engagement_version_id;
    IF v.budget_cap IS NULL THEN
        RETURN 0;
    END IF;
    cap := billing.minor_units(v.budget_cap);
    -- Thresholds consumption fell back below are armed again.
    DELETE FROM billing.budget_threshold_crossing c
     WHERE c.firm_id = f AND c.engagement_id = e
       AND budget_note_consumption.consumed * 100 < cap * c.percent;
    FOR p IN SELECT DISTINCT t FROM unnest(v.budget_alert_percents) AS t ORDER BY t LOOP
        CONTINUE WHEN consumed * 100 < cap * p;
        CONTINUE WHEN EXISTS (SELECT FROM billing.budget_threshold_crossing c
                               WHERE c.firm_id = f AND c.engagement_id = e AND c.percent = p);
        alert := billing.raise_alert(f, 'budget_threshold', 'billing.engagement', e,
            format('Engagement %s has used %s%% of its budget cap of %s.',
                   (SELECT x.engagement_code FROM billing.engagement x
                     WHERE x.firm_id = f AND x.engagement_id = e),
                   p, v.budget_cap),
            jsonb_build_object('percent', p, 'budget_cap', v.budget_cap::text,
                               'consumed', billing.amount_of_minor_units(consumed, v.currency)::text,
                               'engagement_version_id', v.engagement_version_id));
        INSERT INTO billing.budget_threshold_crossing (firm_id, engagement_id, percent,
                engagement_version_id, consumed, budget_cap, alert_id)
        VALUES (f, e, p, v.engagement_version_id,
                billing.amount_of_minor_units(consumed, v.currency), v.budget_cap, alert);
        raised := raised + 1;
    END LOOP;
    RETURN raised;
END
$$;
COMMENT ON FUNCTION billing.budget_note_consumption(bigint, bigint, bigint, bigint) IS
    'Raises one budget_threshold alert for each of the version''s budget_alert_percents that consumption has newly reached, and re-arms those it fell back below; returns the number of alerts raised.';

CREATE FUNCTION billing.budget_check(firm_id bigint, engagement_id bigint,
        engagement_version_id bigint, wip_entry_id bigint, amount_minor_units bigint)
    RETURNS boolean
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := budget_check.firm_id;
    e bigint := budget_check.engagement_id;
    cap billing.amount;
    consumed_before bigint;
BEGIN
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'budget caps cannot be checked under REPEATABLE READ'
            USING ERRCODE = '0A000',
                  DETAIL = 'Under REPEATABLE READ the check would read a snapshot taken before concurrent entries committed.',
                  HINT = 'Use READ COMMITTED (the default) or SERIALIZABLE.';
    END IF;
    -- Entries of one capped engagement are checked one at a time, so two
    -- sessions cannot both fit under the cap.
    PERFORM FROM billing.engagement x
     WHERE x.firm_id = f AND x.engagement_id = e
       FOR NO KEY UPDATE;
    SELECT v.budget_cap INTO cap FROM billing.engagement_version v
     WHERE v.firm_id = f AND v.engagement_version_id = budget_check.engagement_version_id;
    IF cap IS NULL THEN
        RETURN false;
    END IF;
    consumed_before := billing.budget_consumed_minor_units(f, e, budget_check.wip_entry_id);
    IF consumed_before + amount_minor_units > billing.minor_units(cap) THEN
        RETURN true;
    END IF;
    PERFORM billing.budget_note_consumption(f, e, budget_check.engagement_version_id,
                                            consumed_before + amount_minor_units);
    RETURN false;
END
$$;
COMMENT ON FUNCTION billing.budget_check(bigint, bigint, bigint, bigint, bigint) IS
    'Called by the rating trigger for new work on a capped engagement: true when the entry would take billable WIP past the cap (it is then held); otherwise raises the threshold alerts it crosses. Locks the engagement so concurrent entries are checked in turn.';

CREATE FUNCTION billing.wip_entry_route_over_budget()
    RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
-- Attach as:
--   CREATE TRIGGER wip_entry_route_over_budget AFTER INSERT ON billing.wip_entry
--       FOR EACH ROW WHEN (NEW.over_budget)
--       EXECUTE FUNCTION billing.wip_entry_route_over_budget();
DECLARE
    rule record;
    code text;
BEGIN
    IF TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' OR TG_OP NOT IN ('INSERT', 'UPDATE') THEN
        RAISE EXCEPTION 'billing.wip_entry_route_over_budget() must fire AFTER INSERT OR UPDATE FOR EACH ROW'
            USING ERRCODE = '39P01';
    END IF;
    SELECT * INTO rule FROM billing.matching_approval_rule(NEW.firm_id, 'wip_entry', NULL, NEW.amount);
    INSERT INTO billing.approval (firm_id, approval_rule_id, wip_entry_id, required_level, requested_by)
    VALUES (NEW.firm_id, rule.approval_rule_id, NEW.wip_entry_id,
            coalesce(rule.required_level, 'partner'), NEW.staff_id);
    SELECT x.engagement_code INTO code FROM billing.engagement x
     WHERE x.firm_id = NEW.firm_id AND x.engagement_id = NEW.engagement_id;
    PERFORM billing.raise_alert(NEW.firm_id, 'wip_over_budget', 'billing.wip_entry', NEW.wip_entry_id,
        format('WIP entry %s of %s on engagement %s would pass its budget cap; it is held for approval.',
               NEW.wip_entry_id, NEW.amount, code),
        jsonb_build_object('engagement_id', NEW.engagement_id, 'amount', NEW.amount::text,
                           'engagement_version_id', NEW.engagement_version_id));
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION billing.wip_entry_route_over_budget() IS
    'Trigger: routes a WIP entry held over budget for approval (an approval request of the level an approval rule for wip_entry names, a partner by default) and raises a wip_over_budget alert.';

CREATE TRIGGER wip_entry_route_over_budget AFTER INSERT ON billing.wip_entry
    FOR EACH ROW WHEN (NEW.over_budget)
    EXECUTE FUNCTION billing.wip_entry_route_over_budget();
CREATE TRIGGER wip_entry_route_over_budget_on_update AFTER UPDATE ON billing.wip_entry
    FOR EACH ROW WHEN (NEW.over_budget AND NOT OLD.over_budget)
    EXECUTE FUNCTION billing.wip_entry_route_over_budget();

CREATE FUNCTION billing.wip_entry_hold_release_guard()
    RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
-- Attach as:
--   CREATE TRIGGER wip_entry_hold_release_guard BEFORE UPDATE ON billing.wip_entry
--       FOR EACH ROW WHEN (OLD.over_budget AND OLD.state = 'on_hold'
--                          AND NEW.state NOT IN ('on_hold', 'written_off'))
--       EXECUTE FUNCTION billing.wip_entry_hold_release_guard();
BEGIN
    IF TG_WHEN <> 'BEFORE' OR TG_LEVEL <> 'ROW' OR TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'billing.wip_entry_hold_release_guard() must fire BEFORE UPDATE FOR EACH ROW'
            USING ERRCODE = '39P01';
    END IF;
    IF NOT EXISTS (SELECT FROM billing.approval a
                    WHERE a.firm_id = NEW.firm_id AND a.wip_entry_id = NEW.wip_entry_id
                      AND a.state = 'approved') THEN
        RAISE EXCEPTION 'WIP entry % is held over its engagement''s budget cap and has no approval', NEW.wip_entry_id
            USING ERRCODE = 'ZB404',
                  HINT = 'Decide its approval with billing.decide_over_budget_wip(), or raise the cap through a change order.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION billing.wip_entry_hold_release_guard() IS
    'Trigger: a WIP entry held over budget leaves on_hold (except to be written off) only once its approval is approved (ZB404).';

CREATE TRIGGER wip_entry_hold_release_guard BEFORE UPDATE ON billing.wip_entry
    FOR EACH ROW WHEN (OLD.over_budget AND OLD.state = 'on_hold'
                       AND NEW.state <> 'on_hold' AND NEW.state <> 'written_off')
    EXECUTE FUNCTION billing.wip_entry_hold_release_guard();

CREATE FUNCTION billing.decide_over_budget_wip(firm_id bigint, wip_entry_id bigint,
        approve boolean, decided_by bigint DEFAULT NULL, note text DEFAULT NULL)
    RETURNS text
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := decide_over_budget_wip.firm_id;
    actor bigint;
    actor_level billing.staff_level;
    w billing.wip_entry;
    pending billing.approval;
BEGIN
    IF approve IS NULL THEN
        RAISE EXCEPTION 'say whether the over-budget work is approved' USING ERRCODE = '22004';
    END IF;
    actor := billing.acting_staff_id(f, decided_by);
    -- The workflow trigger judges the moves below as this person.
    PERFORM pg_catalog.set_config('billing.staff_id', actor::text, true);
    SELECT * INTO w FROM billing.wip_entry x
     WHERE x.firm_id = f AND x.wip_entry_id = decide_over_budget_wip.wip_entry_id
       FOR UPDATE;
    IF NOT FOUND OR NOT w.over_budget OR w.state <> 'on_hold' THEN
        RAISE EXCEPTION 'WIP entry % of firm % is not held over budget', decide_over_budget_wip.wip_entry_id, f
            USING ERRCODE = 'ZB201';
    END IF;
    SELECT * INTO pending FROM billing.approval a
     WHERE a.firm_id = f AND a.wip_entry_id = w.wip_entry_id AND a.state = 'pending'
     ORDER BY a.approval_id DESC LIMIT 1
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'WIP entry % has no pending approval', w.wip_entry_id USING ERRCODE = 'ZB201';
    END IF;
    IF actor = pending.requested_by THEN
        RAISE EXCEPTION 'staff member % recorded WIP entry % and cannot approve it over budget', actor, w.wip_entry_id
            USING ERRCODE = 'ZB206', HINT = 'Have another person decide it.';
    END IF;
    SELECT s.level INTO actor_level FROM billing.staff s WHERE s.firm_id = f AND s.staff_id = actor;
    IF actor_level < pending.required_level THEN
        RAISE EXCEPTION 'staff member % is a %, and WIP entry % over budget needs a %',
                actor, actor_level, w.wip_entry_id, pending.required_level
            USING ERRCODE = 'ZB203';
    END IF;
    UPDATE billing.approval a
       SET state = CASE WHEN approve THEN 'approved' ELSE 'rejected' END,
           decided_by = actor, decided_at = now(), decision_note = note
     WHERE a.firm_id = f AND a.approval_id = pending.approval_id;
    IF NOT approve THEN
        RETURN w.state;
    END IF;
    UPDATE billing.wip_entry x SET state = 'approved'
     WHERE x.firm_id = f AND x.wip_entry_id = w.wip_entry_id;
    PERFORM billing.budget_note_consumption(f, w.engagement_id, w.engagement_version_id,
        billing.budget_consumed_minor_units(f, w.engagement_id));
    RETURN 'approved';
END
$$;
COMMENT ON FUNCTION billing.decide_over_budget_wip(bigint, bigint, boolean, bigint, text) IS
    'Decides the approval of a WIP entry held over budget: approved, the entry becomes approved (ready to bill past the cap) and thresholds are re-checked; rejected, it stays on hold for the firm to write off or re-scope. The person who recorded it cannot decide.';

CREATE VIEW billing.engagement_budget AS
SELECT e.firm_id, e.engagement_id, e.engagement_code, v.engagement_version_id, v.budget_cap,
       billing.amount_of_minor_units(
           billing.budget_consumed_minor_units(e.firm_id, e.engagement_id), v.currency) AS consumed,
       round(100.0 * billing.budget_consumed_minor_units(e.firm_id, e.engagement_id)
             / billing.minor_units(v.budget_cap), 1) AS percent_consumed,
       (SELECT count(*) FROM billing.wip_entry w
         WHERE w.firm_id = e.firm_id AND w.engagement_id = e.engagement_id
           AND w.over_budget AND w.state = 'on_hold') AS entries_held,
       billing.value(v.budget_cap) AS budget_cap_value,
       billing.value(billing.amount_of_minor_units(
           billing.budget_consumed_minor_units(e.firm_id, e.engagement_id), v.currency)) AS consumed_value,
       v.currency
  FROM billing.engagement e
  JOIN billing.engagement_version v
    ON v.firm_id = e.firm_id AND v.engagement_id = e.engagement_id AND v.state = 'approved'
   AND v.effective @> current_date
 WHERE v.budget_cap IS NOT NULL;

COMMENT ON VIEW billing.engagement_budget IS
    'Budget consumption of each engagement whose terms in force today have a budget cap: billable WIP against the cap, and how many entries are held over it.';
COMMENT ON COLUMN billing.engagement_budget.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.engagement_budget.engagement_id IS 'The engagement.';
COMMENT ON COLUMN billing.engagement_budget.engagement_code IS 'Its code.';
COMMENT ON COLUMN billing.engagement_budget.engagement_version_id IS 'The version in force today, whose cap applies.';
COMMENT ON COLUMN billing.engagement_budget.budget_cap IS 'The not-to-exceed amount.';
COMMENT ON COLUMN billing.engagement_budget.consumed IS 'Billable WIP not written off and not held over budget.';
COMMENT ON COLUMN billing.engagement_budget.percent_consumed IS 'consumed as a percentage of the cap.';
COMMENT ON COLUMN billing.engagement_budget.entries_held IS 'WIP entries held over the cap, waiting for approval.';
COMMENT ON COLUMN billing.engagement_budget.budget_cap_value IS 'budget_cap as a number, in currency.';
COMMENT ON COLUMN billing.engagement_budget.consumed_value IS 'consumed as a number, in currency.';
COMMENT ON COLUMN billing.engagement_budget.currency IS 'ISO 4217 code of the amounts.';

-- Retainers -----------------------------------------------------------------

CREATE SEQUENCE billing.retainer_replenishment_request_id_seq;

CREATE TABLE billing.retainer_replenishment_request (
    firm_id             bigint NOT NULL,
    retainer_replenishment_request_id bigint NOT NULL
                        DEFAULT nextval('billing.retainer_replenishment_request_id_seq'),
    engagement_id       bigint NOT NULL,
    retainer_entry_id   bigint NOT NULL,
    balance             billing.amount NOT NULL,
    threshold           billing.amount NOT NULL,
    requested_amount    billing.amount NOT NULL CHECK (billing.minor_units(requested_amount) > 0),
    alert_id            bigint NOT NULL,
    state               text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'fulfilled')),
    requested_at        timestamptz NOT NULL DEFAULT now(),
    fulfilled_at        timestamptz,
    PRIMARY KEY (firm_id, retainer_replenishment_request_id),
    FOREIGN KEY (firm_id, engagement_id) REFERENCES billing.engagement (firm_id, engagement_id),
    FOREIGN KEY (firm_id, retainer_entry_id) REFERENCES billing.retainer_entry (firm_id, retainer_entry_id),
    FOREIGN KEY (firm_id, alert_id) REFERENCES billing.alert (firm_id, alert_id),
    CONSTRAINT retainer_replenishment_fulfilment_has_a_time CHECK ((state = 'fulfilled') = (fulfilled_at IS NOT NULL))
);
ALTER SEQUENCE billing.retainer_replenishment_request_id_seq
    OWNED BY billing.retainer_replenishment_request.retainer_replenishment_request_id;

COMMENT ON TABLE billing.retainer_replenishment_request IS
    'A request to the client to top up a retainer, made once each time a draw or refund takes its balance below the threshold; fulfilled when deposits bring it back up.';
COMMENT ON COLUMN billing.retainer_replenishment_request.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.retainer_replenishment_request.retainer_replenishment_request_id IS 'Identifies the request.';
COMMENT ON COLUMN billing.retainer_replenishment_request.engagement_id IS 'The retainer engagement.';
COMMENT ON COLUMN billing.retainer_replenishment_request.retainer_entry_id IS 'The draw or refund that crossed the threshold.';
COMMENT ON COLUMN billing.retainer_replenishment_request.balance IS 'The balance after that entry.';
COMMENT ON COLUMN billing.retainer_replenishment_request.threshold IS 'The replenishment threshold of the terms.';
COMMENT ON COLUMN billing.retainer_replenishment_request.requested_amount IS 'What brings the balance back to the retainer amount of the terms (or to the threshold when the terms name no amount).';
COMMENT ON COLUMN billing.retainer_replenishment_request.alert_id IS 'The retainer_threshold alert raised.';
COMMENT ON COLUMN billing.retainer_replenishment_request.state IS 'open or fulfilled.';
COMMENT ON COLUMN billing.retainer_replenishment_request.requested_at IS 'When it was made.';
COMMENT ON COLUMN billing.retainer_replenishment_request.fulfilled_at IS 'When deposits brought the balance back to the threshold.';

CREATE FUNCTION billing.retainer_balance_minor_units(firm_id bigint, engagement_id bigint)
    RETURNS bigint
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
SELECT coalesce(sum(CASE WHEN r.kind = 'deposit' THEN billing.minor_units(r.amount)
                         ELSE -billing.minor_units(r.amount) END), 0)::bigint
  FROM billing.retainer_entry r
 WHERE r.firm_id = $1 AND r.engagement_id = $2
$$;
COMMENT ON FUNCTION billing.retainer_balance_minor_units(bigint, bigint) IS
    'A retainer''s balance in minor units of the engagement''s currency: deposits less draws and refunds.';

CREATE FUNCTION billing.retainer_balance(firm_id bigint, engagement_id bigint)
    RETURNS billing.amount
    LANGUAGE sql STABLE STRICT PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
SELECT billing.amount_of_minor_units(billing.retainer_balance_minor_units($1, $2), e.currency)
  FROM billing.engagement e
 WHERE e.firm_id = $1 AND e.engagement_id = $2
$$;
COMMENT ON FUNCTION billing.retainer_balance(bigint, bigint) IS
    'A retainer''s balance now: deposits less draws and refunds, in the engagement''s currency; negative when overdrawn within the terms'' limit.';

CREATE FUNCTION billing.retainer_entry_guard()
    RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
-- Attach as:
--   CREATE TRIGGER retainer_entry_guard BEFORE INSERT ON billing.retainer_entry
--       FOR EACH ROW EXECUTE FUNCTION billing.retainer_entry_guard();
DECLARE
    eng billing.engagement;
    v billing.engagement_version;
    after_units bigint;
    limit_units bigint;
BEGIN
    IF TG_WHEN <> 'BEFORE' OR TG_LEVEL <> 'ROW' OR TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'billing.retainer_entry_guard() must fire BEFORE INSERT FOR EACH ROW'
            USING ERRCODE = '39P01';
    END IF;
    IF current_setting('transaction_isolation') = 'repeatable read' THEN
        RAISE EXCEPTION 'retainer entries cannot be checked under REPEATABLE READ'
            USING ERRCODE = '0A000',
                  DETAIL = 'Under REPEATABLE READ the check would read a snapshot taken before concurrent entries committed.',
                  HINT = 'Use READ COMMITTED (the default) or SERIALIZABLE.';
    END IF;
    -- The engagement row is the retainer's lock: entries of one retainer
    -- are checked one at a time.
    SELECT * INTO eng FROM billing.engagement x
     WHERE x.firm_id = NEW.firm_id AND x.engagement_id = NEW.engagement_id
       FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN NEW;             -- the foreign key reports it
    END IF;
    IF billing.currency_code(NEW.amount) <> eng.currency THEN
        RAISE EXCEPTION 'retainer entry is in % but engagement % bills in %',
                billing.currency_code(NEW.amount), eng.engagement_code, eng.currency
            USING ERRCODE = 'ZB101';
    END IF;
    IF NEW.kind = 'deposit' THEN
        RETURN NEW;
    END IF;
    SELECT * INTO v FROM billing.terms_as_of(NEW.firm_id, NEW.engagement_id, NEW.entry_date);
    after_units := billing.retainer_balance_minor_units(NEW.firm_id, NEW.engagement_id)
                   - billing.minor_units(NEW.amount);
    limit_units := coalesce(billing.minor_units(v.retainer_overdraw_limit), 0);
    IF after_units < -limit_units THEN
        RAISE EXCEPTION 'a % of % would take the retainer of engagement % to %, past what its terms allow',
                NEW.kind, NEW.amount, eng.engagement_code,
                billing.amount_of_minor_units(after_units, eng.currency)
            USING ERRCODE = 'ZB403',
                  DETAIL = format('The balance may go down to %s.',
                                  billing.amount_of_minor_units(-limit_units, eng.currency)),
                  HINT = 'Take a deposit first, or bill the excess separately.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION billing.retainer_entry_guard() IS
    'Trigger: locks the retainer''s engagement and refuses a draw or refund that would take the balance below the overdraw limit of the terms in force that day, zero when none (ZB403).';

CREATE TRIGGER retainer_entry_guard BEFORE INSERT ON billing.retainer_entry
    FOR EACH ROW EXECUTE FUNCTION billing.retainer_entry_guard();

CREATE FUNCTION billing.retainer_entry_watch()
    RETURNS trigger
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
-- Attach as:
--   CREATE TRIGGER retainer_entry_watch AFTER INSERT ON billing.retainer_entry
--       FOR EACH ROW EXECUTE FUNCTION billing.retainer_entry_watch();
DECLARE
    v billing.engagement_version;
    code text;
    after_units bigint;
    before_units bigint;
    threshold_units bigint;
    target_units bigint;
    alert bigint;
BEGIN
    IF TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' OR TG_OP <> 'INSERT' THEN
        RAISE EXCEPTION 'billing.retainer_entry_watch() must fire AFTER INSERT FOR EACH ROW'
            USING ERRCODE = '39P01';
    END IF;
    SELECT * INTO v FROM billing.terms_as_of(NEW.firm_id, NEW.engagement_id, NEW.entry_date);
    IF v.retainer_threshold IS NULL THEN
        RETURN NULL;
    END IF;
    threshold_units := billing.minor_units(v.retainer_threshold);
    after_units := billing.retainer_balance_minor_units(NEW.firm_id, NEW.engagement_id);
    IF NEW.kind = 'deposit' THEN
        IF after_units >= threshold_units THEN
            UPDATE billing.retainer_replenishment_request q
               SET state = 'fulfilled', fulfilled_at = now()
             WHERE q.firm_id = NEW.firm_id AND q.engagement_id = NEW.engagement_id
               AND q.state = 'open';
        END IF;
        RETURN NULL;
    END IF;
    before_units := after_units + billing.minor_units(NEW.amount);
    -- One alert per crossing: only the entry that takes the balance from at
    -- or above the threshold to below it raises one.
    IF before_units >= threshold_units AND after_units < threshold_units THEN
        SELECT x.engagement_code INTO code FROM billing.engagement x
         WHERE x.firm_id = NEW.firm_id AND x.engagement_id = NEW.engagement_id;
        target_units := coalesce(billing.minor_units(v.retainer_amount), threshold_units);
        IF target_units <= after_units THEN
            target_units := threshold_units;
        END IF;
        alert := billing.raise_alert(NEW.firm_id, 'retainer_threshold', 'billing.engagement',
            NEW.engagement_id,
            format('The retainer of engagement %s is down to %s, below its threshold of %s; a replenishment of %s is requested.',
                   code, billing.amount_of_minor_units(after_units, v.currency), v.retainer_threshold,
                   billing.amount_of_minor_units(target_units - after_units, v.currency)),
            jsonb_build_object('balance', billing.amount_of_minor_units(after_units, v.currency)::text,
                               'threshold', v.retainer_threshold::text,
                               'retainer_entry_id', NEW.retainer_entry_id));
        INSERT INTO billing.retainer_replenishment_request (firm_id, engagement_id, retainer_entry_id,
                balance, threshold, requested_amount, alert_id)
        VALUES (NEW.firm_id, NEW.engagement_id, NEW.retainer_entry_id,
                billing.amount_of_minor_units(after_units, v.currency), v.retainer_threshold,
                billing.amount_of_minor_units(target_units - after_units, v.currency), alert);
        RAISE NOTICE 'retainer of engagement % fell below its threshold of %', code, v.retainer_threshold;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION billing.retainer_entry_watch() IS
    'Trigger: when a draw or refund takes a retainer below its threshold, raises one retainer_threshold alert and records a replenishment request; a deposit that brings it back to the threshold fulfils open requests.';

CREATE TRIGGER retainer_entry_watch AFTER INSERT ON billing.retainer_entry
    FOR EACH ROW EXECUTE FUNCTION billing.retainer_entry_watch();

CREATE FUNCTION billing.retainer_deposit(firm_id bigint, engagement_id bigint,
        amount billing.amount, payment_id bigint, entry_date date DEFAULT current_date,
        note text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
INSERT INTO billing.retainer_entry (firm_id, client_id, engagement_id, kind, amount,
        entry_date, payment_id, note)
SELECT e.firm_id, e.client_id, e.engagement_id, 'deposit', $3, $5, $4, $6
  FROM billing.engagement e
 WHERE e.firm_id = $1 AND e.engagement_id = $2
RETURNING retainer_entry_id
$$;
COMMENT ON FUNCTION billing.retainer_deposit(bigint, bigint, billing.amount, bigint, date, text) IS
    'Records a deposit into an engagement''s retainer, funded by a payment of the client; returns the retainer_entry_id.';

CREATE FUNCTION billing.retainer_draw(firm_id bigint, engagement_id bigint,
        amount billing.amount, invoice_id bigint, entry_date date DEFAULT current_date,
        note text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE sql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
INSERT INTO billing.retainer_entry (firm_id, client_id, engagement_id, kind, amount,
        entry_date, invoice_id, note)
SELECT e.firm_id, e.client_id, e.engagement_id, 'draw', $3, $5, $4, $6
  FROM billing.engagement e
 WHERE e.firm_id = $1 AND e.engagement_id = $2
RETURNING retainer_entry_id
$$;
COMMENT ON FUNCTION billing.retainer_draw(bigint, bigint, billing.amount, bigint, date, text) IS
    'Draws on an engagement''s retainer to pay an invoice; refused past the overdraw limit of the terms (ZB403); may raise a retainer_threshold alert and a replenishment request. Returns the retainer_entry_id.';

-- Recurring fees --------------------------------------------------------------

CREATE TABLE billing.recurring_charge (
    firm_id             bigint NOT NULL,
    engagement_id       bigint NOT NULL,
    period_start        date NOT NULL,
    period_end          date NOT NULL,
    engagement_version_id bigint NOT NULL,
    wip_entry_id        bigint,
    amount              billing.amount NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, engagement_id, period_start),
    FOREIGN KEY (firm_id, engagement_id, engagement_version_id)
        REFERENCES billing.engagement_version (firm_id, engagement_id, engagement_version_id),
    FOREIGN KEY (firm_id, engagement_id, wip_entry_id)
        REFERENCES billing.wip_entry (firm_id, engagement_id, wip_entry_id),
    CONSTRAINT recurring_charge_period_ends_after_it_starts CHECK (period_end >= period_start)
);

COMMENT ON TABLE billing.recurring_charge IS
    'The recurring fee charged for one period of an engagement; the key (engagement, period start) is what makes generating charges twice bill once.';
COMMENT ON COLUMN billing.recurring_charge.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.recurring_charge.engagement_id IS 'The recurring engagement.';
COMMENT ON COLUMN billing.recurring_charge.period_start IS 'First day of the period charged (a month, quarter or year).';
COMMENT ON COLUMN billing.recurring_charge.period_end IS 'Last day of the period charged.';
COMMENT ON COLUMN billing.recurring_charge.engagement_version_id IS 'The version in force on the first day of the period, whose fee was charged.';
COMMENT ON COLUMN billing.recurring_charge.wip_entry_id IS 'The flat WIP entry that carries the charge.';
COMMENT ON COLUMN billing.recurring_charge.amount IS 'The fee charged.';
COMMENT ON COLUMN billing.recurring_charge.created_at IS 'When it was generated.';

CREATE FUNCTION billing.generate_recurring_charges(firm_id bigint, period_start date,
        period_end date)
    RETURNS TABLE (engagement_id bigint, charge_period_start date, charge_period_end date,
                   wip_entry_id bigint, amount billing.amount)
    LANGUAGE plpgsql VOLATILE STRICT PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := generate_recurring_charges.firm_id;
    due record;
    item bigint;
    entry bigint;
BEGIN
    IF period_end < period_start THEN
        RAISE EXCEPTION 'period ends % before it starts %', period_end, period_start
            USING ERRCODE = '22023';
    END IF;
    FOR due IN
        SELECT e.engagement_id AS eid, e.engagement_code, coalesce(e.manager_id, e.partner_id) AS staff,
               v.engagement_version_id AS vid, v.recurring_fee, v.recurring_interval,
               p.first_day::date AS first_day,
               (p.first_day + CASE v.recurring_interval WHEN 'monthly' THEN interval '1 month'
                                                        WHEN 'quarterly' THEN interval '3 months'
                                                        ELSE interval '1 year' END
                - interval '1 day')::date AS last_day
          FROM billing.engagement e
          JOIN billing.engagement_version v
            ON v.firm_id = e.firm_id AND v.engagement_id = e.engagement_id
           AND v.state = 'approved' AND v.recurring_fee IS NOT NULL
         CROSS JOIN LATERAL generate_series(
                date_trunc(CASE v.recurring_interval WHEN 'monthly' THEN 'month'
                                                     WHEN 'quarterly' THEN 'quarter'
                                                     ELSE 'year' END,
                           greatest(generate_recurring_charges.period_start,
                                    coalesce(lower(v.effective), generate_recurring_charges.period_start))),
                generate_recurring_charges.period_end,
                CASE v.recurring_interval WHEN 'monthly' THEN interval '1 month'
                                          WHEN 'quarterly' THEN interval '3 months'
                                          ELSE interval '1 year' END) AS p(first_day)
         WHERE e.firm_id = f AND e.state = 'active'
           AND p.first_day::date BETWEEN generate_recurring_charges.period_start
                                     AND generate_recurring_charges.period_end
           AND v.effective @> p.first_day::date
           AND p.first_day::date >= e.starts_on
           AND (e.ends_on IS NULL OR p.first_day::date <= e.ends_on)
         ORDER BY e.engagement_id, p.first_day
    LOOP
        INSERT INTO billing.recurring_charge AS c (firm_id, engagement_id, period_start, period_end,
                engagement_version_id, amount)
        VALUES (f, due.eid, due.first_day, due.last_day, due.vid, due.recurring_fee)
        ON CONFLICT DO NOTHING;
        CONTINUE WHEN NOT FOUND;

        SELECT w.work_item_id INTO item FROM billing.work_item w
         WHERE w.firm_id = f AND w.engagement_id = due.eid
           AND w.period_start <= due.first_day AND w.period_end >= due.first_day
         ORDER BY w.period_end - w.period_start, w.work_item_id
         LIMIT 1;
        IF item IS NULL THEN
            INSERT INTO billing.work_item (firm_id, engagement_id, kind, name, period_start,
                    period_end, state)
            VALUES (f, due.eid, 'other',
                    format('%s fee, %s to %s', initcap(due.recurring_interval), due.first_day, due.last_day),
                    due.first_day, due.last_day, 'not_started')
            RETURNING work_item_id INTO item;
        END IF;
        -- Like any WIP, the charge starts as a draft and is handed in for
        -- review; a manager approves it with the rest of the month's WIP.
        INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind, staff_id,
                worked_on, description, work_type, quantity, unit_price)
        VALUES (f, due.eid, item, 'flat', due.staff, due.first_day,
                format('%s fee, %s to %s', initcap(due.recurring_interval), due.first_day, due.last_day),
                'recurring_fee', 1, due.recurring_fee)
        RETURNING billing.wip_entry.wip_entry_id INTO entry;
        UPDATE billing.wip_entry w SET state = 'submitted'
         WHERE w.firm_id = f AND w.wip_entry_id = entry;
        UPDATE billing.recurring_charge c SET wip_entry_id = entry
         WHERE c.firm_id = f AND c.engagement_id = due.eid AND c.period_start = due.first_day;

        engagement_id := due.eid;
        charge_period_start := due.first_day;
        charge_period_end := due.last_day;
        wip_entry_id := entry;
        amount := due.recurring_fee;
        RETURN NEXT;
        item := NULL;
    END LOOP;
END
$$;
COMMENT ON FUNCTION billing.generate_recurring_charges(bigint, date, date) IS
    'Charges the recurring fee of every active recurring engagement for each month, quarter or year that starts between the two dates, as a flat WIP entry under the version in force that day, submitted for review (approve it like any WIP to make it ready to invoice); a period already charged is skipped, so running it twice bills once. Returns the charges made.';

-- Milestones ------------------------------------------------------------------

CREATE FUNCTION billing.approve_milestone(firm_id bigint, milestone_id bigint,
        approved_by bigint DEFAULT NULL)
    RETURNS billing.milestone
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := approve_milestone.firm_id;
    actor bigint;
    actor_level billing.staff_level;
    m billing.milestone;
BEGIN
    actor := billing.acting_staff_id(f, approved_by);
    -- The workflow trigger judges the moves below as this person.
    PERFORM pg_catalog.set_config('billing.staff_id', actor::text, true);
    SELECT * INTO m FROM billing.milestone x
     WHERE x.firm_id = f AND x.milestone_id = approve_milestone.milestone_id
       FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'milestone % of firm % does not exist', approve_milestone.milestone_id, f
            USING ERRCODE = 'P0002';
    END IF;
    IF m.state <> 'reached' THEN
        RAISE EXCEPTION 'milestone "%" is %, not reached', m.name, m.state
            USING ERRCODE = 'ZB201',
                  HINT = 'A milestone is approved once it is reached.';
    END IF;
    SELECT s.level INTO actor_level FROM billing.staff s WHERE s.firm_id = f AND s.staff_id = actor;
    IF actor_level < 'manager' THEN
        RAISE EXCEPTION 'staff member % is a %, and approving a milestone needs a manager or partner',
                actor, actor_level
            USING ERRCODE = 'ZB203';
    END IF;
    UPDATE billing.milestone x SET state = 'approved', approved_by = actor, approved_at = now()
     WHERE x.firm_id = f AND x.milestone_id = m.milestone_id
    RETURNING * INTO m;
    RETURN m;
END
$$;
COMMENT ON FUNCTION billing.approve_milestone(bigint, bigint, bigint) IS
    'Approves a reached milestone, which makes its part of the fixed fee billable; needs a manager or partner.';

-- Fixed fee plus hourly overage -----------------------------------------------

CREATE VIEW billing.wip_scope_usage AS
SELECT u.firm_id, u.wip_entry_id, u.engagement_id, u.engagement_version_id, u.worked_on,
       u.state, u.billable_minutes, u.scope_minutes, u.minutes_before,
       greatest(0, least(u.billable_minutes, u.minutes_before + u.billable_minutes - u.scope_minutes))
           AS overage_minutes,
       billing.amount_of_minor_units(
           round(billing.minor_units(u.unit_price)
                 * greatest(0, least(u.billable_minutes, u.minutes_before + u.billable_minutes - u.scope_minutes))
                 / 60.0)::bigint,
           billing.currency_code(u.unit_price)) AS overage_amount
  FROM (SELECT w.firm_id, w.wip_entry_id, w.engagement_id, w.engagement_version_id, w.worked_on,
               w.state, w.billable_minutes, w.unit_price,
               (v.scope_hours * 60)::integer AS scope_minutes,
               coalesce(sum(w.billable_minutes) OVER (
                   PARTITION BY w.firm_id, w.engagement_version_id
                   ORDER BY w.worked_on, w.wip_entry_id
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS minutes_before
          FROM billing.wip_entry w
          JOIN billing.engagement_version v
            ON v.firm_id = w.firm_id AND v.engagement_version_id = w.engagement_version_id
         WHERE w.kind = 'time' AND w.billable AND w.state <> 'written_off'
           AND v.scope_hours IS NOT NULL) AS u;

COMMENT ON VIEW billing.wip_scope_usage IS
    'For time under terms with a scope of hours (fixed fee plus hourly): how much of each entry the fee covers and how much is overage billed hourly, counting billable time of each version in the order it was done.';
COMMENT ON COLUMN billing.wip_scope_usage.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.wip_scope_usage.wip_entry_id IS 'The time entry.';
COMMENT ON COLUMN billing.wip_scope_usage.engagement_id IS 'Its engagement.';
COMMENT ON COLUMN billing.wip_scope_usage.engagement_version_id IS 'The version whose scope_hours apply.';
COMMENT ON COLUMN billing.wip_scope_usage.worked_on IS 'The day of the work.';
COMMENT ON COLUMN billing.wip_scope_usage.state IS 'The entry''s workflow state.';
COMMENT ON COLUMN billing.wip_scope_usage.billable_minutes IS 'Billable minutes of the entry.';
COMMENT ON COLUMN billing.wip_scope_usage.scope_minutes IS 'Minutes the fixed fee covers under the version.';
COMMENT ON COLUMN billing.wip_scope_usage.minutes_before IS 'Billable minutes of the version recorded before this entry.';
COMMENT ON COLUMN billing.wip_scope_usage.overage_minutes IS 'Minutes of this entry beyond the scope, billed hourly.';
COMMENT ON COLUMN billing.wip_scope_usage.overage_amount IS 'Overage minutes at the entry''s rate, rounded half away from zero to the minor unit.';

-- Ready to invoice --------------------------------------------------------------

CREATE VIEW billing.ready_to_invoice AS
WITH unbilled AS (
    SELECT w.*, e.billing_model, e.client_id, v.version_number
      FROM billing.wip_entry w
      JOIN billing.engagement e ON e.firm_id = w.firm_id AND e.engagement_id = w.engagement_id
      JOIN billing.engagement_version v
        ON v.firm_id = w.firm_id AND v.engagement_version_id = w.engagement_version_id
     WHERE w.state = 'approved' AND w.billable
       AND NOT EXISTS (SELECT FROM billing.invoice_line_wip lw
                         JOIN billing.invoice i ON i.firm_id = lw.firm_id AND i.invoice_id = lw.invoice_id
                        WHERE lw.firm_id = w.firm_id AND lw.wip_entry_id = w.wip_entry_id
                          AND i.state <> 'void')
), items AS (
    -- Hourly and retainer work, expenses and flat tasks of every model,
    -- recurring charges.
    SELECT u.firm_id, u.client_id, u.engagement_id, u.billing_model,
           CASE WHEN rc.period_start IS NOT NULL THEN 'recurring' ELSE u.kind END AS item_kind,
           u.wip_entry_id, NULL::bigint AS milestone_id, u.engagement_version_id,
           u.description, u.amount,
           CASE WHEN rc.period_start IS NOT NULL
                    THEN format('recurring fee for %s to %s under version %s', rc.period_start,
                                rc.period_end, u.version_number)
                WHEN u.kind = 'expense' THEN 'approved pass-through expense, marked up per the terms'
                ELSE format('approved %s WIP under version %s', u.kind, u.version_number) END
               AS reason
      FROM unbilled u
      LEFT JOIN billing.recurring_charge rc
        ON rc.firm_id = u.firm_id AND rc.wip_entry_id = u.wip_entry_id
     WHERE u.kind <> 'time' OR u.billing_model IN ('hourly', 'retainer', 'recurring')
    UNION ALL
    -- Time beyond the scope of a fixed fee plus hourly.
    SELECT u.firm_id, u.client_id, u.engagement_id, u.billing_model, 'overage',
           u.wip_entry_id, NULL, u.engagement_version_id, u.description, s.overage_amount,
           format('%s minutes beyond the %s hours the fixed fee covers under version %s',
                  s.overage_minutes, round(s.scope_minutes / 60.0, 2), u.version_number)
      FROM unbilled u
      JOIN billing.wip_scope_usage s ON s.firm_id = u.firm_id AND s.wip_entry_id = u.wip_entry_id
     WHERE u.kind = 'time' AND u.billing_model = 'fixed_fee_plus_hourly'
       AND s.overage_minutes > 0
    UNION ALL
    -- Approved milestones not yet invoiced.
    SELECT m.firm_id, e.client_id, m.engagement_id, e.billing_model, 'milestone',
           NULL, m.milestone_id,
           (SELECT v.engagement_version_id FROM billing.engagement_version v
             WHERE v.firm_id = m.firm_id AND v.engagement_id = m.engagement_id
               AND v.state = 'approved'
               AND v.effective @> coalesce((m.approved_at AT TIME ZONE 'UTC')::date, current_date)),
           m.name, m.amount, 'milestone approved'
      FROM billing.milestone m
      JOIN billing.engagement e ON e.firm_id = m.firm_id AND e.engagement_id = m.engagement_id
     WHERE m.state = 'approved'
       AND NOT EXISTS (SELECT FROM billing.invoice_line l
                         JOIN billing.invoice i ON i.firm_id = l.firm_id AND i.invoice_id = l.invoice_id
                        WHERE l.firm_id = m.firm_id AND l.milestone_id = m.milestone_id
                          AND i.state <> 'void')
    UNION ALL
    -- The part of a fixed fee not yet invoiced (fixed_fee and fixed fee
    -- plus hourly; milestone engagements bill their fee by milestone).
    SELECT e.firm_id, e.client_id, e.engagement_id, e.billing_model, 'fixed_fee',
           NULL, NULL, v.engagement_version_id, e.name,
           billing.amount_of_minor_units(billing.minor_units(v.fixed_fee) - f.billed, v.currency),
           format('fixed fee of %s under version %s, less %s already invoiced', v.fixed_fee,
                  v.version_number, billing.amount_of_minor_units(f.billed, v.currency))
      FROM billing.engagement e
      JOIN LATERAL (SELECT * FROM billing.engagement_version x
                     WHERE x.firm_id = e.firm_id AND x.engagement_id = e.engagement_id
                       AND x.state = 'approved' AND x.fixed_fee IS NOT NULL
                     ORDER BY lower(x.effective) DESC LIMIT 1) v ON true
     CROSS JOIN LATERAL (
            SELECT coalesce(sum(billing.minor_units(l.amount)), 0)::bigint AS billed
              FROM billing.invoice_line l
              JOIN billing.invoice i ON i.firm_id = l.firm_id AND i.invoice_id = l.invoice_id
             WHERE l.firm_id = e.firm_id AND l.engagement_id = e.engagement_id
               AND l.kind = 'fixed_fee' AND i.state <> 'void') f
     WHERE e.billing_model IN ('fixed_fee', 'fixed_fee_plus_hourly') AND e.state = 'active'
       AND billing.minor_units(v.fixed_fee) > f.billed
)
SELECT i.firm_id, i.client_id, i.engagement_id, i.billing_model, i.item_kind, i.wip_entry_id,
       i.milestone_id, i.engagement_version_id, i.description, i.amount,
       billing.value(i.amount) AS amount_value,
       billing.currency_code(i.amount) AS currency, i.reason
  FROM items i
UNION ALL
-- What a retainer can pay of the work ready to bill.
SELECT r.firm_id, r.client_id, r.engagement_id, 'retainer', 'retainer_draw', NULL, NULL,
       r.engagement_version_id, 'Applied from retainer',
       billing.amount_of_minor_units(r.draw, r.currency),
       billing.value(billing.amount_of_minor_units(r.draw, r.currency)),
       r.currency::char(3),
       format('retainer balance %s can pay this much of the work ready to bill',
              billing.amount_of_minor_units(r.balance, r.currency))
  FROM (SELECT e.firm_id, e.client_id, e.engagement_id, e.currency, v.engagement_version_id,
               billing.retainer_balance_minor_units(e.firm_id, e.engagement_id) AS balance,
               least(billing.retainer_balance_minor_units(e.firm_id, e.engagement_id)
                     + coalesce(billing.minor_units(v.retainer_overdraw_limit), 0),
                     (SELECT coalesce(sum(billing.minor_units(u.amount)), 0)::bigint FROM unbilled u
                       WHERE u.firm_id = e.firm_id AND u.engagement_id = e.engagement_id)) AS draw
          FROM billing.engagement e
          LEFT JOIN billing.engagement_version v
            ON v.firm_id = e.firm_id AND v.engagement_id = e.engagement_id
           AND v.state = 'approved' AND v.effective @> current_date
         WHERE e.billing_model = 'retainer') AS r
 WHERE r.draw > 0;

COMMENT ON VIEW billing.ready_to_invoice IS
    'What is ready to bill, per engagement and billing model, with the reason: approved hourly WIP, expenses and flat tasks, recurring charges, overage beyond a fixed fee''s scope, approved milestones, the uninvoiced part of fixed fees, and what a retainer can pay. WIP held over budget, not approved, non-billable or already on a live invoice is left out. The invoice run starts here.';
COMMENT ON COLUMN billing.ready_to_invoice.firm_id IS 'The firm.';
COMMENT ON COLUMN billing.ready_to_invoice.client_id IS 'The client to bill.';
COMMENT ON COLUMN billing.ready_to_invoice.engagement_id IS 'The engagement.';
COMMENT ON COLUMN billing.ready_to_invoice.billing_model IS 'The engagement''s billing model.';
COMMENT ON COLUMN billing.ready_to_invoice.item_kind IS 'time, flat, expense, recurring, overage, milestone, fixed_fee or retainer_draw (a credit from the retainer against the work).';
COMMENT ON COLUMN billing.ready_to_invoice.wip_entry_id IS 'The WIP entry billed, for WIP items.';
COMMENT ON COLUMN billing.ready_to_invoice.milestone_id IS 'The milestone billed, for milestone items.';
COMMENT ON COLUMN billing.ready_to_invoice.engagement_version_id IS 'The version of the terms that governs the item.';
COMMENT ON COLUMN billing.ready_to_invoice.description IS 'The starting point of the invoice narrative.';
COMMENT ON COLUMN billing.ready_to_invoice.amount IS 'What is ready to bill.';
COMMENT ON COLUMN billing.ready_to_invoice.amount_value IS 'amount as a number, in currency.';
COMMENT ON COLUMN billing.ready_to_invoice.currency IS 'ISO 4217 code of the amount.';
COMMENT ON COLUMN billing.ready_to_invoice.reason IS 'Why it is ready to bill.';

-- Re-rating ---------------------------------------------------------------------

CREATE FUNCTION billing.rerate_wip(firm_id bigint, engagement_id bigint, reason_code text,
        reason text, wip_entry_ids bigint[] DEFAULT NULL)
    RETURNS TABLE (wip_entry_id bigint, old_engagement_version_id bigint,
                   new_engagement_version_id bigint, old_unit_price billing.amount,
                   new_unit_price billing.amount, old_amount billing.amount,
                   new_amount billing.amount)
    LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    f bigint := rerate_wip.firm_id;
    e bigint := rerate_wip.engagement_id;
    closed bigint;
BEGIN
    IF nullif(btrim(coalesce(reason_code, '')), '') IS NULL
       OR nullif(btrim(coalesce(reason, '')), '') IS NULL THEN
        RAISE EXCEPTION 're-rating WIP needs a reason code and a reason'
            USING ERRCODE = 'ZB202',
                  HINT = 'Pass one of the firm''s reason codes for re-rating and say why.';
    END IF;
    IF NOT EXISTS (SELECT FROM billing.reason_code r
                    WHERE r.firm_id = f AND r.reason_code = rerate_wip.reason_code
                      AND r.active AND 'rerate' = ANY (r.applies_to)) THEN
        RAISE EXCEPTION 'reason code "%" of firm % does not explain re-rating', reason_code, f
            USING ERRCODE = 'ZB202',
                  HINT = 'Use an active reason code whose applies_to includes rerate.';
    END IF;
    SELECT min(w.wip_entry_id) INTO closed FROM billing.wip_entry w
     WHERE w.firm_id = f AND w.engagement_id = e AND w.wip_entry_id = ANY (wip_entry_ids)
       AND w.state IN ('billed', 'written_off');
    IF closed IS NOT NULL THEN
        RAISE EXCEPTION 'WIP entry % is billed or written off and cannot be re-rated', closed
            USING ERRCODE = 'ZB205',
                  HINT = 'Correct billed work with an adjustment or a credit note.';
    END IF;

    -- The audit trail and the rating trigger read these.
    PERFORM set_config('billing.reason_code', reason_code, true);
    PERFORM set_config('billing.reason', reason, true);

    RETURN QUERY
    WITH old AS (
        SELECT w.wip_entry_id, w.engagement_version_id, w.unit_price, w.amount,
               w.billable_minutes, w.rate_id, w.engagement_rate_id, w.markup_percent
          FROM billing.wip_entry w
         WHERE w.firm_id = f AND w.engagement_id = e
           AND w.state NOT IN ('billed', 'written_off')
           AND (wip_entry_ids IS NULL OR w.wip_entry_id = ANY (wip_entry_ids))
         ORDER BY w.wip_entry_id
           FOR UPDATE
    ), changed AS (
        -- An empty version asks the rating trigger to resolve the entry
        -- afresh from the terms and rates in force now.
        UPDATE billing.wip_entry w SET engagement_version_id = NULL
          FROM old
         WHERE w.firm_id = f AND w.wip_entry_id = old.wip_entry_id
        RETURNING w.wip_entry_id, w.engagement_version_id, w.unit_price, w.amount,
                  w.billable_minutes, w.rate_id, w.engagement_rate_id, w.markup_percent
    )
    SELECT o.wip_entry_id, o.engagement_version_id, c.engagement_version_id,
           o.unit_price, c.unit_price, o.amount, c.amount
      FROM old o
      JOIN changed c ON c.wip_entry_id = o.wip_entry_id
     WHERE (o.engagement_version_id, o.billable_minutes, o.rate_id, o.engagement_rate_id,
            o.markup_percent, o.unit_price::text, o.amount::text)
           IS DISTINCT FROM
           (c.engagement_version_id, c.billable_minutes, c.rate_id, c.engagement_rate_id,
            c.markup_percent, c.unit_price::text, c.amount::text)
     ORDER BY o.wip_entry_id;
END
$$;
COMMENT ON FUNCTION billing.rerate_wip(bigint, bigint, text, text, bigint[]) IS
    'Re-prices an engagement''s unbilled WIP (all of it, or the entries listed) from the terms and rates in force now, recording the reason code (one that applies to rerate) and reason for the audit trail; returns the entries whose version, rate or amount changed. Billed and written-off entries are never touched.';
