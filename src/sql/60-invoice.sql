-- 60-invoice.sql: invoices, their lines, the WIP behind each line, and what
-- goes with an invoice (references, delivery reports).
--
-- An invoice line bundles and narrates WIP without losing the link to each
-- entry: invoice_line_wip keeps, per entry, its standard value and the amount
-- the line actually took from it, so "why this amount" is a join, and a
-- write-down shows as the difference between the two.

CREATE SEQUENCE billing.invoice_series_id_seq;

CREATE TABLE billing.invoice_series (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    invoice_series_id   bigint NOT NULL DEFAULT nextval('billing.invoice_series_id_seq'),
    code                text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9_-]*$'),
    prefix              text NOT NULL DEFAULT '',
    next_number         bigint NOT NULL DEFAULT 1 CHECK (next_number > 0),
    PRIMARY KEY (firm_id, invoice_series_id),
    UNIQUE (firm_id, code)
);
ALTER SEQUENCE billing.invoice_series_id_seq OWNED BY billing.invoice_series.invoice_series_id;

COMMENT ON TABLE billing.invoice_series IS
    'A numbering series for finalized invoices or credit notes; numbers are unique and gapless per series.';
COMMENT ON COLUMN billing.invoice_series.firm_id IS 'The firm whose series it is.';
COMMENT ON COLUMN billing.invoice_series.invoice_series_id IS 'Identifies the series.';
COMMENT ON COLUMN billing.invoice_series.code IS 'Short uppercase code, such as INV or CN.';
COMMENT ON COLUMN billing.invoice_series.prefix IS 'Text printed before the number, such as "2026-".';
COMMENT ON COLUMN billing.invoice_series.next_number IS 'The number the next finalized invoice of the series takes; it moves only when a finalization commits.';

CREATE SEQUENCE billing.invoice_id_seq;

CREATE TABLE billing.invoice (
    firm_id             bigint NOT NULL,
    invoice_id          bigint NOT NULL DEFAULT nextval('billing.invoice_id_seq'),
    client_id           bigint NOT NULL,
    kind                text NOT NULL DEFAULT 'invoice'
                        CHECK (kind IN ('invoice', 'credit_note', 'reissue')),
    corrects_invoice_id bigint,
    invoice_series_id   bigint NOT NULL,
    invoice_number      bigint CHECK (invoice_number > 0),
    currency            char(3) NOT NULL REFERENCES billing.currency,
    invoice_date        date,
    due_date            date,
    prepared_by         bigint NOT NULL,
    narrative           text,
    subtotal            billing.amount,
    tax_total           billing.amount,
    total               billing.amount,
    state               text NOT NULL DEFAULT 'draft',
    void_reason_code    text,
    void_reason         text,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, invoice_id),
    UNIQUE (firm_id, invoice_series_id, invoice_number),
    UNIQUE (firm_id, client_id, invoice_id),
    FOREIGN KEY (firm_id, client_id) REFERENCES billing.client (firm_id, client_id),
    FOREIGN KEY (firm_id, client_id, corrects_invoice_id)
        REFERENCES billing.invoice (firm_id, client_id, invoice_id),
    FOREIGN KEY (firm_id, invoice_series_id)
        REFERENCES billing.invoice_series (firm_id, invoice_series_id),
    FOREIGN KEY (firm_id, prepared_by) REFERENCES billing.staff (firm_id, staff_id),
    FOREIGN KEY (firm_id, void_reason_code) REFERENCES billing.reason_code (firm_id, reason_code),
    CONSTRAINT invoice_correction_names_what_it_corrects CHECK ((kind = 'invoice') = (corrects_invoice_id IS NULL)),
    CONSTRAINT invoice_due_date_not_before_invoice_date CHECK (due_date IS NULL OR invoice_date IS NULL OR due_date >= invoice_date),
    CONSTRAINT invoice_subtotal_in_its_currency CHECK (billing.currency_code(subtotal) IS NULL OR billing.currency_code(subtotal) = currency),
    CONSTRAINT invoice_tax_total_in_its_currency CHECK (billing.currency_code(tax_total) IS NULL OR billing.currency_code(tax_total) = currency),
    CONSTRAINT invoice_total_in_its_currency CHECK (billing.currency_code(total) IS NULL OR billing.currency_code(total) = currency),
    CONSTRAINT invoice_void_needs_a_reason_code CHECK (state <> 'void' OR void_reason_code IS NOT NULL)
);
ALTER SEQUENCE billing.invoice_id_seq OWNED BY billing.invoice.invoice_id;

