-- The audit trail: what it records, who and why, rollbacks, history,
-- verification, and attaching it to tables.  Tampering and denied writes
-- are in audit_tamper.sql.
SET client_min_messages = warning;

CREATE ROLE regress_audit_clerk;
GRANT USAGE ON SCHEMA billing TO regress_audit_clerk;
GRANT SELECT, INSERT, UPDATE, DELETE ON billing.service_line TO regress_audit_clerk;
GRANT USAGE ON SEQUENCE billing.service_line_id_seq TO regress_audit_clerk;

INSERT INTO billing.firm (name, base_currency) VALUES ('Audit Test One', 'EUR')
RETURNING firm_id AS firm \gset
INSERT INTO billing.firm (name, base_currency) VALUES ('Audit Test Two', 'USD')
RETURNING firm_id AS firm2 \gset
INSERT INTO billing.staff (firm_id, full_name, level, role_name)
VALUES (:firm, 'Clara Clerk', 'staff', 'regress_audit_clerk')
RETURNING staff_id AS clerk \gset
INSERT INTO billing.staff (firm_id, full_name, level, is_billing_admin)
VALUES (:firm, 'Paula Partner', 'partner', true)
RETURNING staff_id AS partner \gset

-- Every table of the extension with firm_id is under audit, except the log.
SELECT c.oid::regclass AS not_audited
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
 WHERE c.relnamespace = 'billing'::regnamespace AND c.relkind IN ('r', 'p')
   AND a.attname = 'firm_id' AND NOT a.attisdropped
   AND NOT EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid = c.oid
                      AND t.tgfoid = 'billing.audit_trigger'::regproc)
 ORDER BY 1::text;
SELECT count(*) >= 3 AS several_audited
  FROM pg_trigger WHERE tgfoid = 'billing.audit_trigger'::regproc;

-- An INSERT records the key and a digest of the row, not the row.
INSERT INTO billing.service_line (firm_id, code, name)
VALUES (:firm, 'tax', 'Tax') RETURNING service_line_id AS tax \gset
SELECT seq, table_name, operation, row_key = format('(%s,%s)', :firm, :tax) AS key_ok,
       octet_length(row_digest) AS digest_bytes, old_values, new_values,
       session_user_name, current_role_name, staff_id, application_name,
       reason_code, reason, prev_hash IS NOT NULL AS linked
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq;

-- The digest is that of the row as stored.
SELECT billing.audit_row_digest(s) = (SELECT row_digest FROM billing.audit_log
                                       WHERE firm_id = :firm ORDER BY seq DESC LIMIT 1) AS digest_matches
  FROM billing.service_line s WHERE firm_id = :firm AND service_line_id = :tax;

-- An UPDATE records only the changed columns, with who and why.
BEGIN;
SET LOCAL billing.staff_id = :'partner';
SET LOCAL billing.reason_code = 'rename';
SET LOCAL billing.reason = 'Client asked for the full name on invoices';
SET LOCAL application_name = 'practice-app';
UPDATE billing.service_line SET name = 'Tax compliance', code = 'tax'
 WHERE firm_id = :firm AND service_line_id = :tax;
COMMIT;
SELECT seq, operation, old_values, new_values, staff_id = :partner AS staff_ok,
       application_name, reason_code, reason
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq DESC LIMIT 1;

-- An UPDATE that changes nothing is still a change that happened.
UPDATE billing.service_line SET name = name WHERE firm_id = :firm AND service_line_id = :tax;
SELECT seq, operation, old_values, new_values
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq DESC LIMIT 1;

-- Without billing.staff_id the staff member is the one mapped to the role.
SET ROLE regress_audit_clerk;
INSERT INTO billing.service_line (firm_id, code, name)
VALUES (:firm, 'payroll', 'Payroll') RETURNING service_line_id AS payroll \gset
-- A DELETE keeps the whole old row.
DELETE FROM billing.service_line WHERE firm_id = :firm AND service_line_id = :payroll;
RESET ROLE;
SELECT seq, operation, session_user_name, current_role_name,
       staff_id = :clerk AS staff_ok, row_digest IS NULL AS no_digest,
       old_values - 'service_line_id' - 'firm_id' AS old_values,
       old_values ->> 'service_line_id' = :'payroll' AS id_kept
  FROM billing.audit_log WHERE firm_id = :firm AND seq >= 5 ORDER BY seq;

-- billing.staff_id must be a staff id.
BEGIN;
SET LOCAL billing.staff_id = 'Paula';
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'x', 'X');
ROLLBACK;

-- Nothing reaches the log from a transaction or subtransaction that rolls
-- back; what the transaction keeps is recorded in order.
SELECT max(seq) AS before FROM billing.audit_log WHERE firm_id = :firm \gset
BEGIN;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'gone', 'Rolled back');
ROLLBACK;
BEGIN;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'audit', 'Audit');
SAVEPOINT s1;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'gone1', 'Rolled back');
SAVEPOINT s2;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'gone2', 'Rolled back');
RELEASE SAVEPOINT s2;
ROLLBACK TO SAVEPOINT s1;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'advisory', 'Advisory');
-- A firm of its own gets a chain of its own, in the same transaction.
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm2, 'tax', 'Tax');
DO $$ BEGIN
    INSERT INTO billing.service_line (firm_id, code, name)
    VALUES (currval('billing.firm_id_seq'), 'gone3', 'Rolled back');
    RAISE EXCEPTION 'undo';
