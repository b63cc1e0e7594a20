-- 35-reason-code.sql: the reasons a firm accepts for exceptions.
--
-- Every write-down, write-up, discount, hold, write-off, void and change
-- order names one of these codes; free text alone is not enough, because
-- the exception rate by reason is what a firm measures and acts on.

CREATE TABLE billing.reason_code (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    reason_code         text NOT NULL CHECK (reason_code ~ '^[a-z][a-z0-9_]*$'),
    label               text NOT NULL CHECK (btrim(label) <> ''),
    applies_to          text[] NOT NULL CHECK (
                            cardinality(applies_to) > 0
                            AND applies_to <@ ARRAY['write_down', 'write_up', 'discount',
                                'write_off', 'hold', 'void', 'change_order',
                                'credit_note', 'refund', 'rerate']::text[]),
    active              boolean NOT NULL DEFAULT true,
    PRIMARY KEY (firm_id, reason_code)
);

COMMENT ON TABLE billing.reason_code IS
    'A reason the firm accepts for an exception (scope_creep, client_hold, rework, courtesy...), and the kinds of exception it may explain.';
COMMENT ON COLUMN billing.reason_code.firm_id IS 'The firm whose list this is.';
COMMENT ON COLUMN billing.reason_code.reason_code IS 'Short lowercase code, such as scope_creep or courtesy.';
COMMENT ON COLUMN billing.reason_code.label IS 'What the code means, as reviewers and reports show it.';
COMMENT ON COLUMN billing.reason_code.applies_to IS 'Kinds of exception the code may explain: write_down, write_up, discount, write_off, hold, void, change_order, credit_note, refund, rerate.';
COMMENT ON COLUMN billing.reason_code.active IS 'False for a code no longer offered; kept for the records that used it.';
