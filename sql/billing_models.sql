-- Every billing model up to what is ready to invoice: hourly with a budget
-- cap, fixed fee with milestones, recurring fees, retainers, fixed fee plus
-- hourly overage; alerts that fire once per crossing and vanish on rollback.
\set VERBOSITY terse
SET client_min_messages = warning;
-- Records are loaded in the states they have reached, as a migration would;
-- how they move between states is tested by the workflow tests.
SET billing.migration = on;
CREATE FUNCTION pg_temp.fails(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE statement;
    RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.time_entry(id bigint, engagement bigint, item bigint, staff bigint,
        day date, minutes integer) RETURNS void LANGUAGE sql AS $$
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes)
VALUES (501, id, engagement, item, 'time', staff, day, 'Work', minutes)
$$;

INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (501, 'Linden Advisory', 'USD');
-- Ids made by the functions under test come from these ranges.
SELECT setval('billing.wip_entry_id_seq', 59000) > 0 AND
       setval('billing.engagement_version_id_seq', 59000) > 0 AS ids_set;
INSERT INTO billing.staff (firm_id, staff_id, full_name, level) VALUES
    (501, 5001, 'Pam Partner', 'partner'), (501, 5002, 'Max Manager', 'manager'),
    (501, 5003, 'Stella Staff', 'staff');
-- Moves this test makes directly are made by the partner, with a reason.
SET billing.staff_id = '5001';
SET billing.reason_code = 'rework';
INSERT INTO billing.service_line (firm_id, service_line_id, code, name) VALUES
    (501, 5011, 'audit', 'Audit'), (501, 5012, 'bookkeeping', 'Bookkeeping'),
    (501, 5013, 'advisory', 'Advisory'), (501, 5014, 'payroll', 'Payroll');
INSERT INTO billing.reason_code (firm_id, reason_code, label, applies_to) VALUES
    (501, 'fee_change', 'Fee changed', '{change_order}'),
    (501, 'rework', 'Rework', '{write_off}');
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency)
VALUES (501, 5101, 'C-5101', 'Aspen Robotics', 'corporation', 'USD');
INSERT INTO billing.rate_card (firm_id, rate_card_id, name, currency) VALUES (501, 5201, 'Standard', 'USD');
INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective) VALUES
    (501, 5201, 'partner', '300.00 USD', '[2026-01-01,)'),
    (501, 5201, 'manager', '200.00 USD', '[2026-01-01,)'),
    (501, 5201, 'staff', '100.00 USD', '[2026-01-01,)');
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id,
        engagement_code, name, billing_model, currency, partner_id, manager_id, starts_on, state) VALUES
    (501, 5301, 5101, 5011, 'AUD-HOURLY', '2026 audit, hourly with a cap', 'hourly', 'USD', 5001, 5002, '2026-01-01', 'active'),
    (501, 5302, 5101, 5011, 'AUD-MILESTONE', '2026 audit on milestones', 'milestone', 'USD', 5001, 5002, '2026-01-01', 'active'),
    (501, 5303, 5101, 5012, 'BK-MONTHLY', 'Monthly bookkeeping', 'recurring', 'USD', 5001, 5002, '2026-01-01', 'active'),
    (501, 5304, 5101, 5014, 'PAY-QUARTERLY', 'Quarterly payroll filings', 'recurring', 'USD', 5001, NULL, '2026-01-01', 'active'),
    (501, 5305, 5101, 5013, 'ADV-RETAINER', 'Advisory on retainer', 'retainer', 'USD', 5001, 5002, '2026-01-01', 'active'),
    (501, 5306, 5101, 5013, 'ADV-FEE-PLUS', 'Advisory, fee plus overage', 'fixed_fee_plus_hourly', 'USD', 5001, 5002, '2026-01-01', 'active'),
    (501, 5307, 5101, 5011, 'AUD-FIXED', 'Agreed-upon procedures', 'fixed_fee', 'USD', 5001, 5002, '2026-01-01', 'active'),
    (501, 5308, 5101, 5012, 'BK-PROPOSED', 'Bookkeeping not yet started', 'recurring', 'USD', 5001, 5002, '2026-01-01', 'proposed');