EXCEPTION WHEN raise_exception THEN NULL;
END $$;
COMMIT;
SELECT seq - :before AS n, operation, new_values, l.row_key = format('(%s,%s)', :firm, s.service_line_id) AS key_ok, s.code
  FROM billing.audit_log l
  LEFT JOIN billing.service_line s ON s.firm_id = l.firm_id
       AND l.row_key = format('(%s,%s)', s.firm_id, s.service_line_id)
 WHERE l.firm_id = :firm AND seq > :before ORDER BY seq;
SELECT seq, table_name, operation FROM billing.audit_log WHERE firm_id = :firm2 ORDER BY seq;

-- History of one row, oldest first.
SELECT seq, operation, old_values, new_values
  FROM billing.history('billing.service_line', :firm, :tax);
SELECT count(*) AS same_by_literal
  FROM billing.history('billing.service_line', format('(%s,%s)', :firm, :tax));

-- The rows one statement inserts into a table are sealed as one record
-- that holds each row's key and digest in order; billing.audit_change and
-- billing.history show one row per inserted row.
INSERT INTO billing.service_line (firm_id, code, name)
VALUES (:firm, 'bulk1', 'Bulk 1'), (:firm, 'bulk2', 'Bulk 2'), (:firm, 'bulk3', 'Bulk 3');
SELECT operation, row_key, row_digest, cardinality(row_keys) AS keys,
       cardinality(row_digests) AS digests, old_values, new_values
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq DESC LIMIT 1;
SELECT c.item, c.operation, s.code,
       c.row_digest = billing.audit_row_digest(s) AS digest_matches
  FROM billing.audit_change c
  JOIN billing.service_line s ON c.row_key = format('(%s,%s)', s.firm_id, s.service_line_id)
 WHERE c.firm_id = :firm AND c.seq = (SELECT max(seq) FROM billing.audit_log WHERE firm_id = :firm)
 ORDER BY c.item;
SELECT service_line_id AS bulk2 FROM billing.service_line WHERE firm_id = :firm AND code = 'bulk2' \gset
UPDATE billing.service_line SET name = 'Bulk two' WHERE firm_id = :firm AND service_line_id = :bulk2;
SELECT item, operation, new_values
  FROM billing.history('billing.service_line', :firm, :bulk2);
-- A second statement, or a change of who or why, starts a new record.
BEGIN;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'bulk4', 'Bulk 4');
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'bulk5', 'Bulk 5');
COMMIT;
SELECT operation, row_key IS NOT NULL AS one_row, row_keys
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq DESC LIMIT 2;
-- A bulk insert of 2,500 rows is three records of at most 1,000 rows.
INSERT INTO billing.service_line (firm_id, code, name)
SELECT :firm, 'many' || g, 'Many ' || g FROM generate_series(1, 2500) g;
SELECT seq - max(seq) OVER () + 3 AS n, cardinality(row_keys) AS rows_in_record
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq DESC LIMIT 3;
SELECT count(*) AS changes, count(DISTINCT row_key) AS keys
  FROM billing.audit_change c
 WHERE firm_id = :firm AND seq > (SELECT max(seq) - 3 FROM billing.audit_log WHERE firm_id = :firm);
DELETE FROM billing.service_line WHERE firm_id = :firm AND code LIKE 'many%';

-- Both chains verify, and the anchor is the last record.
SELECT valid, records_checked, failed_seq, problem, last_seq
  FROM billing.verify_audit(:firm);
SELECT valid, records_checked FROM billing.verify_audit(:firm2);
SELECT a.seq = v.last_seq AS anchor_is_last, a.hash = v.last_hash AS same_hash,
       (SELECT valid FROM billing.verify_audit(:firm, a.seq, a.hash)) AS verifies_with_anchor
  FROM billing.audit_anchor(:firm) a, billing.verify_audit(:firm) v;
SELECT * FROM billing.audit_anchor(-1);
SELECT valid, records_checked FROM billing.verify_audit(-1);
SELECT * FROM billing.verify_audit(:firm, 3, NULL);
SELECT * FROM billing.verify_audit(:firm, 3, '\x00');
SELECT * FROM billing.verify_audit(:firm, -5, sha256('x'));
-- The anchor of an empty chain vouches for nothing.
SELECT valid, records_checked FROM billing.verify_audit(-1, 0, NULL);

-- The hash is SHA-256 over the canonical form doc/audit.md gives; here it
-- is again in plain SQL.
CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql
    AS $$ SELECT coalesce(int4send(length($1)) || $1, '\xffffffff'::bytea) $$;
