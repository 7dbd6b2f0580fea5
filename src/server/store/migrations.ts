// Versioned schema migrations, applied in order at open and recorded in
// PRAGMA user_version. Every shard file (and the one libSQL database) carries
// the same schema; a row lives in the shard of its key (layout.ts).
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
  // 2: media metadata (in shard(media id)) and the channels each media id was sent to.
  // A link only says where to look: access needs a committed message carrying the media
  // (messages_media finds it) in a channel the reader was a member of at that seq.
  `
  CREATE TABLE media (
    id TEXT PRIMARY KEY,
    uploader TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    size INTEGER NOT NULL,
    mime TEXT NOT NULL,
    name TEXT NOT NULL,
    width INTEGER,
    height INTEGER,
    created_at INTEGER NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX media_sha256 ON media(sha256);
  CREATE INDEX media_uploader ON media(uploader);
  CREATE INDEX media_unsent ON media(created_at) WHERE sent = 0;
  CREATE TABLE media_links (
    media_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (media_id, channel_id)
  ) WITHOUT ROWID;
  CREATE INDEX messages_media ON messages(channel_id, media) WHERE media IS NOT NULL;
  `,
  // 3: a member's earlier membership periods, kept when they rejoin: a JSON array of
  // [joined_seq, left_seq] pairs, oldest first (the row's own pair is the latest period).
  `
  ALTER TABLE members ADD COLUMN earlier TEXT NOT NULL DEFAULT '[]';
  `,
  // 4: invites expire, have a use limit and can be revoked; a member removed by an admin is
  // barred from invites created up to the removal. Invites made before this migration get the
  // default limits (7 days from creation, 100 uses).
  `
  ALTER TABLE invites ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE invites ADD COLUMN max_uses INTEGER NOT NULL DEFAULT 100;
  ALTER TABLE invites ADD COLUMN uses INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE invites ADD COLUMN revoked_at INTEGER;
  UPDATE invites SET expires_at = created_at + 604800000;
  CREATE INDEX invites_channel ON invites(channel_id, created_at);
  CREATE TABLE invite_bars (
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    barred_at INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id)
  ) WITHOUT ROWID;
  `,
  // privacy: in shard(user), each user's settings (no row = "everyone" for both, the behaviour
  // before this migration) and the groups they created in the last hour (the --max-groups-per-hour cap).
  `
  CREATE TABLE privacy (
    user_id TEXT PRIMARY KEY,
    find_by_phone TEXT NOT NULL,
    add_to_groups TEXT NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE group_creations (
    user_id TEXT NOT NULL,
    channel_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, channel_id)
  ) WITHOUT ROWID;
  `,
  // Edits, deletes and reactions: a message's current state (edited_at, deleted_at, reactions as
  // JSON [{emoji, users}]); each change is also a row of its own (type 'change', or 'hide' for a
  // delete-for-me that only its sender reads) whose reply_to names its target; hidden holds each
  // user's deleted-for-me messages.
  `
  ALTER TABLE messages ADD COLUMN edited_at INTEGER;
  ALTER TABLE messages ADD COLUMN deleted_at INTEGER;
  ALTER TABLE messages ADD COLUMN reactions TEXT;
  CREATE INDEX messages_changes ON messages(channel_id, reply_to) WHERE type = 'change';
  CREATE TABLE hidden (
    channel_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (channel_id, user_id, seq)
  ) WITHOUT ROWID;
  `,
];

/**
 * The SQL that brings a database at schema `version` (its user_version) up to
 * date: each pending migration in its own transaction that also records its
 * number; "" when there is none. Throws if the database is newer than this natter.
 */
export function migrationScript(version: number): string {
  let script = "";
  for (let v = version, step: string | null; (step = migrationStep(v)) !== null; v++) script += `BEGIN IMMEDIATE;\n${step}COMMIT;\n`;
  return script;
}

/**
 * The next migration for a database at schema `version`, with the statement that records
 * its number, to run inside a transaction the caller opens; null when none is pending.
 */
export function migrationStep(version: number): string | null {
  if (version > MIGRATIONS.length) throw new Error(`schema version ${version} is newer than this natter (${MIGRATIONS.length}); upgrade natter`);
  return version === MIGRATIONS.length ? null : `${MIGRATIONS[version]}\nPRAGMA user_version = ${version + 1};\n`;
}
