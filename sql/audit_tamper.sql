-- The audit log cannot be written by anyone but the audit trail, the owner
-- included; what a superuser does with triggers off is detected by
-- billing.verify_audit at the right record.
SET client_min_messages = warning;

INSERT INTO billing.firm (name, base_currency) VALUES ('Audit Tamper Firm', 'EUR')
RETURNING firm_id AS firm \gset
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'line1', 'Line 1');
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'line2', 'Line 2');
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'line3', 'Line 3');
UPDATE billing.service_line SET name = name || ' (renamed)' WHERE firm_id = :firm AND code = 'line2';
DELETE FROM billing.service_line WHERE firm_id = :firm AND code = 'line3';
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'line4', 'Line 4');
SELECT seq, table_name, operation FROM billing.audit_log WHERE firm_id = :firm ORDER BY seq;
SELECT valid, records_checked FROM billing.verify_audit(:firm);
SELECT seq AS anchor_seq, hash AS anchor_hash FROM billing.audit_anchor(:firm) \gset

-- 1. Denied writes.  The owner (a superuser here) is stopped by the
-- append-only trigger, for every kind of write, COPY included.
\set VERBOSITY sqlstate
SELECT r.rolname = current_user AS i_am_owner
  FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
 WHERE c.oid = 'billing.audit_log'::regclass;
INSERT INTO billing.audit_log SELECT * FROM billing.audit_log WHERE firm_id = :firm AND seq = 1;
UPDATE billing.audit_log SET reason = 'edited' WHERE firm_id = :firm AND seq = 2;
DELETE FROM billing.audit_log WHERE firm_id = :firm AND seq = 7;
DELETE FROM billing.audit_log WHERE false;
TRUNCATE billing.audit_log;
COPY billing.audit_log FROM stdin;
\.
MERGE INTO billing.audit_log l USING (SELECT 1) s ON l.firm_id = :firm
 WHEN MATCHED THEN DELETE;

-- A role with no grant is refused by privileges ...
CREATE ROLE regress_audit_reader;
CREATE ROLE regress_audit_granted;
GRANT USAGE ON SCHEMA billing TO regress_audit_reader, regress_audit_granted;
SET ROLE regress_audit_reader;
SELECT count(*) FROM billing.audit_log;
INSERT INTO billing.audit_log SELECT * FROM billing.audit_log;
UPDATE billing.audit_log SET reason = 'edited';
DELETE FROM billing.audit_log;
TRUNCATE billing.audit_log;
ALTER TABLE billing.audit_log DISABLE TRIGGER audit_log_append_only;
DROP TABLE billing.audit_log;
SELECT valid FROM billing.verify_audit(:firm);
SELECT seq FROM billing.audit_anchor(:firm);
RESET ROLE;
-- ... and a role given every privilege on the log by mistake is still
-- refused by the trigger; it may read and verify.
GRANT ALL ON billing.audit_log TO regress_audit_granted;
SET ROLE regress_audit_granted;
SELECT count(*) > 0 AS can_read FROM billing.audit_log WHERE firm_id = :firm;
SELECT valid FROM billing.verify_audit(:firm);
INSERT INTO billing.audit_log SELECT * FROM billing.audit_log WHERE firm_id = :firm AND seq = 1;
UPDATE billing.audit_log SET reason = 'edited' WHERE firm_id = :firm;
DELETE FROM billing.audit_log WHERE firm_id = :firm;
TRUNCATE billing.audit_log;
ALTER TABLE billing.audit_log DISABLE TRIGGER audit_log_append_only;
RESET ROLE;
\set VERBOSITY default
REVOKE ALL ON billing.audit_log FROM regress_audit_granted;
REVOKE ALL ON SCHEMA billing FROM regress_audit_reader, regress_audit_granted;
DROP ROLE regress_audit_reader, regress_audit_granted;