CREATE FUNCTION pg_temp.canonical(l billing.audit_log) RETURNS bytea
    LANGUAGE sql AS $$ SELECT
    pg_temp.field(convert_to($1.firm_id::text, 'UTF8')) ||
    pg_temp.field(convert_to($1.seq::text, 'UTF8')) ||
    pg_temp.field(convert_to($1.lane::text, 'UTF8')) ||
    pg_temp.field(convert_to($1.table_name, 'UTF8')) ||
    pg_temp.field(convert_to($1.operation, 'UTF8')) ||
    pg_temp.field(convert_to($1.row_key, 'UTF8')) ||
    pg_temp.field($1.row_digest) ||
    pg_temp.field((SELECT string_agg(pg_temp.field(convert_to(k, 'UTF8')), '' ORDER BY o)
                     FROM unnest($1.row_keys) WITH ORDINALITY u(k, o))) ||
    pg_temp.field((SELECT string_agg(pg_temp.field(d), '' ORDER BY o)
                     FROM unnest($1.row_digests) WITH ORDINALITY u(d, o))) ||
    pg_temp.field(convert_to($1.old_values::text, 'UTF8')) ||
    pg_temp.field(convert_to($1.new_values::text, 'UTF8')) ||
    pg_temp.field(convert_to($1.transaction_id::text, 'UTF8')) ||
    pg_temp.field(convert_to((extract(epoch FROM $1.statement_time) * 1000000)::bigint::text, 'UTF8')) ||
    pg_temp.field(convert_to($1.session_user_name, 'UTF8')) ||
    pg_temp.field(convert_to($1.current_role_name, 'UTF8')) ||
    pg_temp.field(convert_to($1.staff_id::text, 'UTF8')) ||
    pg_temp.field(convert_to($1.application_name, 'UTF8')) ||
    pg_temp.field(convert_to($1.reason_code, 'UTF8')) ||
    pg_temp.field(convert_to($1.reason, 'UTF8')) ||
    pg_temp.field($1.prev_hash) $$;
SELECT count(*) AS records,
       count(*) FILTER (WHERE l.hash = sha256(pg_temp.canonical(l))) AS recomputed_in_sql
  FROM billing.audit_log l WHERE l.firm_id = :firm;

-- Attaching the trail to a table of one's own.
CREATE TABLE public.audit_note (
    firm_id bigint NOT NULL,
    note_id int NOT NULL,
    label text,
    at timestamptz,
    PRIMARY KEY (firm_id, note_id, label)
);
SELECT billing.audit_table('public.audit_note');
SELECT billing.audit_table('public.audit_note');
INSERT INTO public.audit_note VALUES (:firm, 1, 'a "quoted", label', '2026-01-02 03:04:05+00');
SELECT table_name, operation, row_key = format('(%s,1,"a ""quoted"", label")', :firm) AS key_ok
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq DESC LIMIT 1;
SELECT billing.audit_row_digest(n) = (SELECT row_digest FROM billing.audit_log WHERE firm_id = :firm
                                       ORDER BY seq DESC LIMIT 1) AS digest_matches
  FROM public.audit_note n;
-- The digest does not depend on the session's settings.
SET TimeZone = 'Pacific/Auckland';
SET DateStyle = 'SQL, DMY';
SELECT billing.audit_row_digest(n) = (SELECT row_digest FROM billing.audit_log WHERE firm_id = :firm
                                       ORDER BY seq DESC LIMIT 1) AS digest_still_matches
  FROM public.audit_note n;
RESET TimeZone;
RESET DateStyle;

-- Only tables with a firm_id bigint column can be audited.
CREATE TABLE public.audit_no_firm (id int PRIMARY KEY);
SELECT billing.audit_table('public.audit_no_firm');
SELECT billing.audit_table('billing.audit_log');
CREATE VIEW public.audit_view AS SELECT 1 AS firm_id;
SELECT billing.audit_table('public.audit_view');
-- The trigger checks too, when attached by hand.
CREATE TRIGGER by_hand AFTER INSERT ON public.audit_no_firm
    FOR EACH ROW EXECUTE FUNCTION billing.audit_trigger();
INSERT INTO public.audit_no_firm VALUES (1);

-- A null firm_id cannot be placed in a chain.
CREATE TABLE public.audit_nullable (firm_id bigint, v int);
SELECT billing.audit_table('public.audit_nullable');
INSERT INTO public.audit_nullable VALUES (NULL, 1);
-- A table without a primary key is audited with a null key.
INSERT INTO public.audit_nullable VALUES (:firm, 1);
SELECT table_name, row_key IS NULL AS no_key, row_digest IS NOT NULL AS sealed
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq DESC LIMIT 1;
-- Rows without a key inserted together are one record with null keys.
INSERT INTO public.audit_nullable VALUES (:firm, 2), (:firm, 3);
SELECT row_keys, cardinality(row_digests) AS digests
  FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq DESC LIMIT 1;
SELECT item, row_key IS NULL AS no_key, row_digest IS NOT NULL AS sealed
  FROM billing.audit_change
 WHERE firm_id = :firm AND seq = (SELECT max(seq) FROM billing.audit_log WHERE firm_id = :firm)
 ORDER BY item;

-- The trigger checks how it is fired.
CREATE TABLE public.audit_misuse (firm_id bigint NOT NULL);
CREATE TRIGGER early BEFORE INSERT ON public.audit_misuse
    FOR EACH ROW EXECUTE FUNCTION billing.audit_trigger();
INSERT INTO public.audit_misuse VALUES (:firm);
DROP TRIGGER early ON public.audit_misuse;
CREATE TRIGGER per_statement AFTER INSERT ON public.audit_misuse
    FOR EACH STATEMENT EXECUTE FUNCTION billing.audit_trigger();
INSERT INTO public.audit_misuse VALUES (:firm);
DROP TRIGGER per_statement ON public.audit_misuse;
CREATE TRIGGER guard_misused AFTER INSERT ON public.audit_misuse
    FOR EACH ROW EXECUTE FUNCTION billing.audit_log_guard();
INSERT INTO public.audit_misuse VALUES (:firm);

SELECT valid, problem FROM billing.verify_audit(:firm);

