/**
 * The embedded store's schema, one entry per version (PRAGMA user_version). Append only: a
 * released migration is never edited, a change is a new entry.
 */
export const MIGRATIONS: readonly string[] = [
  `
  -- The work queues (SQS semantics). Times are epoch milliseconds.
  CREATE TABLE queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    queue TEXT NOT NULL,
    body TEXT NOT NULL,
    visible_at INTEGER NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    receipt TEXT UNIQUE,
    sent_at INTEGER NOT NULL
  );
  CREATE INDEX queue_messages_by_visibility ON queue_messages (queue, visible_at, seq);

  -- The ledger: domain objects as JSON, with the columns that queries filter on.
  -- expires_at is epoch seconds, like DynamoDB TTL.
  CREATE TABLE ledger_records (
    record_key TEXT PRIMARY KEY,
    data TEXT NOT NULL,
    rev INTEGER NOT NULL,
    expires_at INTEGER
  );
  CREATE INDEX ledger_records_by_expiry ON ledger_records (expires_at) WHERE expires_at IS NOT NULL;

  CREATE TABLE ledger_requests (
    id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    source TEXT NOT NULL,
    record_id TEXT NOT NULL,
    data TEXT NOT NULL,
    rev INTEGER NOT NULL,
    expires_at INTEGER
  );
  CREATE INDEX ledger_requests_by_state ON ledger_requests (state, updated_at, id);
  CREATE INDEX ledger_requests_by_time ON ledger_requests (updated_at, id);
  CREATE INDEX ledger_requests_by_source ON ledger_requests (source, updated_at, id);
  CREATE INDEX ledger_requests_by_record ON ledger_requests (record_id, updated_at, id);
  CREATE INDEX ledger_requests_by_expiry ON ledger_requests (expires_at) WHERE expires_at IS NOT NULL;

  CREATE TABLE ledger_deliveries (
    source TEXT NOT NULL,
    delivery_id TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (source, delivery_id)
  ) WITHOUT ROWID;
  CREATE INDEX ledger_deliveries_by_expiry ON ledger_deliveries (expires_at);

  CREATE TABLE ledger_agents (
    agent_id TEXT PRIMARY KEY,
    data TEXT NOT NULL
  );
  `,
]
