-- The workflows of the brief on the model's tables, as a firm lives them:
-- an invoice from draft to paid, frozen from finalized on (for the tables'
-- owner too), voided with its WIP released; delivery rules; overdue alerts;
-- what the meanings say; and one refused move of each workflow with its
-- full message.
\set SHOW_CONTEXT never
SET client_min_messages = warning;

\set firm 7003
CREATE ROLE regress_wm_partner;
CREATE ROLE regress_wm_manager;
CREATE ROLE regress_wm_staff;
GRANT USAGE ON SCHEMA billing TO regress_wm_partner, regress_wm_manager, regress_wm_staff;
GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA billing
    TO regress_wm_partner, regress_wm_manager, regress_wm_staff;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA billing TO regress_wm_partner, regress_wm_manager, regress_wm_staff;

-- The firm, loaded as a migration.
BEGIN;
SET LOCAL billing.migration = on;
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (:firm, 'Workflow model firm', 'USD');
INSERT INTO billing.staff (firm_id, staff_id, full_name, level, is_billing_admin, role_name) VALUES
    (:firm, 7301, 'Pia Partner', 'partner', true, 'regress_wm_partner'),
    (:firm, 7302, 'Mo Manager', 'manager', false, 'regress_wm_manager'),
    (:firm, 7303, 'Sid Staff', 'staff', false, 'regress_wm_staff');
INSERT INTO billing.service_line (firm_id, service_line_id, code, name) VALUES (:firm, 31, 'tax', 'Tax');
INSERT INTO billing.reason_code (firm_id, reason_code, label, applies_to)
VALUES (:firm, 'issued_in_error', 'Issued in error', '{void}');
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency)
VALUES (:firm, 32, 'C-32', 'Cedar Holdings', 'corporation', 'USD');
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id, engagement_code,
        name, billing_model, currency, partner_id, starts_on, state)
VALUES (:firm, 33, 32, 31, 'TAX-32', '2025 return', 'milestone', 'USD', 7301, '2026-01-01', 'active');
INSERT INTO billing.rate_card (firm_id, rate_card_id, name, currency) VALUES (:firm, 30, 'Standard', 'USD');
INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective) VALUES
    (:firm, 30, 'staff', '150.00 USD', '[2026-01-01,)'),
    (:firm, 30, 'manager', '200.00 USD', '[2026-01-01,)'),
    (:firm, 30, 'partner', '300.00 USD', '[2026-01-01,)');
INSERT INTO billing.engagement_version (firm_id, engagement_version_id, engagement_id, version_number,
        effective, currency, rate_card_id, requested_by, state)
VALUES (:firm, 34, 33, 1, '[2026-01-01,)', 'USD', 30, 7302, 'approved');
INSERT INTO billing.milestone (firm_id, milestone_id, engagement_id, sequence_number, name, amount, due_on)
VALUES (:firm, 35, 33, 1, 'Return filed', '500.00 USD', '2026-04-15');
INSERT INTO billing.work_item (firm_id, work_item_id, engagement_id, kind, name, milestone_id, due_on, state) VALUES
    (:firm, 36, 33, 'return', 'Form 1120', 35, '2026-04-15', 'in_progress'),
    (:firm, 37, 33, 'filing', 'State filing', NULL, '2026-03-01', 'in_progress'),
    (:firm, 38, 33, 'review', 'Review', NULL, '2026-03-01', 'complete');
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, amount, state) VALUES
    (:firm, 41, 33, 34, 36, 'time', 7303, '2026-03-02', 'Prepared the return', 60, 60, '150.00 USD', 'submitted'),
    (:firm, 42, 33, 34, 36, 'time', 7303, '2026-03-03', 'Answered notices', 30, 30, '75.00 USD', 'submitted'),
    (:firm, 43, 33, 34, 36, 'time', 7302, '2026-03-04', 'Reviewed the return', 30, 30, '100.00 USD', 'draft');