-- The staff member found for a role is remembered from one transaction to
-- the next, and forgotten as soon as staff change: unmapped, the clerk's
-- change names nobody; mapped again, it names the clerk again.
SET ROLE regress_audit_clerk;
UPDATE billing.service_line SET name = 'Tax, mapped' WHERE firm_id = :firm AND service_line_id = :tax;
RESET ROLE;
UPDATE billing.staff SET role_name = NULL WHERE firm_id = :firm AND staff_id = :clerk;
SET ROLE regress_audit_clerk;
UPDATE billing.service_line SET name = 'Tax, unmapped' WHERE firm_id = :firm AND service_line_id = :tax;
RESET ROLE;
UPDATE billing.staff SET role_name = 'regress_audit_clerk' WHERE firm_id = :firm AND staff_id = :clerk;
SET ROLE regress_audit_clerk;
UPDATE billing.service_line SET name = 'Tax' WHERE firm_id = :firm AND service_line_id = :tax;
RESET ROLE;
SELECT new_values ->> 'name' AS name, current_role_name, staff_id = :clerk AS clerk
  FROM billing.audit_log
 WHERE firm_id = :firm AND table_name = 'billing.service_line'
 ORDER BY seq DESC LIMIT 3;

-- A table's name is remembered from one transaction to the next, and
-- follows a rename of the table or of its schema.
CREATE SCHEMA audit_rename;
CREATE TABLE audit_rename.note (firm_id bigint NOT NULL, note_id int PRIMARY KEY, body text);
SELECT billing.audit_table('audit_rename.note');
INSERT INTO audit_rename.note VALUES (:firm, 1, 'first');
ALTER TABLE audit_rename.note RENAME TO memo;
INSERT INTO audit_rename.memo VALUES (:firm, 2, 'second');
ALTER SCHEMA audit_rename RENAME TO audit_renamed;
INSERT INTO audit_renamed.memo VALUES (:firm, 3, 'third');
SELECT table_name, row_key FROM billing.audit_log
 WHERE firm_id = :firm AND table_name LIKE 'audit_rename%' ORDER BY seq;
-- history reads the firm's chain when the primary key starts with firm_id
-- (the key names the firm), and the whole log when it does not.
SELECT operation, row_key FROM billing.history('audit_renamed.memo', '(3)');
SELECT count(*) AS note_history
  FROM billing.history('public.audit_note', format('(%s,1,"a ""quoted"", label")', :firm));
-- A key that cannot be the table's finds nothing, and fails on nothing.
SELECT count(*) AS malformed
  FROM (SELECT * FROM billing.history('billing.service_line', 'no key')
        UNION ALL SELECT * FROM billing.history('billing.service_line', '(x1,1)')
        UNION ALL SELECT * FROM billing.history('billing.service_line', '(99999999999999999999,1)')
        UNION ALL SELECT * FROM billing.history('billing.service_line', '(-9223372036854775808,1)')
        UNION ALL SELECT * FROM billing.history('billing.service_line', '')) h;
-- A search_path that shadows text = with one that matches everything does
-- not turn one row's history into every record's.
CREATE SCHEMA audit_evil;
CREATE FUNCTION audit_evil.text_eq(text, text) RETURNS boolean
    LANGUAGE sql AS $$ SELECT true $$;
CREATE OPERATOR audit_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = audit_evil.text_eq);
SELECT count(*) AS tax_changes
  FROM billing.audit_log
 WHERE firm_id = :firm AND table_name = 'billing.service_line'
   AND row_key = format('(%s,%s)', :firm, :tax) \gset
SET search_path = audit_evil, public, pg_catalog;
SELECT count(*) OPERATOR(pg_catalog.=) :tax_changes AS by_key_same
  FROM billing.history('billing.service_line', format('(%s,%s)', :firm, :tax));
SELECT count(*) OPERATOR(pg_catalog.=) :tax_changes AS by_id_same
  FROM billing.history('billing.service_line', :firm, :tax);
SELECT count(*) AS other_table FROM billing.history('audit_renamed.memo', '(3)');
RESET search_path;
DROP SCHEMA audit_evil CASCADE;
DROP SCHEMA audit_renamed CASCADE;

-- An index a DBA adds to the log is filled by the writer too: on plain
-- columns by the writer itself, on an expression through the executor.
CREATE INDEX audit_log_by_row ON billing.audit_log (table_name, row_key);
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'indexed', 'Indexed')
RETURNING format('(%s,%s)', firm_id, service_line_id) AS indexed_key \gset
INSERT INTO billing.service_line (firm_id, code, name)
VALUES (:firm, 'indexed2', 'Indexed 2'), (:firm, 'indexed3', 'Indexed 3');
CREATE INDEX audit_log_by_lower_table ON billing.audit_log (lower(table_name))
 WHERE operation = 'UPDATE';
UPDATE billing.service_line SET name = 'Indexed 1' WHERE firm_id = :firm AND code = 'indexed';
UPDATE billing.service_line SET name = 'Indexed two' WHERE firm_id = :firm AND code LIKE 'indexed_';
SET enable_seqscan = off;
SET enable_bitmapscan = off;
SELECT operation, count(*) FROM billing.audit_log
 WHERE table_name = 'billing.service_line' AND row_key = :'indexed_key' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS multi_row_records FROM billing.audit_log
 WHERE table_name = 'billing.service_line' AND row_key IS NULL AND seq > :before;
