-- "Who changed rates, discounts, write-downs and terms this month, and why":
-- billing.terms_changes over the audit trail.
SET client_min_messages = warning;

INSERT INTO billing.firm (name, base_currency) VALUES ('Audit Terms Firm', 'USD')
RETURNING firm_id AS firm \gset
INSERT INTO billing.staff (firm_id, full_name, level, is_billing_admin)
VALUES (:firm, 'Ada Admin', 'admin', true) RETURNING staff_id AS admin \gset
INSERT INTO billing.staff (firm_id, full_name, level)
VALUES (:firm, 'Mo Manager', 'manager') RETURNING staff_id AS manager \gset
INSERT INTO billing.staff (firm_id, full_name, level)
VALUES (:firm, 'Pat Partner', 'partner') RETURNING staff_id AS partner \gset
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'tax', 'Tax')
RETURNING service_line_id AS line \gset
INSERT INTO billing.client (firm_id, client_code, name, entity_type, billing_currency)
VALUES (:firm, 'C-1', 'Cedar Holdings', 'corporation', 'USD') RETURNING client_id AS client \gset
INSERT INTO billing.engagement (firm_id, client_id, service_line_id, engagement_code,
        name, billing_model, currency, partner_id, starts_on)
VALUES (:firm, :client, :line, 'TAX-1', '2025 return', 'hourly', 'USD', :partner, '2026-01-01')
RETURNING engagement_id AS engagement \gset
INSERT INTO billing.reason_code (firm_id, reason_code, label, applies_to)
VALUES (:firm, 'courtesy', 'Courtesy discount', '{discount,write_down}'),
       (:firm, 'annual_review', 'Annual rate review', '{rerate}');
SELECT now() AS started \gset

-- A billing admin sets up a rate card and raises a rate, saying why.
BEGIN;
SET LOCAL billing.staff_id = :'admin';
INSERT INTO billing.rate_card (firm_id, name, currency) VALUES (:firm, 'Standard', 'USD')
RETURNING rate_card_id AS card \gset
INSERT INTO billing.rate (firm_id, rate_card_id, level, hourly_rate, effective)
VALUES (:firm, :card, 'manager', '300.00 USD', '[2026-01-01,2027-01-01)')
RETURNING rate_id AS rate \gset
COMMIT;
BEGIN;
SET LOCAL billing.staff_id = :'admin';
SET LOCAL billing.reason_code = 'annual_review';
SET LOCAL billing.reason = 'Market rates went up';
UPDATE billing.rate SET hourly_rate = '325.00 USD' WHERE firm_id = :firm AND rate_id = :rate;
COMMIT;
-- A manager gives a courtesy discount; its reason is on the row itself.
BEGIN;
SET LOCAL billing.staff_id = :'manager';
INSERT INTO billing.adjustment (firm_id, engagement_id, kind, amount, reason_code, reason, requested_by)
VALUES (:firm, :engagement, 'discount', '150.00 USD', 'courtesy', 'Long-standing client', :manager);
COMMIT;
-- Other changes are not terms.
UPDATE billing.client SET name = 'Cedar Holdings Inc.' WHERE firm_id = :firm;

SELECT row_number() OVER (ORDER BY seq) AS n, table_name, operation, old_values, new_values,
       row_now ->> 'kind' AS kind, row_now ->> 'amount' AS amount,
       row_now ->> 'hourly_rate' AS rate_now, staff_name, reason_code, reason
  FROM billing.terms_changes(:'started', now() + interval '1 minute', :firm);
SELECT count(*) AS outside_the_period
  FROM billing.terms_changes(:'started'::timestamptz - interval '1 day', :'started', :firm);