-- ... and a role that owns the log without being a superuser (a DBA handed
-- it over) may not switch the guard off, drop or change it, or add a rule,
-- a policy or a trigger: the log's definition is fixed but for superusers.
CREATE ROLE regress_audit_log_owner;
GRANT USAGE ON SCHEMA billing TO regress_audit_log_owner;
GRANT CREATE ON SCHEMA public TO regress_audit_log_owner;
ALTER TABLE billing.audit_log OWNER TO regress_audit_log_owner;
SET ROLE regress_audit_log_owner;
\set SHOW_CONTEXT never
\set VERBOSITY default
ALTER TABLE billing.audit_log DISABLE TRIGGER audit_log_append_only;
\set VERBOSITY sqlstate
ALTER TABLE billing.audit_log DISABLE TRIGGER ALL;
ALTER TABLE billing.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE billing.audit_log DROP CONSTRAINT audit_log_rows_of_one_insert;
ALTER TABLE billing.audit_log SET UNLOGGED;
ALTER TRIGGER audit_log_append_only ON billing.audit_log RENAME TO gone;
\set VERBOSITY default
DROP TRIGGER audit_log_append_only ON billing.audit_log;
\set VERBOSITY sqlstate
CREATE RULE hide AS ON INSERT TO billing.audit_log DO INSTEAD NOTHING;
CREATE POLICY hide ON billing.audit_log USING (false);
CREATE TRIGGER also BEFORE INSERT ON billing.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION billing.audit_log_guard();
INSERT INTO billing.audit_log SELECT * FROM billing.audit_log WHERE firm_id = :firm AND seq = 1;
UPDATE billing.audit_log SET reason = 'edited' WHERE firm_id = :firm;
TRUNCATE billing.audit_log;
-- A table made to inherit from the log, later or when it is created, is
-- refused, however the log is named.
CREATE TABLE public.audit_log_lookalike (LIKE billing.audit_log INCLUDING CONSTRAINTS);
ALTER TABLE public.audit_log_lookalike INHERIT billing.audit_log;
SET search_path = billing, public;
CREATE TABLE public.audit_log_child () INHERITS (audit_log);
RESET search_path;
\set VERBOSITY default
CREATE TABLE public.audit_log_other (note text);
CREATE TABLE public.audit_log_child () INHERITS (public.audit_log_other, billing.audit_log);
\set VERBOSITY sqlstate
DROP TABLE public.audit_log_other;
-- ... in a CREATE SCHEMA too, while a table named audit_log in the new
-- schema is not the log.
RESET ROLE;
SELECT format('GRANT CREATE ON DATABASE %I TO regress_audit_log_owner', current_database()) \gexec
SET ROLE regress_audit_log_owner;
CREATE SCHEMA audit_heirs CREATE TABLE heir () INHERITS (billing.audit_log);
SET search_path = billing, public;
CREATE SCHEMA audit_heirs
    CREATE TABLE audit_log (note text)
    CREATE TABLE heir () INHERITS (audit_log);
RESET search_path;
SELECT count(*) AS heirs_of_the_log FROM pg_inherits WHERE inhparent = 'billing.audit_log'::regclass;
DROP SCHEMA audit_heirs CASCADE;
RESET ROLE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM regress_audit_log_owner', current_database()) \gexec
-- One a superuser makes holds rows that the log's readers do not take for
-- records.
CREATE TABLE public.audit_log_child () INHERITS (billing.audit_log);
INSERT INTO public.audit_log_child SELECT * FROM ONLY billing.audit_log WHERE firm_id = :firm AND seq = 1;
SELECT valid FROM billing.verify_audit(:firm);
SELECT count(*) AS records_one_seen_once FROM billing.audit_change c
 WHERE c.firm_id = :firm AND c.seq = 1;
DROP TABLE public.audit_log_child, public.audit_log_lookalike;
\set VERBOSITY default
\set SHOW_CONTEXT errors
-- The owner's other tables are not affected.
CREATE TABLE public.audit_owner_table (id int);
ALTER TABLE public.audit_owner_table OWNER TO regress_audit_log_owner;
SET ROLE regress_audit_log_owner;
ALTER TABLE public.audit_owner_table ADD COLUMN note text;
DROP TABLE public.audit_owner_table;
RESET ROLE;
-- Nor are the tables of a role with no access to billing at all.
CREATE ROLE regress_audit_outsider;
GRANT CREATE ON SCHEMA public TO regress_audit_outsider;
SET ROLE regress_audit_outsider;
CREATE TABLE public.audit_outsider_table (id int);
ALTER TABLE public.audit_outsider_table ADD COLUMN note text;
DROP TABLE public.audit_outsider_table;
CREATE TABLE public.audit_outsider_parted (firm_id bigint NOT NULL, id int NOT NULL)
    PARTITION BY RANGE (id);