SELECT count(*) AS updates_by_expression FROM billing.audit_log
 WHERE lower(table_name) = 'billing.service_line' AND operation = 'UPDATE'
   AND statement_time > now() - interval '1 hour';
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT count(*) AS updates_by_scan FROM billing.audit_log
 WHERE lower(table_name) = 'billing.service_line' AND operation = 'UPDATE'
   AND statement_time > now() - interval '1 hour';
DROP INDEX billing.audit_log_by_row, billing.audit_log_by_lower_table;
-- A unique index with a predicate is checked for the trail's records: the
-- commit whose record would break it fails and writes nothing.
CREATE UNIQUE INDEX audit_log_once ON billing.audit_log (table_name, row_key)
 WHERE table_name = 'billing.service_line' AND operation = 'UPDATE'
   AND row_key = :'indexed_key';
\set VERBOSITY terse
UPDATE billing.service_line SET name = 'Indexed once more' WHERE firm_id = :firm AND code = 'indexed';
\set VERBOSITY default
SELECT name FROM billing.service_line WHERE firm_id = :firm AND code = 'indexed';
DROP INDEX billing.audit_log_once;
SELECT valid FROM billing.verify_audit(:firm);
-- A deferrable constraint is checked for the trail's records as well, when
-- they are written: the deferred checks of the transaction have run by then.
ALTER TABLE billing.audit_log ADD CONSTRAINT audit_log_one_change_a_row
    UNIQUE (transaction_id, table_name, row_key) DEFERRABLE INITIALLY DEFERRED;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'deferred', 'Deferred')
RETURNING format('(%s,%s)', firm_id, service_line_id) AS deferred_key \gset
\set VERBOSITY terse
BEGIN;
UPDATE billing.service_line SET name = 'Deferred 1' WHERE firm_id = :firm AND code = 'deferred';
UPDATE billing.service_line SET name = 'Deferred 2' WHERE firm_id = :firm AND code = 'deferred';
COMMIT;
\set VERBOSITY default
ALTER TABLE billing.audit_log DROP CONSTRAINT audit_log_one_change_a_row;
ALTER TABLE billing.audit_log ADD CONSTRAINT audit_log_one_update
    EXCLUDE USING btree (row_key WITH =)
    WHERE (table_name = 'billing.service_line' AND operation = 'UPDATE'
           AND row_key = :'deferred_key')
    DEFERRABLE INITIALLY DEFERRED;
UPDATE billing.service_line SET name = 'Deferred once' WHERE firm_id = :firm AND code = 'deferred';
\set VERBOSITY terse
UPDATE billing.service_line SET name = 'Deferred twice' WHERE firm_id = :firm AND code = 'deferred';
\set VERBOSITY default
ALTER TABLE billing.audit_log DROP CONSTRAINT audit_log_one_update;
SELECT name FROM billing.service_line WHERE firm_id = :firm AND code = 'deferred';
SELECT valid FROM billing.verify_audit(:firm);

-- A role renamed between two changes is recorded under its new name.
CREATE ROLE regress_audit_before_rename;
GRANT USAGE ON SCHEMA billing TO regress_audit_before_rename;
GRANT INSERT ON billing.service_line TO regress_audit_before_rename;
GRANT USAGE ON SEQUENCE billing.service_line_id_seq TO regress_audit_before_rename;
SET ROLE regress_audit_before_rename;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'renamer1', 'Renamer 1');
RESET ROLE;
ALTER ROLE regress_audit_before_rename RENAME TO regress_audit_after_rename;
SET ROLE regress_audit_after_rename;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'renamer2', 'Renamer 2');
RESET ROLE;
SELECT current_role_name FROM billing.audit_log
 WHERE firm_id = :firm ORDER BY seq DESC LIMIT 2;
REVOKE ALL ON billing.service_line FROM regress_audit_after_rename;
REVOKE ALL ON SEQUENCE billing.service_line_id_seq FROM regress_audit_after_rename;
REVOKE ALL ON SCHEMA billing FROM regress_audit_after_rename;
DROP ROLE regress_audit_after_rename;

-- A partitioned table: its partitions carry the trigger, the records name
-- the partition a row is in, and history asked of the partitioned table
-- finds them, a row moved to another partition included.
CREATE TABLE public.audit_parted (firm_id bigint NOT NULL, id int NOT NULL, note text,
                                  PRIMARY KEY (firm_id, id)) PARTITION BY RANGE (id);
CREATE TABLE public.audit_parted_low PARTITION OF public.audit_parted FOR VALUES FROM (0) TO (100);
SELECT billing.audit_table('public.audit_parted');
CREATE TABLE public.audit_parted_high PARTITION OF public.audit_parted FOR VALUES FROM (100) TO (200);
INSERT INTO public.audit_parted VALUES (:firm, 7, 'low'), (:firm, 107, 'high');
UPDATE public.audit_parted SET note = 'low, edited' WHERE firm_id = :firm AND id = 7;
UPDATE public.audit_parted SET id = 150 WHERE firm_id = :firm AND id = 7;
-- A partition made after the table was put under audit has the audit
-- trigger and, from the event trigger, the truncate guard too; so has a
-- table attached as a partition, with its own partitions, and a partition
-- of a partition.  A table of the same name in pg_temp, which a lookup by
-- name would find first, does not mislead it.
CREATE TEMP TABLE audit_parted_mid (firm_id bigint, id int);
CREATE TABLE audit_parted_mid PARTITION OF public.audit_parted
    FOR VALUES FROM (200) TO (300) PARTITION BY RANGE (id);
