-- Rating: the trigger that prices WIP when it is recorded.  The rate
-- resolution order, time rules (increments, rounding, minimums,
-- non-billable work types), expense markup, flat tasks, exact rounding,
-- the errors, the cache seeing changes at once, and re-rating.
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

INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (401, 'Rowan Tax', 'USD');
-- Ids the rating trigger reports in messages come from this range.
SELECT setval('billing.engagement_version_id_seq', 49000) > 0 AS ids_set;
INSERT INTO billing.staff (firm_id, staff_id, full_name, level) VALUES
    (401, 4001, 'Pia Partner', 'partner'), (401, 4002, 'Mo Manager', 'manager'),
    (401, 4003, 'Sia Senior', 'senior'), (401, 4004, 'Tim Staff', 'staff'),
    (401, 4005, 'Ann Admin', 'admin'), (401, 4006, 'Sol Senior', 'senior'),
    (401, 4007, 'Ted Staff', 'staff');
INSERT INTO billing.service_line (firm_id, service_line_id, code, name) VALUES (401, 4011, 'tax', 'Tax');
INSERT INTO billing.reason_code (firm_id, reason_code, label, applies_to) VALUES
    (401, 'annual_rate_change', 'Annual rate change', '{change_order,rerate}'),
    (401, 'scope_change', 'Scope changed', '{change_order}');
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency)
VALUES (401, 4101, 'C-4101', 'Birch Dental', 'corporation', 'USD');
INSERT INTO billing.rate_card (firm_id, rate_card_id, name, currency) VALUES (401, 4201, 'Standard', 'USD');
-- Level rates for 2026 and 2027 (rates change on January 1st), and a
-- personal rate for one senior.
INSERT INTO billing.rate (firm_id, rate_id, rate_card_id, level, staff_id, hourly_rate, effective) VALUES
    (401, 4211, 4201, 'partner', NULL, '450.00 USD', '[2026-01-01,2027-01-01)'),
    (401, 4212, 4201, 'manager', NULL, '333.33 USD', '[2026-01-01,2027-01-01)'),
    (401, 4213, 4201, 'senior', NULL, '225.00 USD', '[2026-01-01,2027-01-01)'),
    (401, 4214, 4201, 'staff', NULL, '150.00 USD', '[2026-01-01,2027-01-01)'),
    (401, 4215, 4201, 'staff', NULL, '165.00 USD', '[2027-01-01,2028-01-01)'),
    (401, 4216, 4201, NULL, 4003, '240.00 USD', '[2026-01-01,2028-01-01)'),
    (401, 4217, 4201, 'senior', NULL, '245.00 USD', '[2027-01-01,2028-01-01)');
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id,
        engagement_code, name, billing_model, currency, partner_id, manager_id, starts_on, state)
VALUES (401, 4301, 4101, 4011, 'TAX-4301', '2026 return', 'hourly', 'USD', 4001, 4002,
        '2026-01-01', 'active');
-- Overrides agreed in the engagement letter: a level's and a person's.
INSERT INTO billing.engagement_rate (firm_id, engagement_rate_id, engagement_id, level, staff_id,
        hourly_rate, effective, reason) VALUES
    (401, 4221, 4301, 'partner', NULL, '400.00 USD', '[2026-01-01,)', 'Agreed partner rate'),
    (401, 4222, 4301, NULL, 4007, '100.00 USD', '[2026-01-01,)', 'Trainee at a reduced rate');
INSERT INTO billing.engagement_version (firm_id, engagement_version_id, engagement_id, version_number,
        effective, state, currency, rate_card_id, increment_minutes, time_rounding, minimum_minutes,
        non_billable_work_types, expense_markup_percent, requested_by, approved_by, approved_at)
VALUES (401, 4401, 4301, 1, '[2026-01-01,)', 'approved', 'USD', 4201, 6, 'up', 0,
        '{training,admin}', 10, 4002, 4001, now());
INSERT INTO billing.work_item (firm_id, work_item_id, engagement_id, kind, name)
VALUES (401, 4501, 4301, 'return', 'Form 1120-S, 2025');

-- Rate resolution: the engagement's rate for the person, then for the
-- level, then the rate card's rate for the person, then for the level.
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes) VALUES
    (401, 40001, 4301, 4501, 'time', 4007, '2026-03-02', 'Person override', 60),
    (401, 40002, 4301, 4501, 'time', 4001, '2026-03-02', 'Level override', 60),
    (401, 40003, 4301, 4501, 'time', 4003, '2026-03-02', 'Personal card rate', 60),
    (401, 40004, 4301, 4501, 'time', 4006, '2026-03-02', 'Level card rate', 60);
SELECT wip_entry_id, staff_id, rate_source, rate_id, engagement_rate_id, unit_price, amount,
       engagement_version_id
  FROM billing.wip_governing_terms WHERE firm_id = 401 ORDER BY wip_entry_id;