COMMENT ON TABLE billing.invoice IS
    'An invoice or credit note to a client. Once finalized it has a number and its contents are frozen; corrections are credit notes or void-and-reissue.';
COMMENT ON COLUMN billing.invoice.firm_id IS 'The firm issuing the invoice.';
COMMENT ON COLUMN billing.invoice.invoice_id IS 'Identifies the invoice from its first draft on.';
COMMENT ON COLUMN billing.invoice.client_id IS 'The client billed.';
COMMENT ON COLUMN billing.invoice.kind IS 'invoice, credit_note (reduces what an earlier invoice asked) or reissue (replaces a voided invoice).';
COMMENT ON COLUMN billing.invoice.corrects_invoice_id IS 'The invoice a credit note or reissue corrects.';
COMMENT ON COLUMN billing.invoice.invoice_series_id IS 'The numbering series its number comes from.';
COMMENT ON COLUMN billing.invoice.invoice_number IS 'Number in the series, assigned at finalization; empty while a draft.';
COMMENT ON COLUMN billing.invoice.currency IS 'ISO 4217 code of every amount on the invoice.';
COMMENT ON COLUMN billing.invoice.invoice_date IS 'Date printed on the invoice, set at finalization.';
COMMENT ON COLUMN billing.invoice.due_date IS 'Date payment is due; AR aging counts from it.';
COMMENT ON COLUMN billing.invoice.prepared_by IS 'Who prepared the invoice; may not approve it.';
COMMENT ON COLUMN billing.invoice.narrative IS 'Text printed above the lines: what the invoice is for.';
COMMENT ON COLUMN billing.invoice.subtotal IS 'Sum of the lines before tax, fixed at finalization.';
COMMENT ON COLUMN billing.invoice.tax_total IS 'Sales tax or VAT on the invoice, fixed at finalization.';
COMMENT ON COLUMN billing.invoice.total IS 'What the client owes for this invoice, fixed at finalization.';
COMMENT ON COLUMN billing.invoice.state IS 'Workflow state: draft, in_review, approved, finalized, sent, partially_paid, paid, void.';
COMMENT ON COLUMN billing.invoice.void_reason_code IS 'Why it was voided, as a reason code; required to void.';
COMMENT ON COLUMN billing.invoice.void_reason IS 'Why it was voided, in words.';
COMMENT ON COLUMN billing.invoice.created_at IS 'When the draft was created.';

CREATE SEQUENCE billing.invoice_line_id_seq;

CREATE TABLE billing.invoice_line (
    firm_id             bigint NOT NULL,
    invoice_line_id     bigint NOT NULL DEFAULT nextval('billing.invoice_line_id_seq'),
    invoice_id          bigint NOT NULL,
    line_number         integer NOT NULL CHECK (line_number > 0),
    engagement_id       bigint NOT NULL,
    kind                text NOT NULL CHECK (kind IN
                            ('time', 'flat', 'expense', 'fixed_fee', 'milestone',
                             'recurring', 'retainer_draw', 'adjustment', 'tax')),
    description         text NOT NULL CHECK (btrim(description) <> ''),
    quantity            numeric(12,3),
    unit_price          billing.amount,
    amount              billing.amount NOT NULL,
    milestone_id        bigint,
    adjustment_id       bigint,
    PRIMARY KEY (firm_id, invoice_line_id),
    UNIQUE (firm_id, invoice_id, invoice_line_id),
    UNIQUE (firm_id, invoice_id, line_number),
    FOREIGN KEY (firm_id, invoice_id) REFERENCES billing.invoice (firm_id, invoice_id),
    FOREIGN KEY (firm_id, engagement_id) REFERENCES billing.engagement (firm_id, engagement_id),
    FOREIGN KEY (firm_id, engagement_id, milestone_id)
        REFERENCES billing.milestone (firm_id, engagement_id, milestone_id),
    FOREIGN KEY (firm_id, adjustment_id) REFERENCES billing.adjustment (firm_id, adjustment_id),
    CONSTRAINT invoice_line_milestone_is_named CHECK (kind <> 'milestone' OR milestone_id IS NOT NULL),
    CONSTRAINT invoice_line_adjustment_is_named CHECK (kind <> 'adjustment' OR adjustment_id IS NOT NULL)
);
ALTER SEQUENCE billing.invoice_line_id_seq OWNED BY billing.invoice_line.invoice_line_id;

