-- Every workflow attached to the model, move by move: for each table under
-- a workflow and each ordered pair of its states, the record is put in the
-- first state and moved to the second.  A move the catalog lists goes
-- through and is recorded in the state history (or, where its guard is not
-- met, fails with ZB204); a move it does not list fails with ZB201, a
-- message naming the table, the record and both states, a detail listing
-- the allowed next states, and a hint.  The plan is counted from the
-- catalog, so a state added later is tested too.
BEGIN;
SET LOCAL client_min_messages = warning;

-- One record of each kind, loaded as a migration.
SET LOCAL billing.migration = on;
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (8001, 'Workflow model firm', 'USD');
INSERT INTO billing.staff (firm_id, staff_id, full_name, level, is_billing_admin) VALUES
    (8001, 8101, 'Pia Partner', 'partner', true),
    (8001, 8102, 'Mo Manager', 'manager', false),
    (8001, 8103, 'Sid Staff', 'staff', false);
INSERT INTO billing.service_line (firm_id, service_line_id, code, name) VALUES (8001, 81, 'tax', 'Tax');
INSERT INTO billing.reason_code (firm_id, reason_code, label, applies_to)
VALUES (8001, 'voided', 'Issued in error', '{void,write_off,hold}');
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency)
VALUES (8001, 82, 'C-82', 'Cedar Holdings', 'corporation', 'USD');
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id, engagement_code,
        name, billing_model, currency, partner_id, starts_on, state)
VALUES (8001, 83, 82, 81, 'TAX-82', '2025 return', 'hourly', 'USD', 8101, '2026-01-01', 'active');
INSERT INTO billing.rate_card (firm_id, rate_card_id, name, currency) VALUES (8001, 80, 'Standard', 'USD');
INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective) VALUES
    (8001, 80, 'staff', '150.00 USD', '[2026-01-01,)');
INSERT INTO billing.engagement_version (firm_id, engagement_version_id, engagement_id, version_number,
        effective, currency, rate_card_id, requested_by, state)
VALUES (8001, 84, 83, 1, '[2026-01-01,)', 'USD', 80, 8102, 'approved');
-- Terms that govern no work, so that only the workflow judges their moves.
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id, engagement_code,
        name, billing_model, currency, partner_id, starts_on, state)
VALUES (8001, 96, 82, 81, 'TAX-96', '2026 return', 'hourly', 'USD', 8101, '2027-01-01', 'proposed');
INSERT INTO billing.engagement_version (firm_id, engagement_version_id, engagement_id, version_number,
        effective, currency, rate_card_id, requested_by, state)
VALUES (8001, 97, 96, 1, '[2027-01-01,)', 'USD', 80, 8102, 'draft');
INSERT INTO billing.milestone (firm_id, milestone_id, engagement_id, sequence_number, name, amount, state)
VALUES (8001, 85, 83, 1, 'Return filed', '500.00 USD', 'planned');
INSERT INTO billing.work_item (firm_id, work_item_id, engagement_id, kind, name, milestone_id, state)
VALUES (8001, 86, 83, 'return', 'Form 1120', 85, 'in_progress');
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, amount, state)
VALUES (8001, 87, 83, 84, 86, 'time', 8103, '2026-03-02', 'Prepared the return', 60, 60, '150.00 USD', 'approved');
INSERT INTO billing.invoice_series (firm_id, invoice_series_id, code) VALUES (8001, 88, 'INV');
INSERT INTO billing.invoice (firm_id, invoice_id, client_id, invoice_series_id, currency, prepared_by,
        total, void_reason_code, state)
VALUES (8001, 89, 82, 88, 'USD', 8102, '150.00 USD', 'voided', 'draft');
INSERT INTO billing.invoice_line (firm_id, invoice_line_id, invoice_id, line_number, engagement_id,
        kind, description, amount)
VALUES (8001, 90, 89, 1, 83, 'time', 'Tax return preparation', '150.00 USD');
INSERT INTO billing.invoice_line_wip (firm_id, invoice_id, invoice_line_id, wip_entry_id,
        standard_amount, billed_amount)
VALUES (8001, 89, 90, 87, '150.00 USD', '150.00 USD');
INSERT INTO billing.approval (firm_id, approval_id, wip_entry_id, required_level, requested_by)
VALUES (8001, 91, 87, 'manager', 8102);
INSERT INTO billing.deposit (firm_id, deposit_id, bank_account, deposited_on, amount)
VALUES (8001, 92, 'Operating', '2026-04-01', '150.00 USD');
INSERT INTO billing.payment (firm_id, payment_id, client_id, received_on, amount, method, deposit_id)
VALUES (8001, 93, 82, '2026-03-30', '150.00 USD', 'bank_transfer', 92);
INSERT INTO billing.payment_allocation (firm_id, payment_allocation_id, client_id, payment_id, invoice_id, amount)
VALUES (8001, 94, 82, 93, 89, '150.00 USD');
INSERT INTO billing.client_question (firm_id, client_question_id, client_id, invoice_id, question)
VALUES (8001, 95, 82, 89, 'Why two hours?');
SET LOCAL billing.migration = off;