CREATE TABLE public.audit_outsider_part1 PARTITION OF public.audit_outsider_parted
    FOR VALUES FROM (0) TO (10);
RESET ROLE;
-- Put under audit by a superuser, its new partitions get the truncate
-- guard though their owner cannot see billing.
SELECT billing.audit_table('public.audit_outsider_parted');
SET ROLE regress_audit_outsider;
CREATE TABLE public.audit_outsider_part2 PARTITION OF public.audit_outsider_parted
    FOR VALUES FROM (10) TO (20);
CREATE TABLE public.audit_outsider_part3 (firm_id bigint NOT NULL, id int NOT NULL);
ALTER TABLE public.audit_outsider_parted ATTACH PARTITION public.audit_outsider_part3
    FOR VALUES FROM (20) TO (30);
\set VERBOSITY sqlstate
ALTER TABLE public.audit_outsider_parted DISABLE TRIGGER billing_audit;
TRUNCATE public.audit_outsider_part2;
TRUNCATE public.audit_outsider_part3;
\set VERBOSITY default
SELECT c.relname, count(*) AS audit_triggers FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
 WHERE c.relname LIKE 'audit\_outsider\_part%' AND t.tgname LIKE 'billing\_audit%'
 GROUP BY 1 ORDER BY 1;
DROP TABLE public.audit_outsider_parted;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM regress_audit_outsider;
DROP ROLE regress_audit_outsider;
ALTER TABLE billing.audit_log OWNER TO CURRENT_USER;
SELECT count(*) AS log_triggers, bool_and(tgenabled = 'O') AS all_enabled
  FROM pg_trigger WHERE tgrelid = 'billing.audit_log'::regclass;
REVOKE ALL ON SCHEMA billing FROM regress_audit_log_owner;
REVOKE CREATE ON SCHEMA public FROM regress_audit_log_owner;
DROP ROLE regress_audit_log_owner;

-- 2. Tampering by a superuser with triggers off, each case rolled back.
-- An edited record: detected at that record.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.audit_log SET reason = 'it was always like this'
 WHERE firm_id = :firm AND seq = 5;
SELECT valid, records_checked, failed_seq, problem FROM billing.verify_audit(:firm);
ROLLBACK;

-- An edited old value of an update: detected at that record.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.audit_log SET old_values = '{"name": "Something else"}'
 WHERE firm_id = :firm AND operation = 'UPDATE';
SELECT valid, failed_seq, problem FROM billing.verify_audit(:firm);
ROLLBACK;

-- A deleted record: detected as the missing seq, where the next record of
-- its lane no longer links to the one before.
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM billing.audit_log WHERE firm_id = :firm AND seq = 3;
SELECT valid, records_checked, failed_seq, problem FROM billing.verify_audit(:firm);
ROLLBACK;

-- The first record deleted.
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM billing.audit_log WHERE firm_id = :firm AND seq = 1;
SELECT valid, failed_seq, problem FROM billing.verify_audit(:firm);
ROLLBACK;

-- A forged record appended with a made-up hash: detected at that record.
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO billing.audit_log
SELECT firm_id, seq + 1, lane, table_name, 'DELETE', row_key, NULL, NULL, NULL, '{"name": "Line 4"}', NULL,
       transaction_id, statement_time, session_user_name, current_role_name,
       staff_id, application_name, reason_code, reason, hash, sha256('forged')
  FROM billing.audit_log WHERE firm_id = :firm AND seq = :anchor_seq;
SELECT valid, records_checked, failed_seq, problem FROM billing.verify_audit(:firm);
ROLLBACK;

