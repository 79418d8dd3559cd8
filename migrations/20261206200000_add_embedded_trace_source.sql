-- The built-in span store is the "Embedded traces" source of the traces family: the same
-- built-in type as the metrics and log stores (`embedded`), a row of its own with family
-- 'traces', the traces default when no traces source is the default yet.
INSERT INTO datasources (name, type, url, is_default, created_at, updated_at, family)
SELECT CASE WHEN EXISTS (SELECT 1 FROM datasources WHERE name = 'Embedded traces' COLLATE NOCASE)
            THEN 'Embedded traces (built-in)' ELSE 'Embedded traces' END,
       'embedded', '',
       NOT EXISTS (SELECT 1 FROM datasources WHERE family = 'traces' AND is_default = 1),
       strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), 'traces';
