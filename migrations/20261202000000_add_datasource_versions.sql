-- Data sources get a version for optimistic locking, as rule groups and dashboards have:
-- a save names the version it edited and a stale one is refused with 409.
ALTER TABLE datasources ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
