// SQL text shared by the two Store backends (bun:sqlite shards and libSQL):
// the same schema (sqlite/migrations.ts) read and written the same way.
// The statements whose exact wording matters live here once; each backend
// keeps only its plumbing.

export const CHANNEL_COLS =
  "id, kind, name, description, avatar_url, join_policy AS [join], created_at, created_by, last_seq";
export const MESSAGE_COLS =
  "channel_id AS channel, seq, sender, client_id, type, content, media, reply_to, sent_at, delivered_at, seen_at";
export const MEMBER_COLS = "user_id, role, joined_seq, left_seq, delivered_seq, seen_seq";
export const MEDIA_COLS = "id, uploader, sha256, size, mime, name, width, height, created_at, sent";

/** Add or re-add a member: (channel, user, role, seq) with cursors starting at seq. */
export const MEMBER_UPSERT = `
    INSERT INTO members (channel_id, user_id, role, joined_seq, left_seq, delivered_seq, seen_seq)
    VALUES (?1, ?2, ?3, ?4, NULL, ?4, ?4)
    ON CONFLICT (channel_id, user_id)
    DO UPDATE SET role = ?3, joined_seq = ?4, left_seq = NULL, delivered_seq = ?4, seen_seq = ?4`;

/** A group never stays without an admin: promote the longest-standing member (?1 = channel). */
export const PROMOTE_LONGEST_MEMBER = `
    UPDATE members SET role = 'admin'
    WHERE channel_id = ?1 AND user_id = (
    SELECT user_id FROM members
    WHERE channel_id = ?1 AND left_seq IS NULL ORDER BY joined_seq, user_id LIMIT 1)`;

/** Set both cursors; their times move only when a cursor moves. */
export const ADVANCE_CURSOR = `
    UPDATE members SET delivered_seq = ?, seen_seq = ?,
      delivered_at = CASE WHEN ? > delivered_seq THEN ? ELSE delivered_at END,
      seen_at = CASE WHEN ? > seen_seq THEN ? ELSE seen_at END
    WHERE channel_id = ? AND user_id = ?`;

/** Media sent in a channel at a seq the user could read: (?1 channel, ?2 media, ?3 user). */
export const MEDIA_SHARED_WHILE_MEMBER = `
    SELECT 1 FROM messages m
    JOIN members mb ON mb.channel_id = m.channel_id AND mb.user_id = ?3
    WHERE m.channel_id = ?1 AND m.media = ?2
      AND m.seq > mb.joined_seq AND (mb.left_seq IS NULL OR m.seq <= mb.left_seq) LIMIT 1`;

/** Stamp delivered_at / seen_at on messages every other current member has reached: (?1 at, ?2 channel, ?3 from, ?4 to]. */
export const STAMP = {
  delivered: `
    UPDATE messages SET delivered_at = ?1
    WHERE channel_id = ?2 AND seq > ?3 AND seq <= ?4 AND delivered_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM members m
    WHERE m.channel_id = ?2 AND m.left_seq IS NULL AND m.user_id != messages.sender AND m.delivered_seq < messages.seq)`,
  seen: `
    UPDATE messages SET seen_at = ?1
    WHERE channel_id = ?2 AND seq > ?3 AND seq <= ?4 AND seen_at IS NULL
    AND NOT EXISTS (SELECT 1 FROM members m
    WHERE m.channel_id = ?2 AND m.left_seq IS NULL AND m.user_id != messages.sender AND m.seen_seq < messages.seq)`,
} as const;