-- Time rules: one minute at tenths of an hour rounds up to six minutes;
-- rounding is exact, half away from zero, to the cent.
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, work_type, minutes) VALUES
    (401, 40011, 4301, 4501, 'time', 4002, '2026-03-03', 'One minute', NULL, 1),
    (401, 40012, 4301, 4501, 'time', 4002, '2026-03-03', 'Seven minutes', NULL, 7),
    (401, 40013, 4301, 4501, 'time', 4002, '2026-03-03', 'Whole tenths', NULL, 12),
    (401, 40014, 4301, 4501, 'time', 4004, '2026-03-03', 'Firm training', 'training', 45);
SELECT wip_entry_id, minutes, billable_minutes, billable, unit_price, amount
  FROM billing.wip_entry WHERE firm_id = 401 AND wip_entry_id BETWEEN 40011 AND 40019
 ORDER BY wip_entry_id;
-- The rule itself, for every rounding mode.
SELECT m, billing.billable_minutes(m, 6, 'up', 0) AS tenth_up,
       billing.billable_minutes(m, 15, 'up', 0) AS quarter_up,
       billing.billable_minutes(m, 15, 'nearest', 0) AS quarter_nearest,
       billing.billable_minutes(m, 15, 'down', 0) AS quarter_down,
       billing.billable_minutes(m, 6, 'down', 30) AS tenth_down_min_30
  FROM unnest(ARRAY[1, 6, 7, 8, 22, 23, 30, 31, 59]) AS m;
SELECT pg_temp.fails($$SELECT billing.billable_minutes(10, 6, 'sideways', 0)$$);
SELECT pg_temp.fails($$SELECT billing.billable_minutes(10, 0, 'up', 0)$$);

-- Expenses: cost plus the version's markup; flat tasks: quantity times
-- unit price.  Both rounded once, half away from zero.
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, cost, quantity, unit_price) VALUES
    (401, 40021, 4301, 4501, 'expense', 4004, '2026-03-04', 'Filing fee', '33.33 USD', NULL, NULL),
    (401, 40022, 4301, 4501, 'expense', 4004, '2026-03-04', 'Postage', '0.05 USD', NULL, NULL),
    (401, 40023, 4301, 4501, 'flat', 4004, '2026-03-04', 'K-1 packages', NULL, 2.5, '99.99 USD');
SELECT wip_entry_id, kind, cost, markup_percent, quantity, unit_price, amount
  FROM billing.wip_entry WHERE firm_id = 401 AND wip_entry_id BETWEEN 40021 AND 40029
 ORDER BY wip_entry_id;

-- A change order from July with quarter hours to the nearest, a 30-minute
-- minimum and no markup: work from July is priced by it.
SELECT billing.propose_change_order(401, 4301, '2026-07-01',
        '{"increment_minutes": 15, "time_rounding": "nearest", "minimum_minutes": 30, "expense_markup_percent": 0}',
        'scope_change', 'Quarterly minimums agreed', 4002) AS v2 \gset
SELECT version_number, effective FROM billing.approve_change_order(401, :v2, 4001);
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes, cost) VALUES
    (401, 40031, 4301, 4501, 'time', 4004, '2026-06-30', 'Under version 1', 7, NULL),
    (401, 40032, 4301, 4501, 'time', 4004, '2026-07-01', 'Under version 2', 7, NULL),
    (401, 40033, 4301, 4501, 'time', 4004, '2026-07-01', 'Under version 2', 52, NULL),
    (401, 40034, 4301, 4501, 'expense', 4004, '2026-07-01', 'Filing fee', NULL, '33.33 USD'),
    (401, 40035, 4301, 4501, 'time', 4004, '2027-01-04', 'Rate of the new year', 60, NULL);
SELECT g.wip_entry_id, g.worked_on, g.version_number, g.minutes, g.billable_minutes,
       g.markup_percent, g.rate_id, g.amount
  FROM billing.wip_governing_terms g WHERE g.firm_id = 401 AND g.wip_entry_id BETWEEN 40031 AND 40039
 ORDER BY g.wip_entry_id;

-- What cannot be priced is refused, with the rule that was missing.
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes)
    VALUES (401, 4301, 4501, 'time', 4004, '2025-12-31', 'Before the terms', 30)$$);
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes)
    VALUES (401, 4301, 4501, 'time', 4005, '2026-03-05', 'No rate for admins', 30)$$);
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes)
    VALUES (401, 4301, 4501, 'time', 4006, '2028-01-03', 'No rate in 2028', 30)$$);
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id,
        work_item_id, kind, staff_id, worked_on, description, minutes)
    VALUES (401, 4301, 4401, 4501, 'time', 4004, '2026-08-03', 'Names the old terms', 30)$$);
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, cost)
    VALUES (401, 4301, 4501, 'expense', 4004, '2026-03-05', 'Hotel', '120.00 EUR')$$);
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes)
    VALUES (401, 4301, 4501, 'time', 4999, '2026-03-05', 'Nobody', 30)$$);
