-- Engagement versions: change orders through approval, periods that never
-- overlap, frozen versions, terms as of a date, and which version governed
-- each WIP entry and invoice line.
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

INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (301, 'Maple & Oak CPAs', 'USD');
INSERT INTO billing.staff (firm_id, staff_id, full_name, level) VALUES
    (301, 3001, 'Pat Partner', 'partner'), (301, 3002, 'Mia Manager', 'manager'),
    (301, 3003, 'Sam Senior', 'senior'), (301, 3004, 'Stu Staff', 'staff'),
    (301, 3005, 'Paula Partner', 'partner');
INSERT INTO billing.service_line (firm_id, service_line_id, code, name) VALUES (301, 3011, 'tax', 'Tax');
INSERT INTO billing.reason_code (firm_id, reason_code, label, applies_to) VALUES
    (301, 'scope_change', 'Scope changed', '{change_order}'),
    (301, 'courtesy', 'Courtesy', '{discount}');
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency)
VALUES (301, 3101, 'C-3101', 'Cedar Holdings', 'corporation', 'USD');
INSERT INTO billing.rate_card (firm_id, rate_card_id, name, currency) VALUES (301, 3201, 'Standard', 'USD');
INSERT INTO billing.rate (firm_id, rate_id, rate_card_id, level, hourly_rate, effective) VALUES
    (301, 3211, 3201, 'partner', '400.00 USD', '[2026-01-01,2027-01-01)'),
    (301, 3212, 3201, 'manager', '300.00 USD', '[2026-01-01,2027-01-01)'),
    (301, 3213, 3201, 'senior', '200.00 USD', '[2026-01-01,2027-01-01)'),
    (301, 3214, 3201, 'staff', '100.00 USD', '[2026-01-01,2027-01-01)');
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id,
        engagement_code, name, billing_model, currency, partner_id, manager_id, starts_on, state)
VALUES (301, 3301, 3101, 3011, 'TAX-3301', '2026 corporate return', 'hourly', 'USD',
        3001, 3002, '2026-01-01', 'active');
INSERT INTO billing.work_item (firm_id, work_item_id, engagement_id, kind, name)
VALUES (301, 3401, 3301, 'return', 'Form 1120, 2025');

-- Before any terms are approved, no version governs and work cannot be priced.
SELECT count(*) AS versions FROM billing.terms_as_of(301, 3301, '2026-03-02');
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id,
        work_item_id, kind, staff_id, worked_on, description, minutes)
    VALUES (301, 30001, 3301, 3401, 'time', 3004, '2026-03-02', 'Prepared workpapers', 60)$$);

-- Version 1, the engagement letter, proposed by the manager.  Only another
-- person of the required level (a partner, by default) may approve it.
SELECT billing.propose_change_order(301, 3301, '2026-01-01',
        '{"rate_card_id": 3201, "minimum_minutes": 0}', NULL, NULL, 3002) AS v1 \gset
SELECT version_number, effective, state, rate_card_id, increment_minutes, time_rounding
  FROM billing.engagement_version WHERE firm_id = 301 AND engagement_version_id = :v1;
SELECT a.state, a.required_level, a.requested_by
  FROM billing.approval a WHERE a.firm_id = 301 AND a.engagement_version_id = :v1;
SELECT pg_temp.fails(format('SELECT billing.approve_change_order(301, %s, 3002)', :v1));
SELECT pg_temp.fails(format('SELECT billing.approve_change_order(301, %s, 3003)', :v1));
SELECT version_number, effective, state, approved_by
  FROM billing.approve_change_order(301, :v1, 3001, 'Engagement letter signed');
SELECT a.state, a.decided_by, a.decision_note
  FROM billing.approval a WHERE a.firm_id = 301 AND a.engagement_version_id = :v1;
-- A decided change order cannot be decided again.
SELECT pg_temp.fails(format('SELECT billing.approve_change_order(301, %s, 3005)', :v1));
SELECT version_number, effective FROM billing.terms_as_of(301, 3301, '2026-03-02');