CREATE TABLE public.audit_parted_mid_a PARTITION OF public.audit_parted_mid
    FOR VALUES FROM (200) TO (250);
DROP TABLE pg_temp.audit_parted_mid;
CREATE TABLE public.audit_parted_top (firm_id bigint NOT NULL, id int NOT NULL, note text)
    PARTITION BY RANGE (id);
CREATE TABLE public.audit_parted_top_a PARTITION OF public.audit_parted_top
    FOR VALUES FROM (300) TO (350);
ALTER TABLE public.audit_parted ATTACH PARTITION public.audit_parted_top
    FOR VALUES FROM (300) TO (400);
CREATE SCHEMA audit_elsewhere
    CREATE TABLE audit_parted_far PARTITION OF public.audit_parted
        FOR VALUES FROM (400) TO (500);
CREATE TABLE public.audit_unaudited_parted (firm_id bigint, id int) PARTITION BY RANGE (id);
CREATE TABLE public.audit_unaudited_part PARTITION OF public.audit_unaudited_parted
    FOR VALUES FROM (0) TO (10);
SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relname LIKE 'audit\_%part%' AND NOT t.tgisinternal ORDER BY 1, 2;
SELECT billing.audit_table('public.audit_parted_high') AS newly_audited;
DROP TABLE public.audit_unaudited_parted;
DROP SCHEMA audit_elsewhere CASCADE;
SELECT table_name, operation, item FROM billing.history('public.audit_parted', :firm, 7);
SELECT table_name, operation FROM billing.history('public.audit_parted', :firm, 150);
SELECT table_name, operation FROM billing.history('public.audit_parted_high', format('(%s,107)', :firm));
DROP TABLE public.audit_parted;

-- The owner of a table under audit who is not a superuser cannot switch
-- its audit off: not disable, rename, replace or drop its audit trigger.
-- Its other triggers and the table itself stay the owner's to change.
CREATE ROLE regress_audit_table_owner;
GRANT USAGE ON SCHEMA billing TO regress_audit_table_owner;
CREATE TABLE public.audit_owned (firm_id bigint NOT NULL, id int, note text, PRIMARY KEY (firm_id, id));
ALTER TABLE public.audit_owned OWNER TO regress_audit_table_owner;
CREATE FUNCTION public.audit_owned_touch() RETURNS trigger LANGUAGE plpgsql
    AS $$ BEGIN RETURN NEW; END $$;
SET ROLE regress_audit_table_owner;
SELECT billing.audit_table('public.audit_owned');
INSERT INTO public.audit_owned VALUES (:firm, 1, 'recorded');
\set SHOW_CONTEXT never
ALTER TABLE public.audit_owned DISABLE TRIGGER billing_audit;
\set VERBOSITY sqlstate
ALTER TABLE public.audit_owned DISABLE TRIGGER USER;
ALTER TABLE public.audit_owned ENABLE REPLICA TRIGGER billing_audit;
ALTER TRIGGER billing_audit ON public.audit_owned RENAME TO not_audit;
\set VERBOSITY default
DROP TRIGGER billing_audit ON public.audit_owned;
\set VERBOSITY sqlstate
CREATE OR REPLACE TRIGGER billing_audit AFTER INSERT OR UPDATE OR DELETE ON public.audit_owned
    FOR EACH ROW EXECUTE FUNCTION public.audit_owned_touch();
ALTER TABLE public.audit_owned DISABLE TRIGGER billing_audit_truncate;
DROP TRIGGER billing_audit_truncate ON public.audit_owned;
-- An audit trigger the owner attached by hand, under a name of its own, is
-- kept as well: once made, dropping it is refused, as is switching it off.
CREATE TRIGGER audit_by_hand AFTER UPDATE ON public.audit_owned
    FOR EACH ROW EXECUTE FUNCTION billing.audit_trigger();
ALTER TABLE public.audit_owned DISABLE TRIGGER audit_by_hand;
\set VERBOSITY default
DROP TRIGGER audit_by_hand ON public.audit_owned;
\set VERBOSITY sqlstate
DROP TRIGGER IF EXISTS no_such_trigger ON public.audit_owned;
DROP TRIGGER no_such_trigger ON public.audit_owned;
DROP TRIGGER some_trigger ON public.no_such_table;
\set VERBOSITY default
-- A truncate would remove rows without a record: refused, DELETE is not.
TRUNCATE public.audit_owned;
\set SHOW_CONTEXT errors
CREATE TRIGGER touch BEFORE INSERT ON public.audit_owned
    FOR EACH ROW EXECUTE FUNCTION public.audit_owned_touch();
ALTER TABLE public.audit_owned DISABLE TRIGGER touch;
ALTER TRIGGER touch ON public.audit_owned RENAME TO touched;
DROP TRIGGER touched ON public.audit_owned;
ALTER TABLE public.audit_owned ADD COLUMN extra int;
INSERT INTO public.audit_owned VALUES (:firm, 2, 'still recorded');
-- While a superuser has its audit trigger switched off, the owner may still
-- alter the table otherwise, and switch the trigger back on.
RESET ROLE;
ALTER TABLE public.audit_owned DISABLE TRIGGER billing_audit;
SET ROLE regress_audit_table_owner;
ALTER TABLE public.audit_owned ADD COLUMN other int;
ALTER TABLE public.audit_owned ENABLE TRIGGER billing_audit;
INSERT INTO public.audit_owned VALUES (:firm, 3, 'recorded again');
RESET ROLE;
SELECT operation, substring(row_key from ',([0-9]+)[)]$') AS id FROM billing.audit_log
 WHERE firm_id = :firm AND table_name = 'public.audit_owned' ORDER BY seq;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'public.audit_owned'::regclass;