-- What the model requires still holds: time without minutes is refused.
SELECT pg_temp.fails($$INSERT INTO billing.wip_entry (firm_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description)
    VALUES (401, 4301, 4501, 'time', 4004, '2026-03-05', 'No minutes')$$);

-- Pricing is not edited by hand; correcting the facts re-prices the entry.
SELECT pg_temp.fails($$UPDATE billing.wip_entry SET amount = '1.00 USD'
    WHERE firm_id = 401 AND wip_entry_id = 40004$$);
UPDATE billing.wip_entry SET minutes = 90 WHERE firm_id = 401 AND wip_entry_id = 40004;
UPDATE billing.wip_entry SET worked_on = '2026-07-02' WHERE firm_id = 401 AND wip_entry_id = 40013;
UPDATE billing.wip_entry SET state = 'submitted' WHERE firm_id = 401 AND wip_entry_id = 40011;
SELECT w.wip_entry_id, w.worked_on, w.minutes, w.billable_minutes, w.amount, w.state, v.version_number
  FROM billing.wip_entry w JOIN billing.engagement_version v USING (firm_id, engagement_version_id)
 WHERE w.firm_id = 401 AND w.wip_entry_id IN (40004, 40011, 40013) ORDER BY w.wip_entry_id;
-- A billed entry keeps its pricing whatever changes.
-- (Billing it takes an invoice; here the state is set directly, with the
-- workflow trigger left out.)
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.wip_entry SET state = 'billed' WHERE firm_id = 401 AND wip_entry_id = 40002;
COMMIT;
SELECT pg_temp.fails($$UPDATE billing.wip_entry SET minutes = 30
    WHERE firm_id = 401 AND wip_entry_id = 40002$$);

-- The cache sees a change at once: a new rate applies to the next entry,
-- and entries already recorded keep theirs.
UPDATE billing.rate SET hourly_rate = '160.00 USD' WHERE firm_id = 401 AND rate_id = 4214;
UPDATE billing.engagement_rate SET effective = '[2026-01-01,2026-03-09)'
 WHERE firm_id = 401 AND engagement_rate_id = 4221;
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes) VALUES
    (401, 40041, 4301, 4501, 'time', 4004, '2026-03-09', 'After the rate change', 60),
    (401, 40042, 4301, 4501, 'time', 4001, '2026-03-09', 'After the override ended', 60);
UPDATE billing.staff SET level = 'senior' WHERE firm_id = 401 AND staff_id = 4004;
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes)
VALUES (401, 40043, 4301, 4501, 'time', 4004, '2026-03-10', 'After a promotion', 60);
UPDATE billing.staff SET level = 'staff' WHERE firm_id = 401 AND staff_id = 4004;
SELECT wip_entry_id, staff_id, worked_on, rate_source, unit_price, amount
  FROM billing.wip_governing_terms
 WHERE firm_id = 401 AND wip_entry_id IN (40001, 40002, 40014, 40041, 40042, 40043)
 ORDER BY wip_entry_id;
-- A change rolled back leaves no trace in the cache.
BEGIN;
UPDATE billing.rate SET hourly_rate = '999.00 USD' WHERE firm_id = 401 AND rate_id = 4214;
ROLLBACK;
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, work_item_id, kind,
        staff_id, worked_on, description, minutes)
VALUES (401, 40044, 4301, 4501, 'time', 4004, '2026-03-11', 'After a rollback', 60);
SELECT wip_entry_id, unit_price FROM billing.wip_entry WHERE firm_id = 401 AND wip_entry_id = 40044;

-- Re-rating is explicit, needs a reason that applies to re-rating, never
-- touches billed work, and says what changed.
SELECT pg_temp.fails($$UPDATE billing.wip_entry SET engagement_version_id = NULL
    WHERE firm_id = 401 AND wip_entry_id = 40004$$);
SELECT pg_temp.fails($$SELECT * FROM billing.rerate_wip(401, 4301, NULL, NULL)$$);
SELECT pg_temp.fails($$SELECT * FROM billing.rerate_wip(401, 4301, 'scope_change', 'New card')$$);
SELECT pg_temp.fails($$SELECT * FROM billing.rerate_wip(401, 4301, 'annual_rate_change', 'New card', '{40002}')$$);
BEGIN;
SELECT * FROM billing.rerate_wip(401, 4301, 'annual_rate_change',
                                 'Staff rate raised to 160.00 from March');
SELECT current_setting('billing.reason_code') AS reason_code, current_setting('billing.reason') AS reason;
COMMIT;
SELECT wip_entry_id, state, unit_price, amount FROM billing.wip_entry
 WHERE firm_id = 401 AND wip_entry_id IN (40002, 40004, 40014) ORDER BY wip_entry_id;
-- Listing entries re-rates only those; nothing changes twice.
SELECT * FROM billing.rerate_wip(401, 4301, 'annual_rate_change', 'Again', '{40004,40041}');
