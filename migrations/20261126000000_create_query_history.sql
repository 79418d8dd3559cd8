-- Each user's Explore query history: newest first, one row per run.
CREATE TABLE query_history (
    id            INTEGER PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    datasource_id INTEGER REFERENCES datasources(id) ON DELETE SET NULL,
    query         TEXT    NOT NULL,
    created_at    TEXT    NOT NULL
);
CREATE INDEX query_history_by_user ON query_history (user_id, id DESC);
