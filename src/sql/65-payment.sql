-- 65-payment.sql: money coming in and going back: bank deposits, payments,
-- their allocation to invoices, refunds, and retainer ledgers.
--
-- A payment is cash received; an allocation applies part of it to one
-- invoice.  What is not allocated is unapplied cash, a query rather than a
-- stored figure.  Deposits are what the bank statement shows; reconciling
-- means tying payments to them.

CREATE SEQUENCE billing.deposit_id_seq;

CREATE TABLE billing.deposit (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    deposit_id          bigint NOT NULL DEFAULT nextval('billing.deposit_id_seq'),
    bank_account        text NOT NULL CHECK (btrim(bank_account) <> ''),
    deposited_on        date NOT NULL,
    amount              billing.amount NOT NULL CHECK (billing.minor_units(amount) > 0),
    statement_reference text,
    PRIMARY KEY (firm_id, deposit_id)
);
ALTER SEQUENCE billing.deposit_id_seq OWNED BY billing.deposit.deposit_id;

COMMENT ON TABLE billing.deposit IS
    'A deposit as the bank statement shows it; payments are reconciled against deposits.';
COMMENT ON COLUMN billing.deposit.firm_id IS 'The firm whose bank account it is.';
COMMENT ON COLUMN billing.deposit.deposit_id IS 'Identifies the deposit.';
COMMENT ON COLUMN billing.deposit.bank_account IS 'The account it went into, as the firm names it.';
COMMENT ON COLUMN billing.deposit.deposited_on IS 'Date on the bank statement.';
COMMENT ON COLUMN billing.deposit.amount IS 'Amount on the bank statement.';
COMMENT ON COLUMN billing.deposit.statement_reference IS 'The bank''s reference for the deposit.';

CREATE SEQUENCE billing.payment_id_seq;

CREATE TABLE billing.payment (
    firm_id             bigint NOT NULL,
    payment_id          bigint NOT NULL DEFAULT nextval('billing.payment_id_seq'),
    client_id           bigint NOT NULL,
    received_on         date NOT NULL,
    amount              billing.amount NOT NULL CHECK (billing.minor_units(amount) > 0),
    method              text NOT NULL CHECK (method IN
                            ('bank_transfer', 'card', 'check', 'wire', 'cash',
                             'portal', 'direct_debit')),
    reference           text,
    deposit_id          bigint,
    state               text NOT NULL DEFAULT 'received',
    recorded_by         bigint,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, payment_id),
    UNIQUE (firm_id, client_id, payment_id),
    FOREIGN KEY (firm_id, client_id) REFERENCES billing.client (firm_id, client_id),
    FOREIGN KEY (firm_id, deposit_id) REFERENCES billing.deposit (firm_id, deposit_id),
    FOREIGN KEY (firm_id, recorded_by) REFERENCES billing.staff (firm_id, staff_id)
);
ALTER SEQUENCE billing.payment_id_seq OWNED BY billing.payment.payment_id;

COMMENT ON TABLE billing.payment IS
    'Cash received from a client. Allocations apply it to invoices; what is not allocated is unapplied cash.';
COMMENT ON COLUMN billing.payment.firm_id IS 'The firm paid.';
COMMENT ON COLUMN billing.payment.payment_id IS 'Identifies the payment.';
COMMENT ON COLUMN billing.payment.client_id IS 'The client who paid.';
COMMENT ON COLUMN billing.payment.received_on IS 'Date the money was received.';
COMMENT ON COLUMN billing.payment.amount IS 'Amount received.';
COMMENT ON COLUMN billing.payment.method IS 'bank_transfer, card, check, wire, cash, portal or direct_debit.';
COMMENT ON COLUMN billing.payment.reference IS 'The payer''s reference: a check number, a transfer reference.';
COMMENT ON COLUMN billing.payment.deposit_id IS 'The bank deposit it was reconciled to; empty until reconciled.';
COMMENT ON COLUMN billing.payment.state IS 'Workflow state: received, posted, reconciled, reversed. Frozen from posted on.';
COMMENT ON COLUMN billing.payment.recorded_by IS 'Who recorded the payment.';
COMMENT ON COLUMN billing.payment.created_at IS 'When it was recorded.';

