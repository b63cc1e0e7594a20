-- 20-firm.sql: firms (the tenants), their staff, and service lines.
--
-- Every table that holds a firm's data leads with firm_id, and every primary
-- key, unique key and foreign key among such tables includes it.  That one
-- rule is what lets row-level security isolate a firm, lets Citus shard all
-- of these tables by firm_id and keep each firm on one node, and makes it
-- impossible for a row of one firm to point at a row of another.

CREATE SEQUENCE billing.firm_id_seq;

CREATE TABLE billing.firm (
    firm_id         bigint NOT NULL DEFAULT nextval('billing.firm_id_seq'),
    name            text NOT NULL CHECK (btrim(name) <> ''),
    legal_name      text,
    base_currency   char(3) NOT NULL REFERENCES billing.currency,
    time_zone       text NOT NULL DEFAULT 'UTC',
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (firm_id)
);
ALTER SEQUENCE billing.firm_id_seq OWNED BY billing.firm.firm_id;

COMMENT ON TABLE billing.firm IS
    'A firm using billing: the tenant. Every other table of a firm''s data carries its firm_id.';
COMMENT ON COLUMN billing.firm.firm_id IS 'The tenant key; leads every key of every firm-owned table.';
COMMENT ON COLUMN billing.firm.name IS 'The name the firm is known by.';
COMMENT ON COLUMN billing.firm.legal_name IS 'The legal name printed on invoices, when it differs from name.';
COMMENT ON COLUMN billing.firm.base_currency IS 'ISO 4217 code of the currency the firm reports in.';
COMMENT ON COLUMN billing.firm.time_zone IS 'Time zone whose calendar decides dates such as "work done on" and "invoice date".';
COMMENT ON COLUMN billing.firm.created_at IS 'When the firm was created in billing.';

-- Staff levels are an ordered list the whole product relies on (approval
-- thresholds, default rates, who may approve), so they are a type, not data.
CREATE TYPE billing.staff_level AS ENUM
    ('admin', 'staff', 'senior', 'manager', 'partner');
COMMENT ON TYPE billing.staff_level IS
    'Seniority of a staff member, lowest first: admin (billing administration), staff, senior, manager, partner.';

CREATE SEQUENCE billing.staff_id_seq;

CREATE TABLE billing.staff (
    firm_id         bigint NOT NULL REFERENCES billing.firm,
    staff_id        bigint NOT NULL DEFAULT nextval('billing.staff_id_seq'),
    full_name       text NOT NULL CHECK (btrim(full_name) <> ''),
    email           text,
    level           billing.staff_level NOT NULL,
    is_billing_admin boolean NOT NULL DEFAULT false,
    role_name       name,
    active          boolean NOT NULL DEFAULT true,
    PRIMARY KEY (firm_id, staff_id),
    UNIQUE (firm_id, role_name)
);
ALTER SEQUENCE billing.staff_id_seq OWNED BY billing.staff.staff_id;

COMMENT ON TABLE billing.staff IS
    'People of a firm: partners, managers, seniors, staff and billing admins, and the database role each acts as.';
COMMENT ON COLUMN billing.staff.firm_id IS 'The firm the person works for.';
COMMENT ON COLUMN billing.staff.staff_id IS 'Identifies the person.';
COMMENT ON COLUMN billing.staff.full_name IS 'Name as shown on time reports and approvals.';
COMMENT ON COLUMN billing.staff.email IS 'Work e-mail address.';
COMMENT ON COLUMN billing.staff.level IS 'Seniority; drives default rates, approval thresholds and who may approve what.';
COMMENT ON COLUMN billing.staff.is_billing_admin IS 'True for people allowed to change rates, rate cards and billing set-up.';
COMMENT ON COLUMN billing.staff.role_name IS 'The database role this person logs in as; billing resolves the acting staff member from it.';
COMMENT ON COLUMN billing.staff.active IS 'False once the person has left; kept for history.';

CREATE SEQUENCE billing.service_line_id_seq;

CREATE TABLE billing.service_line (
    firm_id         bigint NOT NULL REFERENCES billing.firm,
    service_line_id bigint NOT NULL DEFAULT nextval('billing.service_line_id_seq'),
    code            text NOT NULL CHECK (code ~ '^[a-z][a-z0-9_]*$'),
    name            text NOT NULL CHECK (btrim(name) <> ''),
    PRIMARY KEY (firm_id, service_line_id),
    UNIQUE (firm_id, code)
);
ALTER SEQUENCE billing.service_line_id_seq OWNED BY billing.service_line.service_line_id;

COMMENT ON TABLE billing.service_line IS
    'A line of service the firm sells: tax, audit, advisory, bookkeeping, payroll.';
COMMENT ON COLUMN billing.service_line.firm_id IS 'The firm offering the service line.';
COMMENT ON COLUMN billing.service_line.service_line_id IS 'Identifies the service line.';
COMMENT ON COLUMN billing.service_line.code IS 'Short lowercase code, unique in the firm (tax, audit, ...).';
COMMENT ON COLUMN billing.service_line.name IS 'Name shown on reports.';
