-- API token scopes: '' acts with the token's role everywhere; 'ingest' may only push
-- metrics (remote-write, OTLP) and nothing else.
ALTER TABLE api_tokens ADD COLUMN scopes TEXT NOT NULL DEFAULT '' CHECK (scopes IN ('', 'ingest'));
