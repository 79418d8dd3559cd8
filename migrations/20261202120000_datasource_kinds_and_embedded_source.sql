-- Data sources by kind: the type is checked by the portal (a closed list in code), not by a
-- CHECK constraint, so a new store type needs no table rebuild again. The built-in
-- "Embedded" source (the portal's own metrics store) exists from the first start; it is
-- the default when no other source was configured before it.
-- Dropping the old table runs its ON DELETE SET NULL on query_history: keep the links and
-- put them back once the new table holds the same ids.
CREATE TABLE query_history_sources AS
    SELECT id, datasource_id FROM query_history WHERE datasource_id IS NOT NULL;

CREATE TABLE datasources_by_kind (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    type       TEXT    NOT NULL,
    url        TEXT    NOT NULL,
    auth_type  TEXT    NOT NULL DEFAULT 'none' CHECK (auth_type IN ('none', 'basic', 'bearer')),
    username   TEXT    NOT NULL DEFAULT '',
    secret     TEXT,
    timeout_ms INTEGER NOT NULL DEFAULT 30000,
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL,
    version    INTEGER NOT NULL DEFAULT 1
);
INSERT INTO datasources_by_kind
    SELECT id, name, type, url, auth_type, username, secret, timeout_ms, is_default, created_at, updated_at, version
    FROM datasources;
DROP TABLE datasources;
ALTER TABLE datasources_by_kind RENAME TO datasources;
UPDATE query_history
   SET datasource_id = (SELECT k.datasource_id FROM query_history_sources k WHERE k.id = query_history.id)
 WHERE id IN (SELECT id FROM query_history_sources);
DROP TABLE query_history_sources;

INSERT INTO datasources (name, type, url, is_default, created_at, updated_at)
SELECT CASE WHEN EXISTS (SELECT 1 FROM datasources WHERE name = 'Embedded' COLLATE NOCASE)
            THEN 'Embedded (built-in)' ELSE 'Embedded' END,
       'embedded', '', (SELECT count(*) = 0 FROM datasources),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
