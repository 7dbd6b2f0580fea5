// Versioned schema migrations, applied in order at open (PRAGMA user_version).
// Every shard carries the same schema; a row lives in the shard of its key.
// Never edit a released migration: append a new one.

export const MIGRATIONS: readonly string[] = [
  // 1: accounts, channels, messages, receipts
  `
  CREATE TABLE users (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    phone TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen INTEGER
  );
  CREATE TABLE phones (phone TEXT PRIMARY KEY, user_id TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE devices (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX devices_user ON devices(user_id);
  CREATE TABLE tokens (token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE login_codes (code_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, expires_at INTEGER NOT NULL) WITHOUT ROWID;
  CREATE TABLE user_channels (
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    PRIMARY KEY (user_id, channel_id)
  ) WITHOUT ROWID;
  CREATE TABLE channels (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    avatar_url TEXT NOT NULL,
    join_policy TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    last_seq INTEGER NOT NULL DEFAULT 0
  );
  CREATE TABLE members (
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    role TEXT NOT NULL,
    joined_seq INTEGER NOT NULL,
    left_seq INTEGER,
    delivered_seq INTEGER NOT NULL,
    delivered_at INTEGER,
    seen_seq INTEGER NOT NULL,
    seen_at INTEGER,
    PRIMARY KEY (channel_id, user_id)
  ) WITHOUT ROWID;
  CREATE TABLE messages (
    channel_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sender TEXT NOT NULL,
    client_id TEXT NOT NULL,
    type TEXT NOT NULL,
    content TEXT NOT NULL,
    media TEXT,
    reply_to TEXT,
    sent_at INTEGER NOT NULL,
    delivered_at INTEGER,
    seen_at INTEGER,
    PRIMARY KEY (channel_id, seq)
  ) WITHOUT ROWID;
  CREATE UNIQUE INDEX messages_client ON messages(channel_id, sender, client_id);
  CREATE TABLE invites (
    code TEXT PRIMARY KEY,
    channel_id TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  `,
];