INSERT INTO billing.engagement_version (firm_id, engagement_version_id, engagement_id, version_number,
        effective, state, currency, rate_card_id, budget_cap, budget_alert_percents, fixed_fee,
        recurring_fee, recurring_interval, retainer_amount, retainer_threshold,
        retainer_overdraw_limit, scope_hours, expense_markup_percent, requested_by, approved_by, approved_at) VALUES
    (501, 5401, 5301, 1, '[2020-01-01,)', 'approved', 'USD', 5201, '1000.00 USD', '{75,90,100}', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 0, 5002, 5001, now()),
    (501, 5402, 5302, 1, '[2020-01-01,)', 'approved', 'USD', 5201, NULL, '{75,90,100}', '9000.00 USD', NULL, NULL, NULL, NULL, NULL, NULL, 0, 5002, 5001, now()),
    (501, 5403, 5303, 1, '[2020-01-01,)', 'approved', 'USD', NULL, NULL, '{75,90,100}', NULL, '850.00 USD', 'monthly', NULL, NULL, NULL, NULL, 0, 5002, 5001, now()),
    (501, 5404, 5304, 1, '[2020-01-01,)', 'approved', 'USD', NULL, NULL, '{75,90,100}', NULL, '1500.00 USD', 'quarterly', NULL, NULL, NULL, NULL, 0, 5002, 5001, now()),
    (501, 5405, 5305, 1, '[2020-01-01,)', 'approved', 'USD', 5201, NULL, '{75,90,100}', NULL, NULL, NULL, '5000.00 USD', '1500.00 USD', '200.00 USD', NULL, 0, 5002, 5001, now()),
    (501, 5406, 5306, 1, '[2020-01-01,)', 'approved', 'USD', 5201, NULL, '{75,90,100}', '1000.00 USD', NULL, NULL, NULL, NULL, NULL, 2, 0, 5002, 5001, now()),
    (501, 5407, 5307, 1, '[2020-01-01,)', 'approved', 'USD', 5201, NULL, '{75,90,100}', '1500.00 USD', NULL, NULL, NULL, NULL, NULL, NULL, 5, 5002, 5001, now()),
    (501, 5408, 5308, 1, '[2020-01-01,)', 'approved', 'USD', NULL, NULL, '{75,90,100}', NULL, '700.00 USD', 'monthly', NULL, NULL, NULL, NULL, 0, 5002, 5001, now());
INSERT INTO billing.work_item (firm_id, work_item_id, engagement_id, kind, name, period_start, period_end) VALUES
    (501, 5501, 5301, 'audit_phase', 'Fieldwork', NULL, NULL),
    (501, 5502, 5302, 'audit_phase', 'Fieldwork', NULL, NULL),
    (501, 5503, 5303, 'period_close', 'November 2026 close', '2026-11-01', '2026-11-30'),
    (501, 5505, 5305, 'consultation', 'Advisory 2026', NULL, NULL),
    (501, 5506, 5306, 'consultation', 'Advisory 2026', NULL, NULL),
    (501, 5507, 5307, 'review', 'Procedures', NULL, NULL);

-- Hourly with a budget cap of 1000.00: alerts at 75%, 90% and 100%, each
-- once per crossing.
SELECT pg_temp.time_entry(50001, 5301, 5501, 5003, '2026-03-02', 360);   -- 600.00, 60%
SELECT pg_temp.time_entry(50002, 5301, 5501, 5003, '2026-03-03', 108);   -- 780.00, 78%
SELECT pg_temp.time_entry(50003, 5301, 5501, 5003, '2026-03-04', 30);    -- 830.00, 83%
SELECT pg_temp.time_entry(50004, 5301, 5501, 5003, '2026-03-05', 60);    -- 930.00, 93%
SELECT kind, subject_id, details->>'percent' AS percent, details->>'consumed' AS consumed, message
  FROM billing.alert WHERE firm_id = 501 ORDER BY alert_id;
-- Work that would pass the cap is held and routed for approval, not billed.
SELECT pg_temp.time_entry(50005, 5301, 5501, 5003, '2026-03-06', 60);    -- would be 1030.00
SELECT pg_temp.time_entry(50006, 5301, 5501, 5003, '2026-03-06', 42);    -- exactly 1000.00
SELECT pg_temp.time_entry(50007, 5301, 5501, 5003, '2026-03-09', 6);     -- would be 1010.00
SELECT wip_entry_id, amount, state, over_budget FROM billing.wip_entry
 WHERE firm_id = 501 AND engagement_id = 5301 ORDER BY wip_entry_id;
