-- bench/wip_firm.sql: one firm ready for WIP capture, loaded by the
-- benchmarks that insert into billing.wip_entry (rating.sh, audit.sh).
--
-- Staff s (1..40) has level s % 4: staff, senior, manager, partner, at
-- 150, 200, 250 and 300 an hour (rate_id 11 to 14); engagement e (1..40)
-- has version e and work item e.
-- The set-up loads approved terms directly, as a migration does.
SET billing.migration = on;
INSERT INTO billing.firm (firm_id, name, base_currency) VALUES (1, 'Bench', 'USD');
INSERT INTO billing.staff (firm_id, staff_id, full_name, level)
SELECT 1, s, 'Person ' || s,
       (ARRAY['staff', 'senior', 'manager', 'partner'])[1 + s % 4]::billing.staff_level
  FROM generate_series(1, 40) AS s;
INSERT INTO billing.service_line (firm_id, service_line_id, code, name) VALUES (1, 1, 'tax', 'Tax');
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency)
VALUES (1, 1, 'C-1', 'Client', 'corporation', 'USD');
INSERT INTO billing.rate_card (firm_id, rate_card_id, name, currency) VALUES (1, 1, 'Standard', 'USD');
INSERT INTO billing.rate (firm_id, rate_id, rate_card_id, level, hourly_rate, effective)
SELECT 1, 11 + l, 1, (ARRAY['staff', 'senior', 'manager', 'partner'])[1 + l]::billing.staff_level,
       billing.amount_of_minor_units(15000 + 5000 * l, 'USD'), '[2026-01-01,2027-01-01)'
  FROM generate_series(0, 3) AS l;
-- A few personal rates and overrides that the trigger must look past.
INSERT INTO billing.rate (firm_id, rate_id, rate_card_id, staff_id, hourly_rate, effective)
SELECT 1, 100 + s, 1, s, '999.00 USD', '[2025-01-01,2026-01-01)' FROM generate_series(1, 40, 7) AS s;
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id, engagement_code,
        name, billing_model, currency, partner_id, starts_on, state)
SELECT 1, e, 1, 1, 'E-' || e, 'Engagement ' || e, 'hourly', 'USD', 3, '2026-01-01', 'active'
  FROM generate_series(1, 40) AS e;
INSERT INTO billing.engagement_rate (firm_id, engagement_id, staff_id, hourly_rate, effective, reason)
SELECT 1, e, 1 + e % 40, '888.00 USD', '[2025-01-01,2026-01-01)', 'Old agreement'
  FROM generate_series(1, 40, 3) AS e;
INSERT INTO billing.engagement_version (firm_id, engagement_version_id, engagement_id, version_number,
        effective, state, currency, rate_card_id, increment_minutes, time_rounding, minimum_minutes,
        requested_by, approved_by, approved_at)
SELECT 1, e, e, 1, '[2026-01-01,)', 'approved', 'USD', 1, 6, 'up', 0, 2, 3, now()
  FROM generate_series(1, 40) AS e;
INSERT INTO billing.work_item (firm_id, work_item_id, engagement_id, kind, name)
SELECT 1, e, e, 'other', 'Work' FROM generate_series(1, 40) AS e;