CREATE SEQUENCE billing.payment_allocation_id_seq;

CREATE TABLE billing.payment_allocation (
    firm_id             bigint NOT NULL,
    payment_allocation_id bigint NOT NULL DEFAULT nextval('billing.payment_allocation_id_seq'),
    client_id           bigint NOT NULL,
    payment_id          bigint NOT NULL,
    invoice_id          bigint NOT NULL,
    amount              billing.amount NOT NULL CHECK (billing.minor_units(amount) > 0),
    allocated_at        timestamptz NOT NULL DEFAULT now(),
    allocated_by        bigint,
    PRIMARY KEY (firm_id, payment_allocation_id),
    FOREIGN KEY (firm_id, client_id, payment_id)
        REFERENCES billing.payment (firm_id, client_id, payment_id),
    FOREIGN KEY (firm_id, client_id, invoice_id)
        REFERENCES billing.invoice (firm_id, client_id, invoice_id),
    FOREIGN KEY (firm_id, allocated_by) REFERENCES billing.staff (firm_id, staff_id)
);
ALTER SEQUENCE billing.payment_allocation_id_seq OWNED BY billing.payment_allocation.payment_allocation_id;

COMMENT ON TABLE billing.payment_allocation IS
    'Part of a payment applied to one invoice of the same client. An invoice is never allocated more than it is owed.';
COMMENT ON COLUMN billing.payment_allocation.firm_id IS 'The firm paid.';
COMMENT ON COLUMN billing.payment_allocation.payment_allocation_id IS 'Identifies the allocation.';
COMMENT ON COLUMN billing.payment_allocation.client_id IS 'The client of both the payment and the invoice.';
COMMENT ON COLUMN billing.payment_allocation.payment_id IS 'The payment applied.';
COMMENT ON COLUMN billing.payment_allocation.invoice_id IS 'The invoice paid.';
COMMENT ON COLUMN billing.payment_allocation.amount IS 'How much of the payment goes to the invoice.';
COMMENT ON COLUMN billing.payment_allocation.allocated_at IS 'When it was applied.';
COMMENT ON COLUMN billing.payment_allocation.allocated_by IS 'Who applied it.';

CREATE SEQUENCE billing.refund_id_seq;

CREATE TABLE billing.refund (
    firm_id             bigint NOT NULL,
    refund_id           bigint NOT NULL DEFAULT nextval('billing.refund_id_seq'),
    client_id           bigint NOT NULL,
    payment_id          bigint,
    engagement_id       bigint,
    amount              billing.amount NOT NULL CHECK (billing.minor_units(amount) > 0),
    refunded_on         date NOT NULL,
    reason_code         text NOT NULL,
    reason              text,
    requested_by        bigint NOT NULL,
    approved_by         bigint,
    PRIMARY KEY (firm_id, refund_id),
    FOREIGN KEY (firm_id, client_id, payment_id)
        REFERENCES billing.payment (firm_id, client_id, payment_id),
    FOREIGN KEY (firm_id, client_id, engagement_id)
        REFERENCES billing.engagement (firm_id, client_id, engagement_id),
    FOREIGN KEY (firm_id, reason_code) REFERENCES billing.reason_code (firm_id, reason_code),
    FOREIGN KEY (firm_id, requested_by) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, approved_by) REFERENCES billing.staff (firm_id, staff_id),
    CONSTRAINT refund_of_a_payment_or_a_retainer CHECK (num_nonnulls(payment_id, engagement_id) = 1),
    CONSTRAINT refund_requester_cannot_approve CHECK (approved_by IS DISTINCT FROM requested_by)
);
ALTER SEQUENCE billing.refund_id_seq OWNED BY billing.refund.refund_id;

COMMENT ON TABLE billing.refund IS
    'Money returned to a client: unapplied cash from a payment, or the unused balance of a retainer.';
