-- The shape of the model: what every table must have, checked from the
-- catalog so that a table added later is held to the same rules.

-- Tables shared by all firms (reference data) are few and named here; every
-- other table must carry the firm key.
SELECT c.relname AS table_without_firm_id
  FROM pg_class c
 WHERE c.relnamespace = 'billing'::regnamespace AND c.relkind IN ('r', 'p')
   AND NOT EXISTS (SELECT FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'firm_id'
                      AND NOT a.attisdropped)
 ORDER BY 1;

-- Every firm table's primary key leads with firm_id.
SELECT c.relname AS primary_key_without_leading_firm_id
  FROM pg_class c
  JOIN pg_attribute f ON f.attrelid = c.oid AND f.attname = 'firm_id'
  LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
 WHERE c.relnamespace = 'billing'::regnamespace AND c.relkind = 'r'
   AND (i.indexrelid IS NULL OR i.indkey[0] <> f.attnum)
 ORDER BY 1;

-- Every unique or exclusion constraint of a firm table includes firm_id.
SELECT con.conrelid::regclass AS tbl, con.conname AS key_without_firm_id
  FROM pg_constraint con
  JOIN pg_attribute f ON f.attrelid = con.conrelid AND f.attname = 'firm_id'
 WHERE con.connamespace = 'billing'::regnamespace
   AND con.contype IN ('p', 'u', 'x')
   AND NOT f.attnum = ANY (con.conkey)
 ORDER BY 1, 2;

-- Every foreign key from a firm table to another firm table carries firm_id
-- on both sides, matched to each other.
SELECT con.conrelid::regclass AS tbl, con.conname AS foreign_key_across_firms
  FROM pg_constraint con
  JOIN pg_attribute f ON f.attrelid = con.conrelid AND f.attname = 'firm_id'
  JOIN pg_attribute rf ON rf.attrelid = con.confrelid AND rf.attname = 'firm_id'
 WHERE con.connamespace = 'billing'::regnamespace AND con.contype = 'f'
   AND NOT EXISTS (
        SELECT FROM unnest(con.conkey, con.confkey) AS k(src, dst)
         WHERE k.src = f.attnum AND k.dst = rf.attnum)
 ORDER BY 1, 2;

-- No reference table points at a firm table (Citus forbids it, and shared
-- data must not depend on one firm's rows).
SELECT con.conrelid::regclass AS reference_table, con.confrelid::regclass AS points_at
  FROM pg_constraint con
 WHERE con.connamespace = 'billing'::regnamespace AND con.contype = 'f'
   AND NOT EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = con.conrelid
                      AND a.attname = 'firm_id' AND NOT a.attisdropped)
   AND EXISTS (SELECT FROM pg_attribute a WHERE a.attrelid = con.confrelid
                  AND a.attname = 'firm_id' AND NOT a.attisdropped);

-- Everything a user or a BI tool sees is commented.
SELECT c.relname AS uncommented_relation
  FROM pg_class c
 WHERE c.relnamespace = 'billing'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
   AND obj_description(c.oid, 'pg_class') IS NULL
 ORDER BY 1;

SELECT c.relname AS tbl, a.attname AS uncommented_column
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = 'billing'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p')
   AND col_description(c.oid, a.attnum) IS NULL
 ORDER BY 1, 2;

SELECT p.oid::regprocedure AS uncommented_function
  FROM pg_proc p
 WHERE p.pronamespace = 'billing'::regnamespace
   AND obj_description(p.oid, 'pg_proc') IS NULL
   -- support functions of types, operators and aggregates are documented
   -- through what they implement
   AND NOT EXISTS (SELECT FROM pg_type t WHERE p.oid IN
                   (t.typinput, t.typoutput, t.typreceive, t.typsend))
   AND NOT EXISTS (SELECT FROM pg_operator o WHERE o.oprcode = p.oid)
   AND NOT EXISTS (SELECT FROM pg_amproc am WHERE am.amproc = p.oid)
   AND NOT EXISTS (SELECT FROM pg_aggregate ag WHERE p.oid IN
                   (ag.aggtransfn, ag.aggfinalfn, ag.aggcombinefn,
                    ag.aggserialfn, ag.aggdeserialfn))
 ORDER BY 1;

SELECT t.typname AS uncommented_type
  FROM pg_type t
 WHERE t.typnamespace = 'billing'::regnamespace AND t.typtype IN ('b', 'e', 'd')
   AND t.typcategory <> 'A'
   AND obj_description(t.oid, 'pg_type') IS NULL
 ORDER BY 1;

-- Every table of a firm's data and every sequence is kept by pg_dump.
SELECT c.oid::regclass AS not_dumped
  FROM pg_class c
 WHERE c.relnamespace = 'billing'::regnamespace
   AND (c.relkind = 'S' OR (c.relkind = 'r' AND EXISTS
        (SELECT FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'firm_id')))
   AND NOT c.oid = ANY ((SELECT extconfig FROM pg_extension WHERE extname = 'billing')::oid[])
 ORDER BY 1;

-- Every object of the schema belongs to the extension (so DROP EXTENSION
-- removes it and pg_dump does not dump it as a user object).
SELECT c.oid::regclass AS not_an_extension_member
  FROM pg_class c
 WHERE c.relnamespace = 'billing'::regnamespace AND c.relkind IN ('r', 'v', 'S', 'm')
   AND NOT EXISTS (SELECT FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                      AND d.deptype = 'e')
 ORDER BY 1;