INSERT INTO billing.invoice_series (firm_id, invoice_series_id, code) VALUES (:firm, 39, 'INV');
COMMIT;

-- Delivery rules: filing a return reaches its milestone, makes its
-- submitted WIP ready to invoice, and queues it for the invoice run.
INSERT INTO billing.delivery_rule (firm_id, work_item_kind, on_state, action) VALUES
    (:firm, 'return', 'filed', 'milestone_reached'),
    (:firm, 'return', 'filed', 'wip_ready_to_invoice'),
    (:firm, NULL, 'filed', 'queue_for_invoice');
SET ROLE regress_wm_manager;
SELECT billing.move('billing.work_item', :firm, 36, 'complete');
SELECT billing.move('billing.work_item', :firm, 36, 'filed');
RESET ROLE;
SELECT milestone_id, state FROM billing.milestone WHERE firm_id = :firm;
SELECT wip_entry_id, state FROM billing.wip_entry WHERE firm_id = :firm ORDER BY 1;
SELECT work_item_id, engagement_id FROM billing.invoice_queue WHERE firm_id = :firm;
-- Each move the rules made is judged and recorded as made by whoever filed.
SELECT entity, entity_id, from_state, to_state, staff_id FROM billing.state_history
 WHERE firm_id = :firm AND from_state IS NOT NULL ORDER BY state_history_id;

-- What the meanings say.
SELECT workflow, meaning, billing.states_meaning(workflow, meaning) AS states
  FROM (SELECT DISTINCT workflow, meaning FROM billing.workflow_state_meaning
         WHERE workflow IN ('wip_entry', 'work_item', 'milestone')) m
 ORDER BY 1, 2;
SELECT w.wip_entry_id, billing.state_means('wip_entry', w.state, 'ready_to_invoice') AS ready
  FROM billing.wip_entry w WHERE w.firm_id = :firm ORDER BY 1;

-- Overdue work items raise one alert each, not again while it is open.
SELECT billing.raise_overdue_alerts(:firm, '2026-05-01') AS raised;
SELECT billing.raise_overdue_alerts(:firm, '2026-05-02') AS raised_again;
SELECT subject_id, message, details->>'days_overdue' AS days FROM billing.alert
 WHERE firm_id = :firm AND kind = 'work_item_overdue' ORDER BY subject_id;

-- An invoice from draft to paid.
SET ROLE regress_wm_manager;
INSERT INTO billing.invoice (firm_id, invoice_id, client_id, invoice_series_id, currency, prepared_by, total)
VALUES (:firm, 50, 32, 39, 'USD', 7302, '725.00 USD');
-- Nothing to review yet.
SELECT billing.move('billing.invoice', :firm, 50, 'in_review');
\echo :LAST_ERROR_SQLSTATE
INSERT INTO billing.invoice_line (firm_id, invoice_line_id, invoice_id, line_number, engagement_id,
        kind, description, amount, milestone_id) VALUES
    (:firm, 51, 50, 1, 33, 'time', 'Return preparation', '225.00 USD', NULL),
    (:firm, 52, 50, 2, 33, 'milestone', 'Return filed', '500.00 USD', 35);
INSERT INTO billing.invoice_line_wip (firm_id, invoice_id, invoice_line_id, wip_entry_id,
        standard_amount, billed_amount) VALUES
    (:firm, 50, 51, 41, '150.00 USD', '150.00 USD'), (:firm, 50, 51, 42, '75.00 USD', '75.00 USD');
SELECT billing.move('billing.invoice', :firm, 50, 'in_review');
-- Whoever prepared it may not approve it.
SELECT billing.move('billing.invoice', :firm, 50, 'approved');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_wm_partner;
SELECT to_state, reason_required, guard_rule, guard_met
  FROM billing.next_states('billing.invoice', :firm, 50) ORDER BY 1;
SELECT billing.move('billing.invoice', :firm, 50, 'approved');
UPDATE billing.invoice SET state = 'finalized', invoice_number = 1, invoice_date = '2026-05-01'
 WHERE firm_id = :firm AND invoice_id = 50;