COMMENT ON COLUMN billing.refund.firm_id IS 'The firm refunding.';
COMMENT ON COLUMN billing.refund.refund_id IS 'Identifies the refund.';
COMMENT ON COLUMN billing.refund.client_id IS 'The client refunded.';
COMMENT ON COLUMN billing.refund.payment_id IS 'The payment whose unapplied cash is returned, for a payment refund.';
COMMENT ON COLUMN billing.refund.engagement_id IS 'The retainer engagement whose balance is returned, for a retainer refund.';
COMMENT ON COLUMN billing.refund.amount IS 'Amount returned.';
COMMENT ON COLUMN billing.refund.refunded_on IS 'Date the money left the firm.';
COMMENT ON COLUMN billing.refund.reason_code IS 'Why, as a reason code.';
COMMENT ON COLUMN billing.refund.reason IS 'Why, in words.';
COMMENT ON COLUMN billing.refund.requested_by IS 'Who asked for the refund.';
COMMENT ON COLUMN billing.refund.approved_by IS 'Who approved it; never the person who asked.';

ALTER TABLE billing.approval
    ADD FOREIGN KEY (firm_id, refund_id) REFERENCES billing.refund (firm_id, refund_id);

CREATE SEQUENCE billing.retainer_entry_id_seq;

CREATE TABLE billing.retainer_entry (
    firm_id             bigint NOT NULL,
    retainer_entry_id   bigint NOT NULL DEFAULT nextval('billing.retainer_entry_id_seq'),
    client_id           bigint NOT NULL,
    engagement_id       bigint NOT NULL,
    kind                text NOT NULL CHECK (kind IN ('deposit', 'draw', 'refund')),
    amount              billing.amount NOT NULL CHECK (billing.minor_units(amount) > 0),
    entry_date          date NOT NULL,
    payment_id          bigint,
    invoice_id          bigint,
    refund_id           bigint,
    note                text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, retainer_entry_id),
    FOREIGN KEY (firm_id, client_id, engagement_id)
        REFERENCES billing.engagement (firm_id, client_id, engagement_id),
    FOREIGN KEY (firm_id, client_id, payment_id)
        REFERENCES billing.payment (firm_id, client_id, payment_id),
    FOREIGN KEY (firm_id, client_id, invoice_id)
        REFERENCES billing.invoice (firm_id, client_id, invoice_id),
    FOREIGN KEY (firm_id, refund_id) REFERENCES billing.refund (firm_id, refund_id),
    CONSTRAINT retainer_deposit_names_its_payment CHECK (kind <> 'deposit' OR payment_id IS NOT NULL),
    CONSTRAINT retainer_draw_names_its_invoice CHECK (kind <> 'draw' OR invoice_id IS NOT NULL),
    CONSTRAINT retainer_refund_names_its_refund CHECK (kind <> 'refund' OR refund_id IS NOT NULL)
);
ALTER SEQUENCE billing.retainer_entry_id_seq OWNED BY billing.retainer_entry.retainer_entry_id;

COMMENT ON TABLE billing.retainer_entry IS
    'The retainer ledger of an engagement: deposits in, draws against invoices, refunds out. The balance is deposits less draws and refunds.';
COMMENT ON COLUMN billing.retainer_entry.firm_id IS 'The firm holding the retainer.';
COMMENT ON COLUMN billing.retainer_entry.retainer_entry_id IS 'Identifies the ledger entry.';
COMMENT ON COLUMN billing.retainer_entry.client_id IS 'The client whose money it is.';
COMMENT ON COLUMN billing.retainer_entry.engagement_id IS 'The retainer engagement.';
COMMENT ON COLUMN billing.retainer_entry.kind IS 'deposit, draw or refund.';
COMMENT ON COLUMN billing.retainer_entry.amount IS 'Amount of the entry, always positive; the kind says which way it goes.';
COMMENT ON COLUMN billing.retainer_entry.entry_date IS 'Date of the entry.';
COMMENT ON COLUMN billing.retainer_entry.payment_id IS 'The payment that funded a deposit.';
COMMENT ON COLUMN billing.retainer_entry.invoice_id IS 'The invoice a draw paid.';
COMMENT ON COLUMN billing.retainer_entry.refund_id IS 'The refund that returned the money.';
COMMENT ON COLUMN billing.retainer_entry.note IS 'Anything the billing admin wants to record.';
COMMENT ON COLUMN billing.retainer_entry.created_at IS 'When the entry was recorded.';