SET ROLE regress_audit_table_owner;
DROP TABLE public.audit_owned;
RESET ROLE;
DROP FUNCTION public.audit_owned_touch();
REVOKE ALL ON SCHEMA billing FROM regress_audit_table_owner;
DROP ROLE regress_audit_table_owner;

-- A superuser's TRUNCATE is recorded: one record in the chain of each firm
-- with rows in the table, with their number, who and why; a partitioned
-- table's, by its partitions; one rolled back, not at all.  The one-pass
-- check then takes the rows for truncated, not deleted unseen.
CREATE TABLE public.audit_truncated (firm_id bigint NOT NULL, id int, note text,
    PRIMARY KEY (firm_id, id)) PARTITION BY LIST (firm_id);
CREATE TABLE public.audit_truncated_a PARTITION OF public.audit_truncated
    FOR VALUES IN (:firm);
CREATE TABLE public.audit_truncated_b PARTITION OF public.audit_truncated
    DEFAULT;
CREATE TABLE public.audit_truncated_empty PARTITION OF public.audit_truncated
    FOR VALUES IN (-1);
SELECT billing.audit_table('public.audit_truncated');
INSERT INTO public.audit_truncated SELECT :firm, g FROM generate_series(1, 5) g;
INSERT INTO public.audit_truncated SELECT :firm2, g FROM generate_series(1, 3) g;
BEGIN;
SAVEPOINT s;
TRUNCATE public.audit_truncated_a;
ROLLBACK TO SAVEPOINT s;
COMMIT;
BEGIN;
TRUNCATE public.audit_truncated;
ROLLBACK;
SELECT count(*) AS truncates_rolled_back FROM billing.audit_log WHERE operation = 'TRUNCATE';
BEGIN;
SET LOCAL billing.reason_code = 'purge';
SET LOCAL billing.reason = 'test data removed';
TRUNCATE public.audit_truncated;
COMMIT;
SELECT firm_id = :firm2 AS second_firm, table_name, operation, row_key, old_values,
       reason_code, reason, session_user_name = session_user AS by_me
  FROM billing.audit_change WHERE operation = 'TRUNCATE' ORDER BY 1, 2;
INSERT INTO public.audit_truncated VALUES (:firm, 9);
SELECT last.row_key
  FROM (SELECT DISTINCT ON (c.row_key) c.row_key, c.seq, c.operation
          FROM billing.audit_change c
         WHERE c.firm_id = :firm AND c.table_name = 'public.audit_truncated_a'
           AND c.row_key IS NOT NULL
         ORDER BY c.row_key, c.seq DESC, c.item DESC) last
 WHERE last.operation <> 'DELETE'
   AND last.seq > (SELECT coalesce(max(seq), 0) FROM billing.audit_log
                    WHERE firm_id = :firm AND table_name = 'public.audit_truncated_a'
                      AND operation = 'TRUNCATE')
   AND NOT EXISTS (SELECT FROM public.audit_truncated t
                    WHERE t.firm_id = :firm
                      AND format('(%s,%s)', t.firm_id, t.id) = last.row_key);
