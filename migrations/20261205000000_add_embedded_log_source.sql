-- The built-in log store is the "Embedded" source of the logs family: the same built-in
-- type as the metrics store (`embedded`), a row of its own with family 'logs', the logs
-- default when no logs source is the default yet.
INSERT INTO datasources (name, type, url, is_default, created_at, updated_at, family)
SELECT CASE WHEN EXISTS (SELECT 1 FROM datasources WHERE name = 'Embedded logs' COLLATE NOCASE)
            THEN 'Embedded logs (built-in)' ELSE 'Embedded logs' END,
       'embedded', '',
       NOT EXISTS (SELECT 1 FROM datasources WHERE family = 'logs' AND is_default = 1),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'logs';
