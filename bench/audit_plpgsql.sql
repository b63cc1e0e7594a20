-- bench/audit_plpgsql.sql: the comparison for bench/audit.sh, an audit trail
-- written the usual way, in PL/pgSQL.
--
-- It records the same data as billing.audit_trigger (the table, the row's
-- key, a SHA-256 digest of an inserted or updated row, the changed columns
-- of an update and the old row of a delete, who and why) and seals it into
-- the same kind of per-firm SHA-256 chain, over the same canonical bytes as
-- billing.audit_log's hash.  Like billing's trail, the rows one statement
-- inserts are sealed as records of up to 1,000 rows each: a statement
-- trigger reads them from its transition table.  Updates and deletes are
-- recorded row by row.  A PL/pgSQL trigger has no memory that lasts until
-- commit, so the chain's running state is a head row per firm that every
-- record locks, reads and rewrites.  Not part of the extension.

CREATE TABLE plpgsql_audit_log (LIKE billing.audit_log INCLUDING DEFAULTS);
ALTER TABLE plpgsql_audit_log ADD PRIMARY KEY (firm_id, seq);

CREATE TABLE plpgsql_audit_head (
    firm_id bigint PRIMARY KEY,
    seq     bigint NOT NULL,
    hash    bytea
);

-- One field of the canonical form: 4-byte big-endian length, then bytes.
CREATE FUNCTION plpgsql_audit_field(b bytea) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT coalesce(int4send(length($1)) || $1, '\xffffffff'::bytea) $$;

-- An array: one field whose bytes are its elements, each a field.
CREATE FUNCTION plpgsql_audit_field(a text[]) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT plpgsql_audit_field(CASE WHEN $1 IS NOT NULL THEN
              coalesce((SELECT string_agg(plpgsql_audit_field(convert_to(e, 'UTF8')), '' ORDER BY o)
                          FROM unnest($1) WITH ORDINALITY u(e, o)), '') END) $$;
CREATE FUNCTION plpgsql_audit_field(a bytea[]) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT plpgsql_audit_field(CASE WHEN $1 IS NOT NULL THEN
              coalesce((SELECT string_agg(plpgsql_audit_field(e), '' ORDER BY o)
                          FROM unnest($1) WITH ORDINALITY u(e, o)), '') END) $$;

CREATE FUNCTION plpgsql_audit_hash(l plpgsql_audit_log) RETURNS bytea
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$
    SELECT sha256(
        plpgsql_audit_field(convert_to(l.firm_id::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.seq::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.lane::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.table_name, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.operation, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.row_key, 'UTF8')) ||
        plpgsql_audit_field(l.row_digest) ||
        CASE WHEN l.row_keys IS NULL THEN '\xffffffffffffffff'::bytea
             ELSE plpgsql_audit_field(l.row_keys) || plpgsql_audit_field(l.row_digests) END ||
        plpgsql_audit_field(convert_to(l.old_values::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.new_values::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.transaction_id::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(
            (extract(epoch FROM l.statement_time) * 1000000)::bigint::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.session_user_name, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.current_role_name, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.staff_id::text, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.application_name, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.reason_code, 'UTF8')) ||
        plpgsql_audit_field(convert_to(l.reason, 'UTF8')) ||
        plpgsql_audit_field(l.prev_hash))
$$;

-- Who and why, and the seal: the next seq and hash of the firm's chain
-- from its head row, then the record itself.
CREATE FUNCTION plpgsql_audit_append(r plpgsql_audit_log) RETURNS void
    LANGUAGE plpgsql
    AS $$
DECLARE
    staff text := nullif(current_setting('billing.staff_id', true), '');
BEGIN
    r.transaction_id := pg_current_xact_id();
    r.statement_time := statement_timestamp();
    r.session_user_name := session_user;
    r.current_role_name := current_user;
    r.staff_id := staff::bigint;
    r.application_name := nullif(current_setting('application_name'), '');
    r.reason_code := nullif(current_setting('billing.reason_code', true), '');
    r.reason := nullif(current_setting('billing.reason', true), '');

    r.lane := 0;                -- one chain per firm, as billing with one lane
    INSERT INTO plpgsql_audit_head AS h VALUES (r.firm_id, 0, NULL)
        ON CONFLICT (firm_id) DO NOTHING;
    SELECT h.seq + 1, h.hash INTO r.seq, r.prev_hash
      FROM plpgsql_audit_head h WHERE h.firm_id = r.firm_id FOR UPDATE;
    r.hash := plpgsql_audit_hash(r);
    UPDATE plpgsql_audit_head SET seq = r.seq, hash = r.hash
     WHERE firm_id = r.firm_id;
    INSERT INTO plpgsql_audit_log VALUES (r.*);
END
$$;

-- AFTER UPDATE OR DELETE, for each row.
CREATE FUNCTION plpgsql_audit_trigger() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    r plpgsql_audit_log;
    o jsonb;
    n jsonb;
BEGIN
    r.table_name := quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME);
    r.operation := TG_OP;
    IF TG_OP = 'DELETE' THEN
        r.firm_id := OLD.firm_id;
        r.row_key := ROW(OLD.firm_id, OLD.wip_entry_id)::text;
        r.old_values := (SELECT jsonb_object_agg(key, value)
                           FROM jsonb_each_text(to_jsonb(OLD)));
    ELSE
        r.firm_id := NEW.firm_id;
        r.row_key := ROW(NEW.firm_id, NEW.wip_entry_id)::text;
        r.row_digest := sha256(convert_to(NEW::text, 'UTF8'));
        o := to_jsonb(OLD);
        n := to_jsonb(NEW);
        r.old_values := (SELECT jsonb_object_agg(key, o ->> key)
                           FROM jsonb_each(n) WHERE o -> key IS DISTINCT FROM value);
        r.new_values := (SELECT jsonb_object_agg(key, n ->> key)
                           FROM jsonb_each(n) WHERE o -> key IS DISTINCT FROM value);
    END IF;
    PERFORM plpgsql_audit_append(r);
    RETURN NULL;
END
$$;

-- AFTER INSERT, for each statement, REFERENCING NEW TABLE AS inserted:
-- the statement's rows, firm by firm, as records of up to 1,000 rows (one
-- row: row_key and row_digest; more: row_keys and row_digests).
CREATE FUNCTION plpgsql_audit_insert_trigger() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    r plpgsql_audit_log;
    part record;
BEGIN
    FOR part IN
        SELECT firm_id, array_agg(row_key ORDER BY n) AS keys,
               array_agg(row_digest ORDER BY n) AS digests
          FROM (SELECT i.firm_id, ROW(i.firm_id, i.wip_entry_id)::text AS row_key,
                       sha256(convert_to(i::text, 'UTF8')) AS row_digest,
                       row_number() OVER (PARTITION BY i.firm_id) AS n
                  FROM inserted i) x
         GROUP BY firm_id, (n - 1) / 1000
         ORDER BY firm_id, min(n)
    LOOP
        r := NULL;
        r.firm_id := part.firm_id;
        r.table_name := quote_ident(TG_TABLE_SCHEMA) || '.' || quote_ident(TG_TABLE_NAME);
        r.operation := 'INSERT';
        IF cardinality(part.keys) = 1 THEN
            r.row_key := part.keys[1];
            r.row_digest := part.digests[1];
        ELSE
            r.row_keys := part.keys;
            r.row_digests := part.digests;
        END IF;
        PERFORM plpgsql_audit_append(r);
    END LOOP;
    RETURN NULL;
END
$$;
