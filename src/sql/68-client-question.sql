-- 68-client-question.sql: questions clients ask about their invoices.
--
-- A question keeps its context (the invoice and line it is about) and its
-- routing (who inside the firm must answer), so question volume per invoice
-- is a query and nobody answers without seeing what the client saw.

CREATE SEQUENCE billing.client_question_id_seq;

CREATE TABLE billing.client_question (
    firm_id             bigint NOT NULL,
    client_question_id  bigint NOT NULL DEFAULT nextval('billing.client_question_id_seq'),
    client_id           bigint NOT NULL,
    invoice_id          bigint,
    invoice_line_id     bigint,
    asked_by            bigint,
    asked_at            timestamptz NOT NULL DEFAULT now(),
    question            text NOT NULL CHECK (btrim(question) <> ''),
    routed_to           bigint,
    answer              text,
    answered_by         bigint,
    answered_at         timestamptz,
    state               text NOT NULL DEFAULT 'open',
    PRIMARY KEY (firm_id, client_question_id),
    FOREIGN KEY (firm_id, client_id) REFERENCES billing.client (firm_id, client_id),
    FOREIGN KEY (firm_id, client_id, invoice_id)
        REFERENCES billing.invoice (firm_id, client_id, invoice_id),
    FOREIGN KEY (firm_id, invoice_id, invoice_line_id)
        REFERENCES billing.invoice_line (firm_id, invoice_id, invoice_line_id),
    FOREIGN KEY (firm_id, client_id, asked_by)
        REFERENCES billing.client_contact (firm_id, client_id, client_contact_id),
    FOREIGN KEY (firm_id, routed_to) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, answered_by) REFERENCES billing.staff (firm_id, staff_id),
    CONSTRAINT client_question_line_needs_its_invoice CHECK (invoice_line_id IS NULL OR invoice_id IS NOT NULL),
    CONSTRAINT client_question_answer_has_an_author CHECK ((answer IS NULL) = (answered_by IS NULL))
);
ALTER SEQUENCE billing.client_question_id_seq OWNED BY billing.client_question.client_question_id;

COMMENT ON TABLE billing.client_question IS
    'A question a client asked about an invoice, routed inside the firm with its context, and its answer.';
COMMENT ON COLUMN billing.client_question.firm_id IS 'The firm asked.';
COMMENT ON COLUMN billing.client_question.client_question_id IS 'Identifies the question.';
COMMENT ON COLUMN billing.client_question.client_id IS 'The client asking.';
COMMENT ON COLUMN billing.client_question.invoice_id IS 'The invoice the question is about, if one.';
COMMENT ON COLUMN billing.client_question.invoice_line_id IS 'The line the question is about, if one.';
COMMENT ON COLUMN billing.client_question.asked_by IS 'The client contact who asked.';
COMMENT ON COLUMN billing.client_question.asked_at IS 'When it was asked.';
COMMENT ON COLUMN billing.client_question.question IS 'The question, as the client put it.';
COMMENT ON COLUMN billing.client_question.routed_to IS 'The staff member who must answer.';
COMMENT ON COLUMN billing.client_question.answer IS 'The firm''s answer.';
COMMENT ON COLUMN billing.client_question.answered_by IS 'Who answered.';
COMMENT ON COLUMN billing.client_question.answered_at IS 'When it was answered.';
COMMENT ON COLUMN billing.client_question.state IS 'Workflow state: open, routed, answered, closed.';
