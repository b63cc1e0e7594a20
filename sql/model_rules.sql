-- The model's own rules: keys across firms, required fields, signs, and bad
-- input that must fail whole.
\set VERBOSITY terse
SET client_min_messages = warning;
-- Records are loaded in the states they have reached, as a migration would;
-- how they move between states is tested by the workflow tests.
SET billing.migration = on;

INSERT INTO billing.firm (firm_id, name, base_currency) VALUES
    (101, 'Alder & Ash CPAs', 'USD'), (102, 'Birch Tax Partners', 'EUR');
INSERT INTO billing.staff (firm_id, staff_id, full_name, level) VALUES
    (101, 1001, 'Ada Partner', 'partner'), (101, 1002, 'Max Manager', 'manager'),
    (102, 2001, 'Bea Partner', 'partner');
INSERT INTO billing.service_line (firm_id, service_line_id, code, name) VALUES
    (101, 11, 'tax', 'Tax'), (102, 21, 'tax', 'Tax');
INSERT INTO billing.reason_code (firm_id, reason_code, label, applies_to) VALUES
    (101, 'courtesy', 'Courtesy discount', '{write_down,discount}');
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency) VALUES
    (101, 501, 'C-501', 'Cedar Holdings', 'corporation', 'USD'),
    (102, 601, 'C-601', 'Dahlia GmbH', 'corporation', 'EUR');
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id,
        engagement_code, name, billing_model, currency, partner_id, starts_on) VALUES
    (101, 701, 501, 11, 'E-701', '2026 corporate return', 'hourly', 'USD', 1001, '2026-01-01'),
    (102, 801, 601, 21, 'E-801', '2026 Steuererklaerung', 'hourly', 'EUR', 2001, '2026-01-01');
INSERT INTO billing.rate_card (firm_id, rate_card_id, name, currency) VALUES
    (101, 41, 'Standard', 'USD');
INSERT INTO billing.engagement_version (firm_id, engagement_version_id, engagement_id,
        version_number, effective, state, currency, rate_card_id, requested_by, approved_by, approved_at) VALUES
    (101, 901, 701, 1, '[2026-01-01,)', 'approved', 'USD', 41, 1002, 1001, now());
INSERT INTO billing.work_item (firm_id, work_item_id, engagement_id, kind, name) VALUES
    (101, 301, 701, 'return', 'Form 1120, 2025'),
    (102, 302, 801, 'return', 'KSt 2025');

-- These WIP entries test the model's own keys and checks, so the rating
-- trigger, which would price them (or refuse them) first, is set aside
-- here; sql/terms*.sql and sql/rating*.sql test it.
ALTER TABLE billing.wip_entry DISABLE TRIGGER wip_entry_resolve;
-- A WIP entry of firm 101 that names firm 102's engagement cannot exist:
-- every key among firm tables carries firm_id.
INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, amount)
VALUES (101, 801, 901, 302, 'time', 1001, '2026-11-02', 'Review', 60, 60, '450.00 USD');
-- ... nor one that names its own engagement but another firm's staff member.
INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, amount)
VALUES (101, 701, 901, 301, 'time', 2001, '2026-11-02', 'Review', 60, 60, '450.00 USD');
-- ... nor a work item of another engagement of the same firm.
INSERT INTO billing.engagement (firm_id, engagement_id, client_id, service_line_id,
        engagement_code, name, billing_model, currency, partner_id, starts_on)
VALUES (101, 702, 501, 11, 'E-702', 'Payroll set-up', 'hourly', 'USD', 1001, '2026-01-01');
INSERT INTO billing.work_item (firm_id, work_item_id, engagement_id, kind, name)
VALUES (101, 303, 702, 'other', 'Payroll set-up');
INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, amount)
VALUES (101, 701, 901, 303, 'time', 1001, '2026-11-02', 'Review', 60, 60, '450.00 USD');
-- The right one works.
INSERT INTO billing.wip_entry (firm_id, wip_entry_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, unit_price, amount)
VALUES (101, 1, 701, 901, 301, 'time', 1002, '2026-11-02', 'Review', 60, 60, '325.00 USD', '325.00 USD');

-- Required fields are required.
INSERT INTO billing.client (firm_id, client_code, name, entity_type, billing_currency)
VALUES (101, 'C-X', NULL, 'individual', 'USD');
INSERT INTO billing.client (firm_id, client_code, name, entity_type, billing_currency)
VALUES (101, 'C-X', '   ', 'individual', 'USD');
INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, amount)
VALUES (101, 701, 901, 301, 'time', 1002, '2026-11-02', 'No minutes', '0.00 USD');
INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, amount)
VALUES (101, 701, NULL, 301, 'time', 1002, '2026-11-02', 'No version', 60, 60, '0.00 USD');