-- The partner, a billing admin who prepared nothing, makes every move.
SET LOCAL billing.staff_id = '8101';
SET LOCAL billing.reason_code = 'voided';

CREATE TEMPORARY TABLE subject (entity regclass, id bigint) ON COMMIT DROP;
INSERT INTO subject VALUES
    ('billing.wip_entry', 87), ('billing.work_item', 86), ('billing.milestone', 85),
    ('billing.engagement', 83), ('billing.engagement_version', 97), ('billing.approval', 91),
    ('billing.invoice', 89), ('billing.payment', 93), ('billing.client_question', 95);

SELECT plan((SELECT count(*)::int
               FROM subject s
               JOIN billing.workflow_attachment a ON a.entity = s.entity
               JOIN billing.workflow_state f ON f.workflow = a.workflow
               JOIN billing.workflow_state t ON t.workflow = a.workflow AND t.state <> f.state)
            + 1);

SELECT is((SELECT count(*)::int FROM subject s
             JOIN billing.workflow_attachment a ON a.entity = s.entity),
          9, 'all nine workflows of the brief are attached to their tables');

CREATE FUNCTION pg_temp.every_move() RETURNS SETOF text LANGUAGE plpgsql AS
$$
DECLARE
    p record;
    allowed billing.workflow_transition;
    expect_ok boolean;
    expect_code text;
    h record;
    code text;
    msg text;
    det text;
    hint text;
    what text;
BEGIN
    FOR p IN
        SELECT s.entity, s.id, a.workflow, a.id_column, f.state AS from_state, t.state AS to_state
          FROM subject s
          JOIN billing.workflow_attachment a ON a.entity = s.entity
          JOIN billing.workflow_state f ON f.workflow = a.workflow
          JOIN billing.workflow_state t ON t.workflow = a.workflow AND t.state <> f.state
         ORDER BY a.workflow, f.state, t.state
    LOOP
        what := format('%s %s -> %s', p.workflow, p.from_state, p.to_state);
        -- Put the record in the first state without judging that move.
        PERFORM set_config('session_replication_role', 'replica', true);
        EXECUTE format('UPDATE %s SET state = $1 WHERE firm_id = 8001 AND %I = $2',
                       p.entity, p.id_column)
          USING p.from_state, p.id;
        PERFORM set_config('session_replication_role', 'origin', true);

        expect_code := NULL;
        SELECT * INTO allowed FROM billing.workflow_transition x
         WHERE x.workflow = p.workflow AND x.from_state = p.from_state AND x.to_state = p.to_state;
        IF NOT FOUND THEN
            expect_ok := false;
            expect_code := 'ZB201';
        ELSIF allowed.guard IS NOT NULL THEN
            EXECUTE format('SELECT %s($1, $2)', to_regprocedure(allowed.guard)::oid::regproc)
               INTO expect_ok USING 8001::bigint, p.id;
            expect_ok := coalesce(expect_ok, false);
            expect_code := CASE WHEN expect_ok THEN NULL ELSE 'ZB204' END;
        ELSE
            expect_ok := true;
        END IF;

        BEGIN
            EXECUTE format('UPDATE %s SET state = $1 WHERE firm_id = 8001 AND %I = $2',
                           p.entity, p.id_column)
              USING p.to_state, p.id;
            SELECT * INTO h FROM billing.state_history
             WHERE firm_id = 8001 AND entity = p.entity::text AND entity_id = p.id
             ORDER BY state_history_id DESC LIMIT 1;
            RETURN NEXT ok(expect_ok AND h.from_state = p.from_state AND h.to_state = p.to_state
                           AND h.staff_id = 8101 AND h.reason_code = 'voided',
                           what || ' is allowed and recorded');
        EXCEPTION WHEN OTHERS THEN
            GET STACKED DIAGNOSTICS code = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                                    det = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
            IF expect_code = 'ZB201' THEN
                RETURN NEXT ok(code = 'ZB201'
                               AND msg = format('%s %s may not move from "%s" to "%s"',
                                                p.entity::text, p.id, p.from_state, p.to_state)
                               AND (det LIKE format('Allowed next states from "%s" in workflow "%s": %%.',
                                                    p.from_state, p.workflow)
                                    OR det = format('State "%s" of workflow "%s" is final: no move leaves it.',
                                                    p.from_state, p.workflow))
                               AND hint <> '',
                               what || ' is refused with ZB201' ||
                               CASE WHEN code = 'ZB201' THEN '' ELSE ' (got ' || code || ': ' || msg || ')' END);
            ELSE
                RETURN NEXT ok(code IS NOT DISTINCT FROM expect_code AND code = 'ZB204',
                               what || ' is refused by its guard' ||
                               CASE WHEN code = 'ZB204' THEN '' ELSE ' (got ' || code || ': ' || msg || ')' END);
            END IF;
        END;
    END LOOP;
END
$$;

SELECT * FROM pg_temp.every_move();

SELECT * FROM finish();
ROLLBACK;