-- A forged record slipped in between two records, the rest renumbered:
-- the renumbered record no longer matches its hash.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.audit_log SET seq = seq + 100 WHERE firm_id = :firm AND seq >= 4;
UPDATE billing.audit_log SET seq = seq - 99 WHERE firm_id = :firm AND seq >= 104;
INSERT INTO billing.audit_log
SELECT firm_id, 4, lane, table_name, 'INSERT', row_key, row_digest, NULL, NULL, NULL, NULL,
       transaction_id, statement_time, session_user_name, current_role_name,
       staff_id, application_name, reason_code, reason, hash, sha256('forged')
  FROM billing.audit_log WHERE firm_id = :firm AND seq = 3;
SELECT valid, records_checked, failed_seq, problem FROM billing.verify_audit(:firm);
ROLLBACK;

-- Two records swapped: the chain breaks at the first of them.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.audit_log SET seq = 1000 WHERE firm_id = :firm AND seq = 3;
UPDATE billing.audit_log SET seq = 3 WHERE firm_id = :firm AND seq = 4;
UPDATE billing.audit_log SET seq = 4 WHERE firm_id = :firm AND seq = 1000;
SELECT valid, records_checked, failed_seq, problem FROM billing.verify_audit(:firm);
ROLLBACK;

-- The tail cut off: the chain alone looks whole, the anchor kept outside
-- shows what is missing.
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM billing.audit_log WHERE firm_id = :firm AND seq > :anchor_seq - 2;
SELECT valid, records_checked FROM billing.verify_audit(:firm);
SELECT valid, records_checked, failed_seq, problem
  FROM billing.verify_audit(:firm, :anchor_seq, :'anchor_hash');
ROLLBACK;

-- The whole log emptied.
BEGIN;
SET LOCAL session_replication_role = replica;
TRUNCATE billing.audit_log;
SELECT valid, records_checked, failed_seq, problem
  FROM billing.verify_audit(:firm, :anchor_seq, :'anchor_hash');
ROLLBACK;

-- A record edited and every later hash recomputed, which a superuser who
-- knows the canonical form can do: the chain verifies on its own, and only
-- the anchor taken earlier shows it was rewritten.
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE FUNCTION pg_temp.field(b bytea) RETURNS bytea LANGUAGE sql
    AS $$ SELECT coalesce(int4send(length($1)) || $1, '\xffffffff'::bytea) $$;
CREATE FUNCTION pg_temp.rehash(l billing.audit_log) RETURNS bytea LANGUAGE sql AS $$
    SELECT sha256(
        pg_temp.field(convert_to(l.firm_id::text, 'UTF8')) ||
        pg_temp.field(convert_to(l.seq::text, 'UTF8')) ||
        pg_temp.field(convert_to(l.lane::text, 'UTF8')) ||
        pg_temp.field(convert_to(l.table_name, 'UTF8')) ||
        pg_temp.field(convert_to(l.operation, 'UTF8')) ||
        pg_temp.field(convert_to(l.row_key, 'UTF8')) ||
        pg_temp.field(l.row_digest) ||
        pg_temp.field((SELECT string_agg(pg_temp.field(convert_to(k, 'UTF8')), '' ORDER BY o)
                         FROM unnest(l.row_keys) WITH ORDINALITY u(k, o))) ||
        pg_temp.field((SELECT string_agg(pg_temp.field(d), '' ORDER BY o)
                         FROM unnest(l.row_digests) WITH ORDINALITY u(d, o))) ||
        pg_temp.field(convert_to(l.old_values::text, 'UTF8')) ||
        pg_temp.field(convert_to(l.new_values::text, 'UTF8')) ||
        pg_temp.field(convert_to(l.transaction_id::text, 'UTF8')) ||
        pg_temp.field(convert_to((extract(epoch FROM l.statement_time) * 1000000)::bigint::text, 'UTF8')) ||
        pg_temp.field(convert_to(l.session_user_name, 'UTF8')) ||
        pg_temp.field(convert_to(l.current_role_name, 'UTF8')) ||
        pg_temp.field(convert_to(l.staff_id::text, 'UTF8')) ||
        pg_temp.field(convert_to(l.application_name, 'UTF8')) ||
        pg_temp.field(convert_to(l.reason_code, 'UTF8')) ||
        pg_temp.field(convert_to(l.reason, 'UTF8')) ||
        pg_temp.field(l.prev_hash))
