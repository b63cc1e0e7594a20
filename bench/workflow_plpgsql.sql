-- bench/workflow_plpgsql.sql: the comparison for bench/workflow.sh.
--
-- The same work as billing.workflow_trigger(), written the usual way in
-- PL/pgSQL: check that the new state exists, that the move is listed in
-- billing.workflow_transition, find the acting staff member (billing.staff_id
-- or the current role) and check the move's level, role, billing admin,
-- reason and segregation rules, then insert a row of state history.  It
-- reads the catalog on every row, as a PL/pgSQL trigger does unless it
-- builds a cache of its own.  Not part of the extension.
CREATE FUNCTION public.bench_workflow_plpgsql() RETURNS trigger
    LANGUAGE plpgsql AS
$$
DECLARE
    wf text := TG_ARGV[0];
    t billing.workflow_transition;
    actor billing.staff;
    given text := nullif(current_setting('billing.staff_id', true), '');
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.state IS NOT DISTINCT FROM OLD.state THEN
        RETURN NEW;
    END IF;
    IF NOT EXISTS (SELECT FROM billing.workflow_state s
                    WHERE s.workflow = wf AND s.state = NEW.state) THEN
        RAISE EXCEPTION '% % cannot enter state "%"', TG_TABLE_NAME, NEW.bench_item_id, NEW.state
            USING ERRCODE = 'ZB207';
    END IF;
    IF TG_OP = 'UPDATE' THEN
        SELECT * INTO t FROM billing.workflow_transition x
         WHERE x.workflow = wf AND x.from_state = OLD.state AND x.to_state = NEW.state;
        IF NOT FOUND THEN
            RAISE EXCEPTION '% % may not move from "%" to "%"', TG_TABLE_NAME, NEW.bench_item_id,
                OLD.state, NEW.state USING ERRCODE = 'ZB201';
        END IF;
    END IF;
    IF given IS NOT NULL THEN
        SELECT * INTO actor FROM billing.staff s
         WHERE s.firm_id = NEW.firm_id AND s.staff_id = given::bigint AND s.active;
    ELSE
        SELECT * INTO actor FROM billing.staff s
         WHERE s.firm_id = NEW.firm_id AND s.role_name = current_user AND s.active;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        IF t.role_name IS NOT NULL AND NOT pg_has_role(t.role_name, 'USAGE') THEN
            RAISE EXCEPTION 'role may not move' USING ERRCODE = 'ZB203';
        END IF;
        IF (t.min_level IS NOT NULL OR t.billing_admin) AND actor.staff_id IS NULL THEN
            RAISE EXCEPTION 'no staff member' USING ERRCODE = 'ZB902';
        END IF;
        IF t.min_level IS NOT NULL AND actor.level < t.min_level THEN
            RAISE EXCEPTION 'level too low' USING ERRCODE = 'ZB203';
        END IF;
        IF t.billing_admin AND NOT actor.is_billing_admin THEN
            RAISE EXCEPTION 'billing admins only' USING ERRCODE = 'ZB203';
        END IF;
        IF t.reason_required AND nullif(current_setting('billing.reason_code', true), '') IS NULL THEN
            RAISE EXCEPTION 'reason required' USING ERRCODE = 'ZB202';
        END IF;
    END IF;
    INSERT INTO billing.state_history (firm_id, entity, entity_id, workflow, from_state, to_state,
                                       staff_id, role_name, reason_code, reason)
    VALUES (NEW.firm_id, TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME, NEW.bench_item_id, wf,
            CASE WHEN TG_OP = 'UPDATE' THEN OLD.state END, NEW.state, actor.staff_id, current_user,
            nullif(current_setting('billing.reason_code', true), ''),
            nullif(current_setting('billing.reason', true), ''));
    RETURN NEW;
END
$$;