SELECT wip_entry_id, state, required_level, requested_by FROM billing.approval
 WHERE firm_id = 501 AND wip_entry_id IS NOT NULL ORDER BY wip_entry_id;
SELECT kind, subject_id, details->>'percent' AS percent FROM billing.alert
 WHERE firm_id = 501 ORDER BY alert_id;
SELECT engagement_code, budget_cap, consumed, percent_consumed, entries_held, consumed_value, currency
  FROM billing.engagement_budget WHERE firm_id = 501;
-- A held entry is released only through its approval: not by the person
-- who recorded it, not below the required level, not by a plain update.
SELECT pg_temp.fails($$UPDATE billing.wip_entry SET state = 'approved' WHERE firm_id = 501 AND wip_entry_id = 50005$$);
SELECT pg_temp.fails($$SELECT billing.decide_over_budget_wip(501, 50005, true, 5003)$$);
SELECT pg_temp.fails($$SELECT billing.decide_over_budget_wip(501, 50005, true, 5002)$$);
SELECT billing.decide_over_budget_wip(501, 50007, false, 5001, 'Not billable past the cap');
SELECT billing.decide_over_budget_wip(501, 50005, true, 5001, 'Client agreed to the overrun');
SELECT wip_entry_id, state FROM billing.wip_entry WHERE firm_id = 501 AND wip_entry_id IN (50005, 50007)
 ORDER BY 1;
-- Writing work off brings consumption back below 90% and 100%: those
-- thresholds are armed again, and the next crossing alerts again.
UPDATE billing.wip_entry SET state = 'written_off' WHERE firm_id = 501 AND wip_entry_id IN (50002, 50005);
SELECT pg_temp.time_entry(50008, 5301, 5501, 5003, '2026-03-10', 6);     -- 830.00, 83%
SELECT percent FROM billing.budget_threshold_crossing WHERE firm_id = 501 ORDER BY percent;
SELECT pg_temp.time_entry(50009, 5301, 5501, 5003, '2026-03-11', 90);    -- 980.00, 98%
SELECT details->>'percent' AS percent, count(*) AS alerts FROM billing.alert
 WHERE firm_id = 501 AND kind = 'budget_threshold' GROUP BY 1 ORDER BY 1;
-- Alerts belong to the transaction that raised them.
BEGIN;
SELECT pg_temp.time_entry(50010, 5301, 5501, 5003, '2026-03-12', 12);    -- 1000.00, 100%
SELECT count(*) AS alerts_inside FROM billing.alert WHERE firm_id = 501;
ROLLBACK;
SELECT count(*) AS alerts_after_rollback FROM billing.alert WHERE firm_id = 501;

-- Fixed fee with milestones: a milestone is billable once approved.
INSERT INTO billing.milestone (firm_id, milestone_id, engagement_id, sequence_number, name, amount, due_on) VALUES
    (501, 5601, 5302, 1, 'Planning', '2250.00 USD', '2026-03-31'),
    (501, 5602, 5302, 2, 'Fieldwork complete', '4500.00 USD', '2026-06-30'),
    (501, 5603, 5302, 3, 'Report issued', '2250.00 USD', '2026-09-30');
SELECT pg_temp.fails($$SELECT billing.approve_milestone(501, 5601, 5001)$$);
UPDATE billing.milestone SET state = 'reached' WHERE firm_id = 501 AND milestone_id IN (5601, 5602);
SELECT pg_temp.fails($$SELECT billing.approve_milestone(501, 5601, 5003)$$);
SELECT name, state, approved_by FROM billing.approve_milestone(501, 5601, 5002);
-- Time on a fixed fee is covered by the fee and never ready to bill.
SELECT pg_temp.time_entry(50021, 5302, 5502, 5003, '2026-03-02', 120);
UPDATE billing.wip_entry SET state = 'submitted' WHERE firm_id = 501 AND wip_entry_id = 50021;
UPDATE billing.wip_entry SET state = 'approved' WHERE firm_id = 501 AND wip_entry_id = 50021;

-- Fixed fee: the fee is ready once, less what was invoiced; expenses pass
-- through with the markup.
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind, staff_id,
        worked_on, description, cost, state)
