-- Data sources. `secret` holds the password or bearer token, encrypted (see
-- server/src/sources/secrets.rs); it is never returned by the API.
CREATE TABLE datasources (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL UNIQUE COLLATE NOCASE,
    type       TEXT    NOT NULL CHECK (type IN ('prometheus')),
    url        TEXT    NOT NULL,
    auth_type  TEXT    NOT NULL DEFAULT 'none' CHECK (auth_type IN ('none', 'basic', 'bearer')),
    username   TEXT    NOT NULL DEFAULT '',
    secret     TEXT,
    timeout_ms INTEGER NOT NULL DEFAULT 30000,
    is_default INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),
    created_at TEXT    NOT NULL,
    updated_at TEXT    NOT NULL
);
