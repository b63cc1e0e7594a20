-- 30-client.sql: clients and the people at them.

CREATE SEQUENCE billing.client_id_seq;

CREATE TABLE billing.client (
    firm_id             bigint NOT NULL REFERENCES billing.firm,
    client_id           bigint NOT NULL DEFAULT nextval('billing.client_id_seq'),
    client_code         text NOT NULL CHECK (btrim(client_code) <> ''),
    name                text NOT NULL CHECK (btrim(name) <> ''),
    entity_type         text NOT NULL CHECK (entity_type IN
                            ('individual', 'partnership', 'corporation',
                             's_corporation', 'trust', 'estate', 'nonprofit',
                             'government', 'other')),
    parent_client_id    bigint,
    billing_currency    char(3) NOT NULL REFERENCES billing.currency,
    payment_method      text NOT NULL DEFAULT 'bank_transfer' CHECK (payment_method IN
                            ('bank_transfer', 'card', 'check', 'wire', 'portal', 'direct_debit')),
    payment_terms_days  integer NOT NULL DEFAULT 30 CHECK (payment_terms_days BETWEEN 0 AND 365),
    billing_address     text,
    active              boolean NOT NULL DEFAULT true,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id, client_id),
    UNIQUE (firm_id, client_code),
    FOREIGN KEY (firm_id, parent_client_id) REFERENCES billing.client (firm_id, client_id),
    CONSTRAINT client_is_not_its_own_parent CHECK (parent_client_id IS DISTINCT FROM client_id)
);
ALTER SEQUENCE billing.client_id_seq OWNED BY billing.client.client_id;

COMMENT ON TABLE billing.client IS
    'A client of the firm: a person or an entity that engagements are for and invoices go to.';
COMMENT ON COLUMN billing.client.firm_id IS 'The firm whose client this is.';
COMMENT ON COLUMN billing.client.client_id IS 'Identifies the client.';
COMMENT ON COLUMN billing.client.client_code IS 'The firm''s own code for the client, unique in the firm.';
COMMENT ON COLUMN billing.client.name IS 'Name as printed on invoices.';
COMMENT ON COLUMN billing.client.entity_type IS 'Kind of entity: individual, partnership, corporation, s_corporation, trust, estate, nonprofit, government, other.';
COMMENT ON COLUMN billing.client.parent_client_id IS 'The client group this client belongs to, if any (a family office, a parent company).';
COMMENT ON COLUMN billing.client.billing_currency IS 'ISO 4217 code of the currency the client is invoiced in.';
COMMENT ON COLUMN billing.client.payment_method IS 'How the client prefers to pay: bank_transfer, card, check, wire, portal, direct_debit.';
COMMENT ON COLUMN billing.client.payment_terms_days IS 'Default days from invoice date to due date, unless the engagement''s terms say otherwise.';
COMMENT ON COLUMN billing.client.billing_address IS 'Postal address printed on invoices.';
COMMENT ON COLUMN billing.client.active IS 'False once the firm no longer serves the client; kept for history.';
COMMENT ON COLUMN billing.client.created_at IS 'When the client was created in billing.';

CREATE SEQUENCE billing.client_contact_id_seq;

CREATE TABLE billing.client_contact (
    firm_id             bigint NOT NULL,
    client_contact_id   bigint NOT NULL DEFAULT nextval('billing.client_contact_id_seq'),
    client_id           bigint NOT NULL,
    full_name           text NOT NULL CHECK (btrim(full_name) <> ''),
    email               text CHECK (email ~ '^[^@[:space:]]+@[^@[:space:]]+$'),
    phone               text,
    is_billing_contact  boolean NOT NULL DEFAULT false,
    receives_invoices   boolean NOT NULL DEFAULT false,
    role_name           name,
    PRIMARY KEY (firm_id, client_contact_id),
    UNIQUE (firm_id, client_id, client_contact_id),
    UNIQUE (firm_id, role_name),
    FOREIGN KEY (firm_id, client_id) REFERENCES billing.client (firm_id, client_id)
);
ALTER SEQUENCE billing.client_contact_id_seq OWNED BY billing.client_contact.client_contact_id;

COMMENT ON TABLE billing.client_contact IS
    'A person at a client: who signs, who receives invoices, who may log in to see them.';
COMMENT ON COLUMN billing.client_contact.firm_id IS 'The firm whose client this contact belongs to.';
COMMENT ON COLUMN billing.client_contact.client_contact_id IS 'Identifies the contact.';
COMMENT ON COLUMN billing.client_contact.client_id IS 'The client the contact works for.';
COMMENT ON COLUMN billing.client_contact.full_name IS 'The contact''s name.';
COMMENT ON COLUMN billing.client_contact.email IS 'E-mail address invoices and statements are sent to.';
COMMENT ON COLUMN billing.client_contact.phone IS 'Telephone number.';
COMMENT ON COLUMN billing.client_contact.is_billing_contact IS 'True for the person who deals with the firm about invoices and payments.';
COMMENT ON COLUMN billing.client_contact.receives_invoices IS 'True when invoices are delivered to this contact.';
COMMENT ON COLUMN billing.client_contact.role_name IS 'The database role a client-portal user logs in as; such a user sees only this client''s invoices.';