VALUES (501, 50031, 5307, 5507, 'expense', 5003, '2026-03-02', 'Courier', '40.00 USD', 'approved');

-- Recurring: charges for a period, generated twice, billed once.
SELECT engagement_id, charge_period_start, charge_period_end, amount
  FROM billing.generate_recurring_charges(501, '2026-10-01', '2026-12-31') ORDER BY 1, 2;
SELECT count(*) AS charged_again
  FROM billing.generate_recurring_charges(501, '2026-10-01', '2026-12-31');
-- A fee change from December is charged from the next period on; an
-- overlapping run charges only what is new.
SELECT billing.propose_change_order(501, 5303, '2027-01-01', '{"recurring_fee": "900.00 USD"}',
        'fee_change', 'Annual fee review', 5002) AS recurring_v2 \gset
SELECT version_number, effective FROM billing.approve_change_order(501, :recurring_v2, 5001);
SELECT engagement_id, charge_period_start, amount
  FROM billing.generate_recurring_charges(501, '2026-11-15', '2027-01-31') ORDER BY 1, 2;
SELECT rc.period_start, w.kind, w.quantity, w.unit_price, w.amount, w.state, wi.name AS work_item
  FROM billing.recurring_charge rc
  JOIN billing.wip_entry w ON w.firm_id = rc.firm_id AND w.wip_entry_id = rc.wip_entry_id
  JOIN billing.work_item wi ON wi.firm_id = w.firm_id AND wi.work_item_id = w.work_item_id
 WHERE rc.firm_id = 501 AND rc.engagement_id = 5303 ORDER BY rc.period_start;
SELECT pg_temp.fails($$SELECT * FROM billing.generate_recurring_charges(501, '2026-12-31', '2026-01-01')$$);
-- The charges are handed in for review like any WIP, in the name of the
-- engagement's manager (or partner, without one); the one who prepared a
-- charge cannot approve it, so it takes two reviewers here.
SET billing.migration = off;
BEGIN;
SET LOCAL billing.staff_id = '5001';
UPDATE billing.wip_entry w SET state = 'approved'
  FROM billing.recurring_charge rc
 WHERE rc.firm_id = w.firm_id AND rc.wip_entry_id = w.wip_entry_id AND w.firm_id = 501;
ROLLBACK;
BEGIN;
SET LOCAL billing.staff_id = '5001';
UPDATE billing.wip_entry w SET state = 'approved'
  FROM billing.recurring_charge rc
 WHERE rc.firm_id = w.firm_id AND rc.wip_entry_id = w.wip_entry_id AND w.firm_id = 501
   AND w.staff_id <> 5001;
SET LOCAL billing.staff_id = '5002';
UPDATE billing.wip_entry w SET state = 'approved'
  FROM billing.recurring_charge rc
 WHERE rc.firm_id = w.firm_id AND rc.wip_entry_id = w.wip_entry_id AND w.firm_id = 501
   AND w.staff_id = 5001;
COMMIT;
SET billing.migration = on;
SELECT count(*) FILTER (WHERE w.state = 'approved') AS approved_charges, count(*) AS charges
  FROM billing.recurring_charge rc
  JOIN billing.wip_entry w ON w.firm_id = rc.firm_id AND w.wip_entry_id = rc.wip_entry_id
 WHERE rc.firm_id = 501;

-- Retainers: deposits, draws, the balance; a replenishment request once per
-- crossing of the threshold (1500.00); no overdraw past the limit (200.00).
INSERT INTO billing.payment (firm_id, payment_id, client_id, received_on, amount, method) VALUES
    (501, 5701, 5101, '2026-01-05', '5000.00 USD', 'bank_transfer'),
    (501, 5702, 5101, '2026-06-01', '5000.00 USD', 'bank_transfer');