-- (without the truncate's record, the five would be taken for deleted unseen)
SELECT count(*) AS gone_since_last_record
  FROM (SELECT DISTINCT ON (c.row_key) c.row_key, c.operation
          FROM billing.audit_change c
         WHERE c.firm_id = :firm AND c.table_name = 'public.audit_truncated_a'
           AND c.row_key IS NOT NULL
         ORDER BY c.row_key, c.seq DESC, c.item DESC) last
 WHERE last.operation <> 'DELETE'
   AND NOT EXISTS (SELECT FROM public.audit_truncated t
                    WHERE t.firm_id = :firm
                      AND format('(%s,%s)', t.firm_id, t.id) = last.row_key);
-- A truncated row brought back unseen is found as such.
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO public.audit_truncated VALUES (:firm, 3);
SET LOCAL session_replication_role = origin;
SELECT t.id,
       CASE WHEN last.row_key IS NULL THEN 'no record'
            WHEN last.operation = 'DELETE' THEN 'recorded as deleted'
            WHEN last.seq < tr.truncated THEN 'recorded as truncated'
            ELSE 'changed' END AS finding
  FROM public.audit_truncated_a t
 CROSS JOIN (SELECT max(seq) AS truncated FROM billing.audit_log
              WHERE firm_id = :firm AND table_name = 'public.audit_truncated_a'
                AND operation = 'TRUNCATE') tr
  LEFT JOIN (SELECT DISTINCT ON (c.row_key) c.row_key, c.seq, c.operation, c.row_digest
               FROM billing.audit_change c
              WHERE c.firm_id = :firm AND c.table_name = 'public.audit_truncated_a'
                AND c.row_key IS NOT NULL
              ORDER BY c.row_key, c.seq DESC, c.item DESC) last
         ON last.row_key = format('(%s,%s)', t.firm_id, t.id)
 WHERE t.firm_id = :firm
   AND (last.row_key IS NULL OR last.operation = 'DELETE' OR last.seq < tr.truncated
        OR last.row_digest IS DISTINCT FROM billing.audit_row_digest(t))
 ORDER BY t.id;
ROLLBACK;
SELECT valid, problem FROM billing.verify_audit(:firm);
SELECT valid, problem FROM billing.verify_audit(:firm2);
-- Still refused to a role that is not a superuser, in a partition too,
-- whatever privileges it was granted.
GRANT TRUNCATE ON public.audit_truncated_a TO regress_audit_clerk;
SET ROLE regress_audit_clerk;
\set VERBOSITY sqlstate
TRUNCATE public.audit_truncated_a;
\set VERBOSITY default
RESET ROLE;
DROP TABLE public.audit_truncated;

-- An update's record keeps its changed values at their size: well under a
-- kilobyte a record in the buffer (each value once took a 1 kB buffer).
BEGIN;
INSERT INTO billing.service_line (firm_id, code, name)
SELECT :firm, 'sized' || g, 'Sized ' || g FROM generate_series(1, 3000) g;
SELECT sum(total_bytes) AS before_updates FROM pg_backend_memory_contexts
 WHERE name = 'billing audit buffer' \gset
UPDATE billing.service_line SET name = name || '.' WHERE firm_id = :firm AND code LIKE 'sized%';
SELECT (sum(total_bytes) - :before_updates) / 3000 < 1000 AS under_1_kB_an_update
  FROM pg_backend_memory_contexts WHERE name = 'billing audit buffer';
ROLLBACK;

-- A transaction whose buffer grows past billing.audit_buffer_limit writes
-- its records early, at its top level only, and goes on with the same
-- chains; a rollback takes the early records away with it.
SELECT max(seq) AS before FROM billing.audit_log WHERE firm_id = :firm \gset
SELECT max(seq) AS before2 FROM billing.audit_log WHERE firm_id = :firm2 \gset
SET billing.audit_buffer_limit = '64kB';
BEGIN;
INSERT INTO billing.service_line (firm_id, code, name)
SELECT :firm, 'early' || g, 'Early ' || g FROM generate_series(1, 1500) g;
SELECT count(*) AS written FROM billing.audit_log WHERE firm_id = :firm AND seq > :before \gset
SELECT :written > 0 AS written_before_commit;
SAVEPOINT s;
INSERT INTO billing.service_line (firm_id, code, name)
SELECT :firm, 'gone' || g, 'Gone ' || g FROM generate_series(1, 1500) g;
SELECT count(*) = :written AS none_written_in_savepoint
  FROM billing.audit_log WHERE firm_id = :firm AND seq > :before;
-- (ROLLBACK TO keeps the savepoint: the transaction is back at its top
-- level once it is released)
ROLLBACK TO SAVEPOINT s;
RELEASE SAVEPOINT s;
INSERT INTO billing.service_line (firm_id, code, name)
SELECT :firm2, 'early' || g, 'Early ' || g FROM generate_series(1, 800) g;
UPDATE billing.service_line SET name = name || '.' WHERE firm_id = :firm AND code LIKE 'early%';
SELECT count(*) > :written AS written_again
  FROM billing.audit_log WHERE firm_id = :firm AND seq > :before;
COMMIT;
SELECT firm_id = :firm2 AS second_firm, operation, count(*) AS changes,
       count(*) FILTER (WHERE row_key LIKE '%gone%') AS rolled_back
  FROM billing.audit_change
 WHERE (firm_id = :firm AND seq > :before) OR (firm_id = :firm2 AND seq > :before2)
 GROUP BY 1, 2 ORDER BY 1, 2;
SELECT valid, problem FROM billing.verify_audit(:firm);
SELECT valid, problem FROM billing.verify_audit(:firm2);
SELECT max(seq) AS before FROM billing.audit_log WHERE firm_id = :firm \gset
BEGIN;
UPDATE billing.service_line SET name = name || '!' WHERE firm_id = :firm AND code LIKE 'early%';
SELECT count(*) > 0 AS written_before_rollback FROM billing.audit_log WHERE firm_id = :firm AND seq > :before;
ROLLBACK;
SELECT count(*) AS left_after_rollback FROM billing.audit_log WHERE firm_id = :firm AND seq > :before;
DELETE FROM billing.service_line WHERE firm_id IN (:firm, :firm2) AND code LIKE 'early%';
SELECT valid, problem FROM billing.verify_audit(:firm);
RESET billing.audit_buffer_limit;
-- Lowering it would make a transaction hold its firms' chains longer:
-- a superuser's setting.
SET ROLE regress_audit_clerk;
SET billing.audit_buffer_limit = '64kB';
RESET ROLE;

-- Every record written since, of every kind above, still hashes to the
-- canonical form in plain SQL.
SELECT count(*) FILTER (WHERE l.hash <> sha256(pg_temp.canonical(l))) AS not_recomputed,
       count(*) FILTER (WHERE l.row_keys IS NOT NULL) > 5 AS with_rows
  FROM billing.audit_log l WHERE l.firm_id = :firm;

DROP TABLE public.audit_note, public.audit_no_firm, public.audit_nullable,
    public.audit_misuse;
DROP VIEW public.audit_view;
REVOKE ALL ON billing.service_line FROM regress_audit_clerk;
REVOKE ALL ON SEQUENCE billing.service_line_id_seq FROM regress_audit_clerk;
REVOKE ALL ON SCHEMA billing FROM regress_audit_clerk;
DROP ROLE regress_audit_clerk;