$$;
UPDATE billing.audit_log SET reason = 'rewritten' WHERE firm_id = :firm AND seq = 5;
DO $$
DECLARE
    f bigint := (SELECT max(firm_id) FROM billing.firm WHERE name = 'Audit Tamper Firm');
    s bigint;
BEGIN
    FOR s IN SELECT seq FROM billing.audit_log WHERE firm_id = f AND seq >= 5 ORDER BY seq LOOP
        UPDATE billing.audit_log l
           SET prev_hash = (SELECT hash FROM billing.audit_log WHERE firm_id = f AND seq = s - 1)
         WHERE l.firm_id = f AND l.seq = s;
        UPDATE billing.audit_log l SET hash = pg_temp.rehash(l) WHERE l.firm_id = f AND l.seq = s;
    END LOOP;
END $$;
SELECT valid, records_checked FROM billing.verify_audit(:firm);
SELECT valid, failed_seq, problem
  FROM billing.verify_audit(:firm, :anchor_seq, :'anchor_hash');
ROLLBACK;

-- After all that, rolled back, the chain is whole and new changes extend it.
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'line5', 'Line 5');
SELECT valid, records_checked = :anchor_seq + 1 AS one_more
  FROM billing.verify_audit(:firm, :anchor_seq, :'anchor_hash');

-- 3. A record of several inserted rows (one statement's rows): tampering
-- with one row of it is detected at that record.
INSERT INTO billing.service_line (firm_id, code, name)
SELECT :firm, 'bulk' || g, 'Bulk ' || g FROM generate_series(1, 4) g;
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'line6', 'Line 6');
SELECT seq AS bulk_seq, cardinality(row_keys) AS rows_in_record
  FROM billing.audit_log WHERE firm_id = :firm AND row_keys IS NOT NULL \gset
SELECT :rows_in_record AS rows_in_record,
       (SELECT count(*) FROM billing.audit_change WHERE firm_id = :firm AND seq = :bulk_seq) AS changes;
SELECT valid, records_checked FROM billing.verify_audit(:firm);
-- One row's key edited.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.audit_log SET row_keys[2] = row_keys[1]
 WHERE firm_id = :firm AND seq = :bulk_seq;
SELECT valid, failed_seq = :bulk_seq AS at_record, problem FROM billing.verify_audit(:firm);
ROLLBACK;
-- One row's digest replaced by that of a row with other contents.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.audit_log SET row_digests[3] = sha256('other contents')
 WHERE firm_id = :firm AND seq = :bulk_seq;
SELECT valid, failed_seq = :bulk_seq AS at_record, problem FROM billing.verify_audit(:firm);
ROLLBACK;
-- One row removed from the record, keys and digests alike.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.audit_log SET row_keys = row_keys[1:3], row_digests = row_digests[1:3]
 WHERE firm_id = :firm AND seq = :bulk_seq;
SELECT valid, failed_seq = :bulk_seq AS at_record, problem FROM billing.verify_audit(:firm);
ROLLBACK;
-- Two rows of the record swapped.
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.audit_log
   SET row_keys = ARRAY[row_keys[2], row_keys[1], row_keys[3], row_keys[4]],
       row_digests = ARRAY[row_digests[2], row_digests[1], row_digests[3], row_digests[4]]
 WHERE firm_id = :firm AND seq = :bulk_seq;
SELECT valid, failed_seq = :bulk_seq AS at_record, problem FROM billing.verify_audit(:firm);
ROLLBACK;
-- A record that does not have the shape the writer gives it is refused.
BEGIN;
SET LOCAL session_replication_role = replica;
\set VERBOSITY terse
UPDATE billing.audit_log SET row_digests = row_digests[1:3]
 WHERE firm_id = :firm AND seq = :bulk_seq;
\set VERBOSITY default
ROLLBACK;
SELECT valid, records_checked FROM billing.verify_audit(:firm);

