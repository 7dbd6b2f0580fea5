// Row -> wire shape mapping.
import type { Message, User } from "../../protocol/index.ts";
import { messageId } from "../ids.ts";
import type { MessageRow, UserRow } from "../store/types.ts";

export function toMessage(r: MessageRow): Message {
  return {
    id: messageId(r.channel, r.seq),
    channel: r.channel,
    seq: r.seq,
    sender: r.sender,
    client_id: r.client_id,
    type: r.type,
    content: r.content,
    media: r.media,
    reply_to: r.reply_to,
    sent_at: r.sent_at,
    delivered_at: r.delivered_at,
    seen_at: r.seen_at,
    edited_at: r.edited_at,
    deleted_at: r.deleted_at,
    reactions: r.reactions,
  };
}

export function toUser(r: UserRow): User {
  return { id: r.id, name: r.name, phone: r.phone, last_seen: r.last_seen };
}