-- Work recorded under version 1 freezes it.
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes)
VALUES (301, 30001, 3301, 3401, 'time', 3004, '2026-03-02', 'Prepared workpapers', 60);
SELECT billing.engagement_version_last_governed_day(301, :v1);
SELECT pg_temp.fails(format('UPDATE billing.engagement_version SET minimum_minutes = 15
    WHERE firm_id = 301 AND engagement_version_id = %s', :v1));
SELECT pg_temp.fails(format('DELETE FROM billing.engagement_version
    WHERE firm_id = 301 AND engagement_version_id = %s', :v1));
-- Bringing the end of its period before work it governed is refused too.
SELECT pg_temp.fails(format('UPDATE billing.engagement_version SET effective = ''[2026-01-01,2026-03-01)''
    WHERE firm_id = 301 AND engagement_version_id = %s', :v1));

-- A change order needs a reason code for change orders and a reason, and
-- may set terms only.
SELECT pg_temp.fails($$SELECT billing.propose_change_order(301, 3301, '2026-07-01',
        '{"minimum_minutes": 15}', NULL, NULL, 3002)$$);
SELECT pg_temp.fails($$SELECT billing.propose_change_order(301, 3301, '2026-07-01',
        '{"minimum_minutes": 15}', 'courtesy', 'Client asked', 3002)$$);
SELECT pg_temp.fails($$SELECT billing.propose_change_order(301, 3301, '2026-07-01',
        '{"minimum_minutes": 15, "state": "approved", "requested_by": 1}', 'scope_change', 'More work', 3002)$$);
SELECT pg_temp.fails($$SELECT billing.propose_change_order(301, 3301, '2026-07-01',
        '[15]', 'scope_change', 'More work', 3002)$$);

-- Mid-year, the terms change from July 1st.
SELECT billing.propose_change_order(301, 3301, '2026-07-01',
        '{"minimum_minutes": 15, "budget_cap": "50000.00 USD", "non_billable_work_types": ["training"]}',
        'scope_change', 'Client added two subsidiaries to the return', 3002) AS v2 \gset
-- Pending terms govern nothing yet.
SELECT version_number FROM billing.terms_as_of(301, 3301, '2026-08-03');
SELECT version_number, effective, state, rate_card_id, minimum_minutes, budget_cap,
       non_billable_work_types, reason_code, change_reason
  FROM billing.engagement_version WHERE firm_id = 301 AND engagement_version_id = :v2;
SELECT version_number, effective, state
  FROM billing.approve_change_order(301, :v2, 3001);
SELECT version_number, effective, state
  FROM billing.engagement_version WHERE firm_id = 301 AND engagement_id = 3301
 ORDER BY version_number;
SELECT d AS on_date, (SELECT version_number FROM billing.terms_as_of(301, 3301, d)) AS version
  FROM unnest(ARRAY['2025-12-31', '2026-01-01', '2026-06-30', '2026-07-01', '2030-01-01']::date[]) AS d;

-- Work after the change is governed by version 2, work before by version 1.
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes) VALUES
    (301, 30002, 3301, 3401, 'time', 3004, '2026-06-30', 'Reconciled accounts', 5),
    (301, 30003, 3301, 3401, 'time', 3004, '2026-07-01', 'Reconciled accounts', 5);
SELECT wip_entry_id, worked_on, version_number, billable_minutes, amount
  FROM billing.wip_governing_terms WHERE firm_id = 301 ORDER BY wip_entry_id;

-- A change order from a day that version 1 already governed work on
-- cannot be approved: that work keeps its terms.
SELECT billing.propose_change_order(301, 3301, '2026-06-01', '{"increment_minutes": 15}',
        'scope_change', 'Quarter hours', 3002) AS v3 \gset
SELECT pg_temp.fails(format('SELECT billing.approve_change_order(301, %s, 3001)', :v3));
-- A change order is never a replacement of a whole version.
SELECT billing.propose_change_order(301, 3301, '2026-07-01', '{"increment_minutes": 15}',
        'scope_change', 'Quarter hours', 3002) AS v4 \gset
SELECT pg_temp.fails(format('SELECT billing.approve_change_order(301, %s, 3001)', :v4));
-- Both are rejected, by someone other than their preparer.
SELECT pg_temp.fails(format('SELECT billing.reject_change_order(301, %s, 3002)', :v3));
SELECT version_number, state FROM billing.reject_change_order(301, :v3, 3001, 'Work already billed at tenths');
SELECT version_number, state FROM billing.reject_change_order(301, :v4, 3001);
SELECT a.state, count(*) FROM billing.approval a
 WHERE a.firm_id = 301 AND a.engagement_version_id IS NOT NULL GROUP BY a.state ORDER BY 1;

-- Approved periods of one engagement never overlap, however they are written.
SELECT pg_temp.fails($$INSERT INTO billing.engagement_version (firm_id, engagement_id,
        version_number, effective, state, currency, requested_by, approved_by, approved_at, change_reason)
    VALUES (301, 3301, 9, '[2026-09-01,2026-10-01)', 'approved', 'USD', 3002, 3001, now(), 'Sneaked in')$$);
-- Rates of one level or person on one card never overlap either; back to
-- back is fine (rates change on January 1st).
SELECT pg_temp.fails($$INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective)
    VALUES (301, 3201, 'staff', '110.00 USD', '[2026-12-01,2027-12-01)')$$);
SELECT pg_temp.fails($$INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective)
    VALUES (301, 3201, 'staff', '110.00 USD', '[2027-01-01,2028-01-01)')$$);
INSERT INTO billing.rate (firm_id, rate_card_id, staff_id, hourly_rate, effective)
VALUES (301, 3201, 3004, '120.00 USD', '[2027-01-01,2028-01-01)');
SELECT pg_temp.fails($$INSERT INTO billing.rate (firm_id, rate_card_id, staff_id, hourly_rate, effective)
    VALUES (301, 3201, 3004, '125.00 USD', '[2027-06-01,)')$$);
SELECT pg_temp.fails($$INSERT INTO billing.engagement_rate (firm_id, engagement_id, level, hourly_rate, effective, reason)
    VALUES (301, 3301, 'staff', '90.00 USD', '[2026-01-01,2027-01-01)', 'Agreed'),
           (301, 3301, 'staff', '95.00 USD', '[2026-06-01,2027-01-01)', 'Agreed again')$$);

-- Version 2 may still be closed before its open end while nothing it
-- governed lies beyond the new end; version 1, frozen, keeps its period.
UPDATE billing.engagement_version SET effective = '[2026-07-01,2027-01-01)'
 WHERE firm_id = 301 AND engagement_version_id = :v2;
SELECT pg_temp.fails(format('UPDATE billing.engagement_version SET effective = ''[2026-07-01,2026-07-01)''
    WHERE firm_id = 301 AND engagement_version_id = %s', :v2));
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id,
        work_item_id, kind, staff_id, worked_on, description, minutes)
    VALUES (301, 30004, 3301, 3401, 'time', 3004, '2027-01-04', 'Filed extension', 30)$$);

-- Which version governed each invoice line: through its WIP, or for a line
-- without WIP (a fixed fee) the version in force on the invoice date.
INSERT INTO billing.invoice_series (firm_id, invoice_series_id, code) VALUES (301, 3501, 'INV');
INSERT INTO billing.invoice (firm_id, invoice_id, client_id, invoice_series_id, currency,
        prepared_by, invoice_date)
VALUES (301, 3601, 3101, 3501, 'USD', 3002, '2026-09-30');
INSERT INTO billing.invoice_line (firm_id, invoice_line_id, invoice_id, line_number,
        engagement_id, kind, description, amount) VALUES
    (301, 3701, 3601, 1, 3301, 'time', 'Return preparation', '110.00 USD'),
    (301, 3702, 3601, 2, 3301, 'fixed_fee', 'Extension filing', '250.00 USD');
INSERT INTO billing.invoice_line_wip (firm_id, invoice_id, invoice_line_id, wip_entry_id,
        standard_amount, billed_amount) VALUES
    (301, 3601, 3701, 30001, '100.00 USD', '100.00 USD'),
    (301, 3601, 3701, 30003, '25.00 USD', '10.00 USD');
SELECT line_number, kind, wip_entry_id, version_number, terms_effective, governed_through,
       amount, amount_value, currency
  FROM billing.invoice_line_governing_terms WHERE firm_id = 301
 ORDER BY line_number, wip_entry_id;
-- An issued invoice line without WIP freezes the version in force on its date.
-- (Finalizing goes through review and approval; here the state is set
-- directly, with the workflow trigger left out.)
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.invoice SET state = 'finalized', invoice_number = 1
 WHERE firm_id = 301 AND invoice_id = 3601;
COMMIT;
SELECT billing.engagement_version_last_governed_day(301, :v2);
SELECT pg_temp.fails(format('UPDATE billing.engagement_version SET effective = ''[2026-07-01,2026-09-01)''
    WHERE firm_id = 301 AND engagement_version_id = %s', :v2));