INSERT INTO billing.invoice_series (firm_id, invoice_series_id, code) VALUES (501, 5801, 'INV');
INSERT INTO billing.invoice (firm_id, invoice_id, client_id, invoice_series_id, currency, prepared_by)
VALUES (501, 5901, 5101, 5801, 'USD', 5002);
SELECT billing.retainer_deposit(501, 5305, '5000.00 USD', 5701, '2026-01-05') > 0 AS deposited;
SELECT billing.retainer_balance(501, 5305);
SELECT billing.retainer_draw(501, 5305, '3000.00 USD', 5901, '2026-02-01') > 0 AS drew;   -- 2000.00
SELECT billing.retainer_draw(501, 5305, '800.00 USD', 5901, '2026-03-01') > 0 AS drew;    -- 1200.00, crosses
SELECT billing.retainer_draw(501, 5305, '100.00 USD', 5901, '2026-04-01') > 0 AS drew;    -- 1100.00
SELECT pg_temp.fails($$SELECT billing.retainer_draw(501, 5305, '1400.00 USD', 5901, '2026-05-01')$$);
SELECT pg_temp.fails($$SELECT billing.retainer_draw(501, 5305, '10.00 EUR', 5901, '2026-05-01')$$);
-- Under REPEATABLE READ a draw could not see a concurrent one: refused.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT pg_temp.fails($$SELECT billing.retainer_draw(501, 5305, '10.00 USD', 5901, '2026-05-01')$$);
SELECT pg_temp.fails($$SELECT pg_temp.time_entry(50099, 5301, 5501, 5003, '2026-03-13', 6)$$);
ROLLBACK;
SELECT billing.retainer_draw(501, 5305, '1300.00 USD', 5901, '2026-05-01') > 0 AS drew;   -- -200.00
SELECT billing.retainer_balance(501, 5305);
SELECT billing.retainer_deposit(501, 5305, '5000.00 USD', 5702, '2026-06-01') > 0 AS deposited; -- 4800.00
SELECT billing.retainer_draw(501, 5305, '3400.00 USD', 5901, '2026-07-01') > 0 AS drew;   -- 1400.00, crosses
SELECT balance, threshold, requested_amount, state
  FROM billing.retainer_replenishment_request WHERE firm_id = 501
 ORDER BY retainer_replenishment_request_id;
SELECT message FROM billing.alert WHERE firm_id = 501 AND kind = 'retainer_threshold' ORDER BY alert_id;
-- Work on the retainer is ready to bill, and the retainer can pay for it.
SELECT pg_temp.time_entry(50041, 5305, 5505, 5002, '2026-07-02', 90);
UPDATE billing.wip_entry SET state = 'submitted' WHERE firm_id = 501 AND wip_entry_id = 50041;
UPDATE billing.wip_entry SET state = 'approved' WHERE firm_id = 501 AND wip_entry_id = 50041;

-- Fixed fee plus hourly: the fee covers 2 hours, time beyond is overage.
SELECT pg_temp.time_entry(50051, 5306, 5506, 5003, '2026-03-02', 90);
SELECT pg_temp.time_entry(50052, 5306, 5506, 5003, '2026-03-03', 60);
SELECT pg_temp.time_entry(50053, 5306, 5506, 5002, '2026-03-04', 30);
UPDATE billing.wip_entry SET state = 'submitted'
 WHERE firm_id = 501 AND wip_entry_id IN (50051, 50052, 50053, 50006, 50009) AND state = 'draft';
UPDATE billing.wip_entry SET state = 'approved'
 WHERE firm_id = 501 AND wip_entry_id IN (50051, 50052, 50053, 50006, 50009);
SELECT wip_entry_id, billable_minutes, scope_minutes, minutes_before, overage_minutes, overage_amount
  FROM billing.wip_scope_usage WHERE firm_id = 501 ORDER BY wip_entry_id;

-- What is ready to invoice, per engagement and model, and why.
SELECT e.engagement_code, r.item_kind, r.wip_entry_id, r.milestone_id, r.amount, r.amount_value,
       r.currency, r.reason
  FROM billing.ready_to_invoice r
  JOIN billing.engagement e USING (firm_id, engagement_id)
 WHERE r.firm_id = 501
 ORDER BY e.engagement_code, r.item_kind, r.wip_entry_id, r.milestone_id, r.reason;
-- Once the fixed fee is partly invoiced, only the rest is ready.
INSERT INTO billing.invoice_line (firm_id, invoice_line_id, invoice_id, line_number, engagement_id,
        kind, description, amount)
VALUES (501, 5951, 5901, 1, 5307, 'fixed_fee', 'Procedures, first half', '600.00 USD');
SELECT item_kind, amount, reason FROM billing.ready_to_invoice
 WHERE firm_id = 501 AND engagement_id = 5307 AND item_kind = 'fixed_fee';