COMMENT ON TABLE billing.invoice_line IS
    'A line of an invoice: bundled, narrated WIP, a fixed fee or milestone, a retainer draw, an adjustment or tax.';
COMMENT ON COLUMN billing.invoice_line.firm_id IS 'The firm of the invoice.';
COMMENT ON COLUMN billing.invoice_line.invoice_line_id IS 'Identifies the line.';
COMMENT ON COLUMN billing.invoice_line.invoice_id IS 'The invoice the line is on.';
COMMENT ON COLUMN billing.invoice_line.line_number IS 'Position of the line on the invoice.';
COMMENT ON COLUMN billing.invoice_line.engagement_id IS 'The engagement the line bills.';
COMMENT ON COLUMN billing.invoice_line.kind IS 'time, flat, expense, fixed_fee, milestone, recurring, retainer_draw, adjustment or tax.';
COMMENT ON COLUMN billing.invoice_line.description IS 'The narrative printed for the line.';
COMMENT ON COLUMN billing.invoice_line.quantity IS 'Hours or units shown on the line, when it shows any.';
COMMENT ON COLUMN billing.invoice_line.unit_price IS 'Price per hour or unit shown on the line, when it shows one.';
COMMENT ON COLUMN billing.invoice_line.amount IS 'What the line charges (negative for a discount, write-down line or credit).';
COMMENT ON COLUMN billing.invoice_line.milestone_id IS 'The milestone billed, for milestone lines.';
COMMENT ON COLUMN billing.invoice_line.adjustment_id IS 'The adjustment shown, for adjustment lines.';

CREATE TABLE billing.invoice_line_wip (
    firm_id             bigint NOT NULL,
    invoice_id          bigint NOT NULL,
    invoice_line_id     bigint NOT NULL,
    wip_entry_id        bigint NOT NULL,
    standard_amount     billing.amount NOT NULL CHECK (billing.minor_units(standard_amount) >= 0),
    billed_amount       billing.amount NOT NULL CHECK (billing.minor_units(billed_amount) >= 0),
    PRIMARY KEY (firm_id, invoice_line_id, wip_entry_id),
    FOREIGN KEY (firm_id, invoice_id, invoice_line_id)
        REFERENCES billing.invoice_line (firm_id, invoice_id, invoice_line_id),
    FOREIGN KEY (firm_id, wip_entry_id) REFERENCES billing.wip_entry (firm_id, wip_entry_id),
    CONSTRAINT invoice_line_wip_amounts_in_one_currency CHECK (billing.currency_code(standard_amount) = billing.currency_code(billed_amount))
);

COMMENT ON TABLE billing.invoice_line_wip IS
    'The WIP entries behind an invoice line, with what the line took from each: the answer to "why this amount".';
COMMENT ON COLUMN billing.invoice_line_wip.firm_id IS 'The firm of the invoice.';
COMMENT ON COLUMN billing.invoice_line_wip.invoice_id IS 'The invoice (kept here so the link is frozen with it).';
COMMENT ON COLUMN billing.invoice_line_wip.invoice_line_id IS 'The line billing the entry.';
COMMENT ON COLUMN billing.invoice_line_wip.wip_entry_id IS 'The WIP entry billed.';
COMMENT ON COLUMN billing.invoice_line_wip.standard_amount IS 'The entry''s standard value when it was billed.';
COMMENT ON COLUMN billing.invoice_line_wip.billed_amount IS 'What the line charged for it; below standard_amount after a write-down, above after a write-up.';

CREATE SEQUENCE billing.invoice_reference_id_seq;

