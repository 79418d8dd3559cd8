-- Data sources of every family (metrics, logs, traces): type-specific settings live in a
-- JSON column, so a new store type needs neither a new column nor a table rebuild, and
-- there is one default per family instead of one default overall (enforced by a partial
-- unique index). Every source so far is a metrics source.
ALTER TABLE datasources ADD COLUMN settings TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(settings));
ALTER TABLE datasources ADD COLUMN family TEXT NOT NULL DEFAULT 'metrics';
UPDATE datasources
   SET is_default = 0
 WHERE is_default = 1
   AND id <> (SELECT min(id) FROM datasources WHERE is_default = 1);
CREATE UNIQUE INDEX datasources_one_default_per_family ON datasources (family) WHERE is_default = 1;