-- 4. Rows changed behind the trigger's back are found in one pass over the
-- firm's records: each row's digest against its last record (doc/audit.md).
SELECT service_line_id AS bulk3_id FROM billing.service_line
 WHERE firm_id = :firm AND code = 'bulk3' \gset
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE billing.service_line SET name = 'Line 2, edited unseen'
 WHERE firm_id = :firm AND code = 'line2';
INSERT INTO billing.service_line (firm_id, code, name) VALUES (:firm, 'unseen', 'Unseen');
DELETE FROM billing.service_line WHERE firm_id = :firm AND code = 'bulk3';
SET LOCAL session_replication_role = origin;
SELECT s.code,
       CASE WHEN last.row_key IS NULL THEN 'no record'
            WHEN last.operation = 'DELETE' THEN 'recorded as deleted'
            WHEN last.seq < t.truncated THEN 'recorded as truncated'
            ELSE 'changed' END AS finding
  FROM billing.service_line s
 CROSS JOIN (SELECT max(seq) AS truncated FROM billing.audit_log
              WHERE firm_id = :firm AND table_name = 'billing.service_line'
                AND operation = 'TRUNCATE') t
  LEFT JOIN (SELECT DISTINCT ON (c.row_key) c.row_key, c.seq, c.operation, c.row_digest
               FROM billing.audit_change c
              WHERE c.firm_id = :firm AND c.table_name = 'billing.service_line'
                AND c.row_key IS NOT NULL
              ORDER BY c.row_key, c.seq DESC, c.item DESC) last
         ON last.row_key = format('(%s,%s)', s.firm_id, s.service_line_id)
 WHERE s.firm_id = :firm
   AND (last.row_key IS NULL OR last.operation = 'DELETE' OR last.seq < t.truncated
        OR last.row_digest IS DISTINCT FROM billing.audit_row_digest(s))
 ORDER BY s.code;
-- ... and rows deleted unseen, whose last record is not a DELETE and was
-- not followed by a recorded truncate.
SELECT last.row_key = format('(%s,%s)', :firm, :bulk3_id) AS bulk3_missing
  FROM (SELECT DISTINCT ON (c.row_key) c.row_key, c.seq, c.operation
          FROM billing.audit_change c
         WHERE c.firm_id = :firm AND c.table_name = 'billing.service_line'
           AND c.row_key IS NOT NULL
         ORDER BY c.row_key, c.seq DESC, c.item DESC) last
 WHERE last.operation <> 'DELETE'
   AND last.seq > (SELECT coalesce(max(seq), 0) FROM billing.audit_log
                    WHERE firm_id = :firm AND table_name = 'billing.service_line'
                      AND operation = 'TRUNCATE')
   AND NOT EXISTS (SELECT FROM billing.service_line s
                    WHERE s.firm_id = :firm
                      AND format('(%s,%s)', s.firm_id, s.service_line_id) = last.row_key);
ROLLBACK;

-- 5. Every firm at once, as a nightly job does: check each chain against
-- the anchor kept from last time, then keep new anchors.
CREATE TEMP TABLE kept_anchor AS
SELECT f.firm_id, a.seq, a.hash
  FROM billing.firm f CROSS JOIN LATERAL billing.audit_anchor(f.firm_id) a;
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM billing.audit_log
 WHERE firm_id = :firm AND seq = (SELECT max(seq) FROM billing.audit_log WHERE firm_id = :firm);
SELECT f.firm_id = :firm AS the_tampered_firm, v.problem
  FROM billing.firm f
  LEFT JOIN kept_anchor k ON k.firm_id = f.firm_id
 CROSS JOIN LATERAL billing.verify_audit(f.firm_id, k.seq, k.hash) v
 WHERE NOT v.valid;
ROLLBACK;
SELECT count(*) AS firms_not_verified
  FROM billing.firm f
  LEFT JOIN kept_anchor k ON k.firm_id = f.firm_id
 CROSS JOIN LATERAL billing.verify_audit(f.firm_id, k.seq, k.hash) v
 WHERE NOT v.valid;
