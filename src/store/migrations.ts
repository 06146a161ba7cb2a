/** Numbered schema migrations; index i takes `PRAGMA user_version` from i to i+1. Append only. */
export const migrations: readonly string[] = [
  `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);

  CREATE TABLE chats (
    chat_id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    name TEXT NOT NULL,
    folder TEXT NOT NULL UNIQUE,
    trigger TEXT NOT NULL,
    requires_trigger INTEGER NOT NULL,
    is_main INTEGER NOT NULL,
    allowed_senders TEXT,
    limits TEXT,
    extra_mounts TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL
  );

  CREATE TABLE messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    channel TEXT NOT NULL,
    chat_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sender_id TEXT NOT NULL,
    sender_name TEXT NOT NULL,
    text TEXT NOT NULL,
    ts INTEGER NOT NULL,
    from_me INTEGER NOT NULL,
    mentions_assistant INTEGER NOT NULL,
    triggers INTEGER NOT NULL,
    received_at INTEGER NOT NULL,
    UNIQUE (channel, chat_id, message_id)
  );
  CREATE INDEX messages_chat_seq ON messages (chat_id, seq);

  CREATE TABLE cursors (
    chat_id TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE turns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    from_seq INTEGER NOT NULL,
    to_seq INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed', 'interrupted')),
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    error TEXT,
    input_tokens INTEGER,
    output_tokens INTEGER
  );
  CREATE INDEX turns_chat ON turns (chat_id, id);

  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    turn_id INTEGER,
    text TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    delivered_at INTEGER
  );
  CREATE INDEX outbox_pending ON outbox (status, id);

  CREATE TABLE sessions (
    chat_id TEXT PRIMARY KEY,
    session_id TEXT NOT NULL,
    updated_at INTEGER NOT NULL
  );
  `,
  // 2: delivery states. "sending" is written before the platform call, so a crash leaves the row
  // marked ambiguous; maybe_sent counts ambiguous outcomes, resends the resends that followed one;
  // sent_chunks is how many chunks of a long reply the platform confirmed (a retry skips them).
  // SQLite cannot alter a CHECK constraint, so the table is rebuilt with its rows and ids.
  `
  CREATE TABLE outbox_v2 (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    turn_id INTEGER,
    text TEXT NOT NULL,
    status TEXT NOT NULL
      CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'failed_maybe_sent')),
    attempts INTEGER NOT NULL DEFAULT 0,
    maybe_sent INTEGER NOT NULL DEFAULT 0,
    resends INTEGER NOT NULL DEFAULT 0,
    sent_chunks INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sending_at INTEGER,
    delivered_at INTEGER
  );
  INSERT INTO outbox_v2 (id, chat_id, turn_id, text, status, attempts, last_error, created_at, delivered_at)
    SELECT id, chat_id, turn_id, text, status, attempts, last_error, created_at, delivered_at FROM outbox;
  DROP TABLE outbox;
  ALTER TABLE outbox_v2 RENAME TO outbox;
  CREATE INDEX outbox_pending ON outbox (status, id);
  CREATE INDEX outbox_chat ON outbox (chat_id, status, id);
  `,
  // 3: why a turn failed, as a code (model_unavailable, TURN_TIMEOUT, ...): an outage leaves its
  // messages unanswered and tells the chat once, so the next turn must know the last one's cause.
  `
  ALTER TABLE turns ADD COLUMN error_code TEXT;
  `,
];
