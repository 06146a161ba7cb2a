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
  // 4: scheduled tasks and their runs. A run is queued when its task fires and taken by the chat's
  // queue like a message; at most one queued or running run per task, so downtime never piles up a burst.
  `
  CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chat_id TEXT NOT NULL,
    prompt TEXT NOT NULL,
    schedule_type TEXT NOT NULL CHECK (schedule_type IN ('cron', 'interval', 'once')),
    schedule_value TEXT NOT NULL,
    context_mode TEXT NOT NULL CHECK (context_mode IN ('group', 'isolated')),
    status TEXT NOT NULL CHECK (status IN ('active', 'paused', 'done', 'failed')),
    next_run_at INTEGER,
    last_run_at INTEGER,
    last_result TEXT,
    last_error TEXT,
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );
  CREATE INDEX tasks_due ON tasks (status, next_run_at);
  CREATE INDEX tasks_chat ON tasks (chat_id, id);

  CREATE TABLE task_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    task_id INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    chat_id TEXT NOT NULL,
    scheduled_for INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    queued_at INTEGER NOT NULL,
    started_at INTEGER,
    ended_at INTEGER,
    error TEXT,
    error_code TEXT,
    replies INTEGER NOT NULL DEFAULT 0,
    reply_chars INTEGER NOT NULL DEFAULT 0,
    attempts INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX task_runs_open ON task_runs (status, chat_id, id);
  CREATE INDEX task_runs_task ON task_runs (task_id, id);
  `,
];
