-- One row naming this portal installation; /readyz reads it to prove the schema is there.
CREATE TABLE instance (
    singleton  INTEGER PRIMARY KEY CHECK (singleton = 1),
    id         TEXT    NOT NULL,
    created_at TEXT    NOT NULL
);