UPDATE billing.wip_entry SET state = 'billed' WHERE firm_id = :firm AND wip_entry_id IN (41, 42);
UPDATE billing.milestone SET state = 'approved' WHERE firm_id = :firm AND milestone_id = 35;
UPDATE billing.milestone SET state = 'invoiced' WHERE firm_id = :firm AND milestone_id = 35;
SELECT billing.move('billing.invoice', :firm, 50, 'sent');
RESET ROLE;

-- Frozen, for the tables' owner too: the invoice, its lines, its WIP links.
SELECT pg_get_userbyid(relowner) = current_user AS owner_is_me
  FROM pg_class WHERE oid = 'billing.invoice'::regclass;
UPDATE billing.invoice SET narrative = 'Edited' WHERE firm_id = :firm AND invoice_id = 50;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM billing.invoice WHERE firm_id = :firm AND invoice_id = 50;
\echo :LAST_ERROR_SQLSTATE
UPDATE billing.invoice_line SET amount = '1.00 USD' WHERE firm_id = :firm AND invoice_line_id = 51;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM billing.invoice_line WHERE firm_id = :firm AND invoice_line_id = 52;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO billing.invoice_line (firm_id, invoice_line_id, invoice_id, line_number, engagement_id,
        kind, description, amount) VALUES (:firm, 53, 50, 3, 33, 'flat', 'Extra', '1.00 USD');
\echo :LAST_ERROR_SQLSTATE
UPDATE billing.invoice_line_wip SET billed_amount = '0.00 USD' WHERE firm_id = :firm AND wip_entry_id = 41;
\echo :LAST_ERROR_SQLSTATE
DELETE FROM billing.invoice_line_wip WHERE firm_id = :firm AND wip_entry_id = 42;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE billing.invoice_line_wip;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE billing.invoice_line CASCADE;
\echo :LAST_ERROR_SQLSTATE
TRUNCATE billing.invoice CASCADE;
\echo :LAST_ERROR_SQLSTATE

-- Voiding needs a partner and a reason, and releases the WIP and the
-- milestone it billed.
SET ROLE regress_wm_manager;
SELECT billing.move('billing.invoice', :firm, 50, 'void', 'issued_in_error');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_wm_partner;
UPDATE billing.invoice SET state = 'void' WHERE firm_id = :firm AND invoice_id = 50;
\echo :LAST_ERROR_SQLSTATE
BEGIN;
SET LOCAL billing.reason_code = 'issued_in_error';
SET LOCAL billing.reason = 'Billed to the wrong entity';
UPDATE billing.invoice SET state = 'void', void_reason_code = 'issued_in_error',
       void_reason = 'Billed to the wrong entity'
 WHERE firm_id = :firm AND invoice_id = 50;
COMMIT;
RESET ROLE;
SELECT invoice_id, state, void_reason_code FROM billing.invoice WHERE firm_id = :firm;
SELECT wip_entry_id, state FROM billing.wip_entry WHERE firm_id = :firm ORDER BY 1;
SELECT milestone_id, state FROM billing.milestone WHERE firm_id = :firm;
SELECT entity, entity_id, from_state, to_state, staff_id, reason_code, reason
  FROM billing.state_history
 WHERE firm_id = :firm AND entity IN ('billing.invoice', 'billing.milestone')
    OR (firm_id = :firm AND entity = 'billing.wip_entry' AND to_state = 'approved' AND from_state = 'billed')
 ORDER BY state_history_id;