CREATE TABLE billing.invoice_reference (
    firm_id             bigint NOT NULL,
    invoice_reference_id bigint NOT NULL DEFAULT nextval('billing.invoice_reference_id_seq'),
    invoice_id          bigint NOT NULL,
    kind                text NOT NULL CHECK (kind IN
                            ('engagement_letter', 'statement_of_work',
                             'deliverable_summary', 'attachment', 'other')),
    title               text NOT NULL CHECK (btrim(title) <> ''),
    location            text,
    content_sha256      bytea CHECK (octet_length(content_sha256) = 32),
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, invoice_reference_id),
    FOREIGN KEY (firm_id, invoice_id) REFERENCES billing.invoice (firm_id, invoice_id)
);
ALTER SEQUENCE billing.invoice_reference_id_seq OWNED BY billing.invoice_reference.invoice_reference_id;

COMMENT ON TABLE billing.invoice_reference IS
    'A document that goes with an invoice or supports it: engagement letter, statement of work, deliverable summary, attachment.';
COMMENT ON COLUMN billing.invoice_reference.firm_id IS 'The firm of the invoice.';
COMMENT ON COLUMN billing.invoice_reference.invoice_reference_id IS 'Identifies the reference.';
COMMENT ON COLUMN billing.invoice_reference.invoice_id IS 'The invoice it goes with.';
COMMENT ON COLUMN billing.invoice_reference.kind IS 'engagement_letter, statement_of_work, deliverable_summary, attachment or other.';
COMMENT ON COLUMN billing.invoice_reference.title IS 'Title as listed on the invoice.';
COMMENT ON COLUMN billing.invoice_reference.location IS 'Where the document is kept (a URL or a document-management reference).';
COMMENT ON COLUMN billing.invoice_reference.content_sha256 IS 'SHA-256 of the document''s bytes, so the document sent can be proven later.';
COMMENT ON COLUMN billing.invoice_reference.created_at IS 'When the reference was added.';

CREATE SEQUENCE billing.invoice_delivery_id_seq;

CREATE TABLE billing.invoice_delivery (
    firm_id             bigint NOT NULL,
    invoice_delivery_id bigint NOT NULL DEFAULT nextval('billing.invoice_delivery_id_seq'),
    invoice_id          bigint NOT NULL,
    status              text NOT NULL CHECK (status IN ('sent', 'delivered', 'bounced', 'viewed')),
    channel             text NOT NULL CHECK (channel IN ('email', 'portal', 'post', 'edi')),
    client_contact_id   bigint,
    reported_by         text NOT NULL,
    reported_at         timestamptz NOT NULL DEFAULT now(),
    detail              text,
    PRIMARY KEY (firm_id, invoice_delivery_id),
    FOREIGN KEY (firm_id, invoice_id) REFERENCES billing.invoice (firm_id, invoice_id),
    FOREIGN KEY (firm_id, client_contact_id)
        REFERENCES billing.client_contact (firm_id, client_contact_id)
);
ALTER SEQUENCE billing.invoice_delivery_id_seq OWNED BY billing.invoice_delivery.invoice_delivery_id;

COMMENT ON TABLE billing.invoice_delivery IS
    'What the system that sends invoices reported about one: sent, delivered, bounced, viewed. The latest report is the invoice''s delivery status.';
COMMENT ON COLUMN billing.invoice_delivery.firm_id IS 'The firm of the invoice.';
COMMENT ON COLUMN billing.invoice_delivery.invoice_delivery_id IS 'Identifies the report.';
COMMENT ON COLUMN billing.invoice_delivery.invoice_id IS 'The invoice reported on.';
COMMENT ON COLUMN billing.invoice_delivery.status IS 'sent, delivered, bounced or viewed.';
COMMENT ON COLUMN billing.invoice_delivery.channel IS 'How it went: email, portal, post, edi.';
COMMENT ON COLUMN billing.invoice_delivery.client_contact_id IS 'The contact it went to.';
COMMENT ON COLUMN billing.invoice_delivery.reported_by IS 'The system that reported it (mailer, portal).';
COMMENT ON COLUMN billing.invoice_delivery.reported_at IS 'When the event happened.';
COMMENT ON COLUMN billing.invoice_delivery.detail IS 'What the system said (a bounce message, say).';

ALTER TABLE billing.approval
    ADD FOREIGN KEY (firm_id, invoice_id) REFERENCES billing.invoice (firm_id, invoice_id);
