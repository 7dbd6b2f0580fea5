// Media metadata: the upload row and the channels it was linked to, in
// shard(media id); whether a committed message carries it, in shard(channel).
// A link written before the message marks a send in flight, which the orphan
// sweep must not undo.

import { NatterError } from "../../protocol/index.ts";
import type { Exec, WriteCtx } from "./exec.ts";
import type { MediaRow } from "./types.ts";

const MEDIA = "SELECT id, uploader, sha256, size, mime, name, width, height, created_at, sent FROM media";

// ---- reads ----

export const readMedia = (db: Exec, id: string) => db.get<MediaRow>(`${MEDIA} WHERE id = ?`, id);

export const readMediaLinks = (db: Exec, media: string) =>
  db.all<{ channel: string; at: number }>("SELECT channel_id AS channel, created_at AS at FROM media_links WHERE media_id = ? ORDER BY created_at", media);

/** A message in `channel` carries `media` at a seq `user` was a member for (in one of their periods, see MemberRow). */
export async function sharedWhileMember(db: Exec, channel: string, media: string, user: string): Promise<boolean> {
  return !!(await db.get(
    `SELECT 1 FROM messages m
     JOIN members mb ON mb.channel_id = m.channel_id AND mb.user_id = ?3
     WHERE m.channel_id = ?1 AND m.media = ?2
       AND ((m.seq > mb.joined_seq AND (mb.left_seq IS NULL OR m.seq <= mb.left_seq))
         OR EXISTS (SELECT 1 FROM json_each(mb.earlier) p
                    WHERE m.seq > json_extract(p.value, '$[0]') AND m.seq <= json_extract(p.value, '$[1]'))) LIMIT 1`,
    channel, media, user,
  ));
}

export async function sentIn(db: Exec, channel: string, media: string): Promise<boolean> {
  return !!(await db.get("SELECT 1 FROM messages WHERE channel_id = ? AND media = ? LIMIT 1", channel, media));
}

/** This shard's unsent uploads created before `before`, oldest first. */
export const readUnsent = (db: Exec, before: number, limit: number) =>
  db.all<MediaRow>(`${MEDIA} WHERE sent = 0 AND created_at < ? ORDER BY created_at LIMIT ?`, before, limit);

export async function usesBlob(db: Exec, sha256: string): Promise<boolean> {
  return !!(await db.get("SELECT 1 FROM media WHERE sha256 = ? LIMIT 1", sha256));
}

export async function uploadedBytes(db: Exec, user: string): Promise<number> {
  return (await db.get<{ n: number }>("SELECT COALESCE(SUM(size), 0) AS n FROM media WHERE uploader = ?", user))?.n ?? 0;
}

// ---- writes (named operations, see write-ops.ts) ----

export const mediaWrites = {
  async createMedia(c: WriteCtx, m: MediaRow): Promise<void> {
    await c.db.run(
      "INSERT INTO media (id, uploader, sha256, size, mime, name, width, height, created_at, sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      m.id, m.uploader, m.sha256, m.size, m.mime, m.name, m.width, m.height, m.created_at, m.sent,
    );
  },

  /** Throws not_found if the media row is gone. */
  async linkMedia(c: WriteCtx, a: { media: string; channel: string; at: number }): Promise<void> {
    if (!(await c.db.get("SELECT 1 FROM media WHERE id = ?", a.media))) throw new NatterError("not_found", "no such media");
    // created_at is refreshed on every send: it marks a send in flight for the sweep.
    await c.db.run(
      "INSERT INTO media_links (media_id, channel_id, created_at) VALUES (?, ?, ?) ON CONFLICT (media_id, channel_id) DO UPDATE SET created_at = excluded.created_at",
      a.media, a.channel, a.at,
    );
  },

  async markMediaSent(c: WriteCtx, a: { id: string }): Promise<void> {
    await c.db.run("UPDATE media SET sent = 1 WHERE id = ?", a.id);
  },

  /** Deletes the row and its links unless a link was written at or after `linksBefore`; false if it kept (or found) no row. */
  async deleteMedia(c: WriteCtx, a: { id: string; linksBefore: number }): Promise<boolean> {
    if (await c.db.get("SELECT 1 FROM media_links WHERE media_id = ? AND created_at >= ?", a.id, a.linksBefore)) return false;
    await c.db.run("DELETE FROM media_links WHERE media_id = ?", a.id);
    return (await c.db.run("DELETE FROM media WHERE id = ?", a.id)).changes > 0;
  },
};