-- A posted payment is frozen with its allocations; matching it to a
-- deposit is still possible, and needed before it is reconciled.
BEGIN;
SET LOCAL billing.staff_id = '7301';
INSERT INTO billing.payment (firm_id, payment_id, client_id, received_on, amount, method)
VALUES (:firm, 60, 32, '2026-05-03', '100.00 USD', 'check');
UPDATE billing.payment SET state = 'posted' WHERE firm_id = :firm AND payment_id = 60;
UPDATE billing.payment SET state = 'reconciled' WHERE firm_id = :firm AND payment_id = 60;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL billing.staff_id = '7301';
INSERT INTO billing.payment (firm_id, payment_id, client_id, received_on, amount, method)
VALUES (:firm, 60, 32, '2026-05-03', '100.00 USD', 'check');
UPDATE billing.payment SET state = 'posted' WHERE firm_id = :firm AND payment_id = 60;
UPDATE billing.payment SET amount = '90.00 USD' WHERE firm_id = :firm AND payment_id = 60;
\echo :LAST_ERROR_SQLSTATE
ROLLBACK;
BEGIN;
SET LOCAL billing.staff_id = '7301';
INSERT INTO billing.payment (firm_id, payment_id, client_id, received_on, amount, method)
VALUES (:firm, 60, 32, '2026-05-03', '100.00 USD', 'check');
UPDATE billing.payment SET state = 'posted' WHERE firm_id = :firm AND payment_id = 60;
INSERT INTO billing.deposit (firm_id, deposit_id, bank_account, deposited_on, amount)
VALUES (:firm, 61, 'Operating', '2026-05-04', '100.00 USD');
UPDATE billing.payment SET deposit_id = 61 WHERE firm_id = :firm AND payment_id = 60;
UPDATE billing.payment SET state = 'reconciled' WHERE firm_id = :firm AND payment_id = 60;
COMMIT;
INSERT INTO billing.invoice (firm_id, invoice_id, client_id, invoice_series_id, currency, prepared_by)
VALUES (:firm, 62, 32, 39, 'USD', 7302);
INSERT INTO billing.payment_allocation (firm_id, payment_allocation_id, client_id, payment_id, invoice_id, amount)
VALUES (:firm, 63, 32, 60, 62, '10.00 USD');
\echo :LAST_ERROR_SQLSTATE

-- One refused move of each workflow, in full.
\set VERBOSITY default
UPDATE billing.wip_entry SET state = 'billed' WHERE firm_id = :firm AND wip_entry_id = 43;
UPDATE billing.work_item SET state = 'accepted' WHERE firm_id = :firm AND work_item_id = 37;
UPDATE billing.milestone SET state = 'planned' WHERE firm_id = :firm AND milestone_id = 35;
UPDATE billing.engagement SET state = 'proposed' WHERE firm_id = :firm AND engagement_id = 33;
UPDATE billing.engagement_version SET state = 'draft' WHERE firm_id = :firm AND engagement_version_id = 34;
UPDATE billing.invoice SET state = 'paid' WHERE firm_id = :firm AND invoice_id = 62;
UPDATE billing.payment SET state = 'received' WHERE firm_id = :firm AND payment_id = 60;
INSERT INTO billing.approval (firm_id, approval_id, wip_entry_id, required_level, requested_by, state)
VALUES (:firm, 64, 43, 'manager', 7303, 'approved');
INSERT INTO billing.client_question (firm_id, client_question_id, client_id, question, state)
VALUES (:firm, 65, 32, 'Why?', 'answered');

-- Approvals: the decider needs the level the approval asks for.
INSERT INTO billing.approval (firm_id, approval_id, wip_entry_id, required_level, requested_by)
VALUES (:firm, 64, 43, 'partner', 7303);
SET ROLE regress_wm_manager;
SELECT billing.move('billing.approval', :firm, 64, 'approved');
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE regress_wm_partner;
SELECT billing.move('billing.approval', :firm, 64, 'approved');
RESET ROLE;

-- Leave nothing behind that would keep the roles from being dropped.
REVOKE ALL ON ALL TABLES IN SCHEMA billing FROM regress_wm_partner, regress_wm_manager, regress_wm_staff;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA billing FROM regress_wm_partner, regress_wm_manager, regress_wm_staff;
REVOKE USAGE ON SCHEMA billing FROM regress_wm_partner, regress_wm_manager, regress_wm_staff;
DROP ROLE regress_wm_partner, regress_wm_manager, regress_wm_staff;
