-- Dashboards: the native JSON document plus the metadata search needs. Every save is a
-- version (kept in dashboard_versions); `provisioned_from` names the file that owns it.
CREATE TABLE dashboards (
    uid              TEXT    PRIMARY KEY,
    title            TEXT    NOT NULL,
    folder           TEXT    NOT NULL DEFAULT '',
    tags             TEXT    NOT NULL DEFAULT '[]',
    doc              TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    provisioned_from TEXT,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL
);
CREATE INDEX dashboards_by_title ON dashboards (title COLLATE NOCASE);

CREATE TABLE dashboard_versions (
    uid        TEXT    NOT NULL REFERENCES dashboards(uid) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    doc        TEXT    NOT NULL,
    message    TEXT    NOT NULL DEFAULT '',
    author     TEXT    NOT NULL,
    created_at TEXT    NOT NULL,
    PRIMARY KEY (uid, version)
);

CREATE TABLE dashboard_stars (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    uid     TEXT    NOT NULL REFERENCES dashboards(uid) ON DELETE CASCADE,
    PRIMARY KEY (user_id, uid)
);

CREATE TABLE dashboard_views (
    user_id   INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    uid       TEXT    NOT NULL REFERENCES dashboards(uid) ON DELETE CASCADE,
    viewed_at TEXT    NOT NULL,
    PRIMARY KEY (user_id, uid)
);