-- Hours and money cannot be negative where that makes no sense.
INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, amount)
VALUES (101, 701, 901, 301, 'time', 1002, '2026-11-02', 'Negative time', -30, 0, '0.00 USD');
INSERT INTO billing.wip_entry (firm_id, engagement_id, engagement_version_id, work_item_id,
        kind, staff_id, worked_on, description, minutes, billable_minutes, amount)
VALUES (101, 701, 901, 301, 'time', 1002, '2026-11-02', 'Negative value', 30, 30, '-10.00 USD');
ALTER TABLE billing.wip_entry ENABLE TRIGGER wip_entry_resolve;
INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective)
VALUES (101, 41, 'staff', '-150.00 USD', '[2026-01-01,2027-01-01)');
INSERT INTO billing.payment (firm_id, client_id, received_on, amount, method)
VALUES (101, 501, '2026-11-20', '0.00 USD', 'check');
INSERT INTO billing.adjustment (firm_id, engagement_id, kind, amount, reason_code, requested_by)
VALUES (101, 701, 'write_down', '-5.00 USD', 'courtesy', 1002);

-- An exception needs one of the firm's reason codes, and whoever asked for
-- it cannot approve it.
INSERT INTO billing.adjustment (firm_id, engagement_id, kind, amount, reason_code, requested_by)
VALUES (101, 701, 'write_down', '5.00 USD', 'no_such_reason', 1002);
INSERT INTO billing.adjustment (firm_id, engagement_id, kind, amount, reason_code,
        requested_by, approved_by, approved_at)
VALUES (101, 701, 'write_down', '5.00 USD', 'courtesy', 1002, 1002, now());

-- Amounts of a version are in the version's currency.
INSERT INTO billing.engagement_version (firm_id, engagement_id, version_number, effective,
        currency, budget_cap, requested_by, change_reason)
VALUES (101, 701, 2, '[2027-01-01,)', 'USD', '5000.00 EUR', 1002, 'New cap');

-- Approved versions of one engagement never overlap; rates for one level
-- never overlap on one card.
INSERT INTO billing.engagement_version (firm_id, engagement_id, version_number, effective, state,
        currency, requested_by, approved_by, approved_at, change_reason)
VALUES (101, 701, 2, '[2026-06-01,)', 'approved', 'USD', 1002, 1001, now(), 'Scope change');
INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective) VALUES
    (101, 41, 'staff', '150.00 USD', '[2026-01-01,2027-01-01)');
INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective) VALUES
    (101, 41, 'staff', '160.00 USD', '[2026-07-01,2027-07-01)');
-- Back to back is fine.
INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective) VALUES
    (101, 41, 'staff', '160.00 USD', '[2027-01-01,2028-01-01)');

-- Invoice numbers are unique per series.
INSERT INTO billing.invoice_series (firm_id, invoice_series_id, code) VALUES (101, 51, 'INV');
INSERT INTO billing.invoice (firm_id, invoice_id, client_id, invoice_series_id, invoice_number,
        currency, prepared_by) VALUES
    (101, 1, 501, 51, 1, 'USD', 1002);
INSERT INTO billing.invoice (firm_id, invoice_id, client_id, invoice_series_id, invoice_number,
        currency, prepared_by) VALUES
    (101, 2, 501, 51, 1, 'USD', 1002);
-- A payment can only be allocated to an invoice of the same client.
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency)
VALUES (101, 502, 'C-502', 'Elm LLC', 'partnership', 'USD');
INSERT INTO billing.payment (firm_id, payment_id, client_id, received_on, amount, method)
VALUES (101, 1, 502, '2026-11-20', '100.00 USD', 'check');
INSERT INTO billing.payment_allocation (firm_id, client_id, payment_id, invoice_id, amount)
VALUES (101, 502, 1, 1, '100.00 USD');

-- Bad input fails with a clear error and leaves nothing half-written: the
-- whole statement (here, several rows) or transaction is undone.
SELECT count(*) AS clients_before FROM billing.client WHERE firm_id = 101;
INSERT INTO billing.client (firm_id, client_code, name, entity_type, billing_currency) VALUES
    (101, 'C-A', 'Fir Trust', 'trust', 'USD'),
    (101, 'C-B', 'Gum Estate', 'estate', 'XXZ');
INSERT INTO billing.engagement (firm_id, client_id, service_line_id, engagement_code, name,
        billing_model, currency, partner_id, starts_on)
VALUES (101, 501, 11, 'E-BAD', 'Bad date', 'hourly', 'USD', 1001, '2026-02-30');
BEGIN;
INSERT INTO billing.client (firm_id, client_id, client_code, name, entity_type, billing_currency)
VALUES (101, 503, 'C-503', 'Hazel Inc', 'corporation', 'USD');
INSERT INTO billing.work_item (firm_id, engagement_id, kind, name)
VALUES (101, 99999, 'return', 'Missing engagement');
COMMIT;
SELECT count(*) AS clients_after FROM billing.client WHERE firm_id = 101;
