// Wire shapes of natter protocol v1 (see docs/protocol.md). Imported by the
// server, the client library, the CLI and the TUI; nothing internal rides here.

export const PROTOCOL_VERSION = 1;

export type MessageType = "text" | "image" | "video" | "audio" | "file";
export const MESSAGE_TYPES: readonly MessageType[] = ["text", "image", "video", "audio", "file"];

/** Addition: the type of a change entry (an edit, delete or reaction with its own seq; see ChangeRecord). */
export type EntryType = MessageType | "change";

export type JoinPolicy = "invite" | "open";

/** Addition: who a privacy setting lets in (getPrivacy / setPrivacy; docs/protocol.md "Privacy"). */
export type PrivacyAudience = "everyone" | "contacts" | "nobody";
export const PRIVACY_AUDIENCES: readonly PrivacyAudience[] = ["everyone", "contacts", "nobody"];
/** Addition: a user's privacy settings; "everyone" for both until the user sets them. */
export interface Privacy {
  /** Who finds the user with findUser; anyone else gets not_found, as for an unknown number. */
  find_by_phone: PrivacyAudience;
  /** Who may put the user in a group (createGroup, addMembers); the others are `refused`. */
  add_to_groups: PrivacyAudience;
}

export interface User {
  id: string;
  name: string;
  phone: string;
  /** Last time any device of the user disconnected; null if never seen. */
  last_seen: number | null;
}

export interface Device {
  id: string;
  name: string;
  created_at: number;
}

/** A device as its own user sees it (listDevices): `current` marks the calling device. Addition. */
export interface OwnDevice extends Device {
  current: boolean;
}

/** A group's invite as its admins see it (listInvites). Addition. */
export interface Invite {
  invite: string;
  /** A user id, or "admin" for the operator. */
  created_by: string;
  created_at: number;
  /** It admits no one from this time on. */
  expires_at: number;
  /** Joins it has admitted; it admits no one once `uses` reaches `max_uses`. */
  uses: number;
  max_uses: number;
}

export interface Message {
  /** `${channel}:${seq}`: stable, and routable to the channel's shard. */
  id: string;
  channel: string;
  seq: number;
  sender: string;
  client_id: string;
  /** "change" (addition): a change entry; `reply_to` names its target, `content` is its ChangeRecord as JSON. */
  type: EntryType;
  content: string;
  media: string | null;
  /** Id of the message this one replies to (same channel), or null. */
  reply_to: string | null;
  sent_at: number;
  /** Set once every other member has reached this seq. */
  delivered_at: number | null;
  seen_at: number | null;
  /** Additions: when the content was last edited, when it was deleted for everyone (then content is "" and media null). */
  edited_at: number | null;
  deleted_at: number | null;
  /** Addition: one emoji per user, grouped; each group's users in the order they reacted. */
  reactions: Reaction[];
}

export interface Reaction {
  emoji: string;
  users: string[];
}

/**
 * Addition: what a change entry did to its target (the JSON in a "change" entry's content;
 * its sender did it, at its sent_at). "hide" (delete for me) is an entry only its sender reads.
 * An edit's content is cleared (content "") once its target is deleted for everyone.
 */
export type ChangeRecord =
  | { op: "edit"; content: string }
  | { op: "delete" }
  | { op: "hide" }
  | { op: "react"; emoji: string };

export type DeleteScope = "everyone" | "me";

export interface Channel {
  id: string;
  kind: "direct" | "group";
  name: string;
  description: string;
  avatar_url: string;
  join: JoinPolicy;
  created_at: number;
  members: string[];
  admins: string[];
  last_seq: number;
  last_message: Message | null;
  /** The caller's own cursors. */
  delivered_seq: number;
  seen_seq: number;
  /** Others' messages after seen_seq. */
  unread: number;
}

export interface MediaInfo {
  id: string;
  size: number;
  /** Sniffed from the content, not taken from the upload's Content-Type. */
  mime: string;
  sha256: string;
  /** The uploader's file name, sanitized. */
  name: string;
  /** Image dimensions (null when not an image or unreadable). Additions to the core shape. */
  width: number | null;
  height: number | null;
  created_at: number;
}

// ---- events pushed by the server ----

export interface HelloEvent {
  ev: "hello";
  user: User;
  device: Device;
  heartbeat_ms: number;
  protocol: number;
  /** (Addition) The base URLs of the cluster's nodes (a node's --peers); absent on a single node. */
  nodes?: string[];
}
/** Addition: events may have been missed (a node of the cluster died or its link overflowed): gap-fill every channel. */
export interface ResyncEvent {
  ev: "resync";
}
export interface MessageEvent {
  ev: "message";
  message: Message;
}
export interface ReceiptEvent {
  ev: "receipt";
  channel: string;
  user: string;
  delivered_seq: number;
  seen_seq: number;
  at: number;
}
export interface TypingEvent {
  ev: "typing";
  channel: string;
  user: string;
  state: "start" | "stop";
}
export type MemberAction = "joined" | "left" | "added" | "removed";
export interface MemberEvent {
  ev: "member";
  channel: string;
  user: string;
  action: MemberAction;
  by: string;
}
export interface PresenceEvent {
  ev: "presence";
  user: string;
  online: boolean;
  last_seen: number | null;
}

/** Addition: a device of the user was linked (logged in with a code) or revoked; sent to the user's other devices. */
export type DeviceAction = "linked" | "revoked";
export interface DeviceEvent {
  ev: "device";
  /** The user whose device it is (always the receiver's own). */
  user: string;
  action: DeviceAction;
  device: Device;
}

/**
 * Additions: a message was edited, deleted or reacted to. `seq` is the target's, `change_seq` the
 * change entry's own (the entry itself is `change`, so catch-up by seq stays dense), `message`
 * the target's state after it. A delete "for me" goes to the deleter's own devices only.
 */
interface ChangeEventBase {
  channel: string;
  seq: number;
  change_seq: number;
  message: Message;
  change: Message;
}
export interface EditEvent extends ChangeEventBase {
  ev: "edit";
}
export interface DeleteEvent extends ChangeEventBase {
  ev: "delete";
  scope: DeleteScope;
}
export interface ReactionEvent extends ChangeEventBase {
  ev: "reaction";
  user: string;
  /** "" when the user's reaction was removed. */
  emoji: string;
}
export type ChangeEvent = EditEvent | DeleteEvent | ReactionEvent;

export type ServerEvent =
  | HelloEvent
  | ResyncEvent
  | MessageEvent
  | ReceiptEvent
  | TypingEvent
  | MemberEvent
  | PresenceEvent
  | DeviceEvent
  | ChangeEvent;

// ---- requests and replies ----

export interface WireError {
  code: ErrorCode;
  message: string;
  retry_after_ms?: number;
  /** On every HTTP error and on `internal` errors: the id the server's log line of this error carries. */
  request_id?: string;
}

export type Reply =
  | ({ re: number | string | null; ok: true } & Record<string, unknown>)
  | { re: number | string | null; ok: false; error: WireError };

export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "conflict"
  | "group_full"
  | "too_large"
  | "rate_limited"
  | "window_closed"
  | "unavailable"
  | "internal";

export const ERROR_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  group_full: 409,
  too_large: 413,
  rate_limited: 429,
  window_closed: 403,
  unavailable: 503,
  internal: 500,
};

/** Results of each op (the reply body without `re` and `ok`). */
export interface OpResults {
  getAll: { channels: Channel[] };
  getMessages: { messages: Message[]; has_more: boolean };
  sendMessage: { message: Message };
  /** `refused` is an addition (this server always sends it; older ones do not): the named members
   *  whose privacy settings do not let the caller add them, who were not added. */
  createGroup: { channel: Channel; refused?: string[] };
  /** `expires_at` and `max_uses` are additions: the limits the invite was given. */
  createInvite: { invite: string; expires_at: number; max_uses: number };
  joinGroup: { channel: Channel };
  leaveGroup: Record<string, never>;
  /** `refused`: as for createGroup. */
  addMembers: { channel: Channel; refused?: string[] };
  removeMember: Record<string, never>;
  markDelivered: Record<string, never>;
  markSeen: Record<string, never>;
  typing: Record<string, never>;
  findUser: { user: User };
  /** Addition: profiles of users who share a channel with the caller (others are left out). */
  getUsers: { users: User[] };
  ping: { at: number };
  /** Addition: a single-use login code for the caller's own user, valid until `expires_at`. */
  linkDevice: { code: string; expires_at: number };
  /** Addition: the caller's own devices, oldest first. */
  listDevices: { devices: OwnDevice[] };
  /** Addition: revokes one of the caller's own devices (the caller's included). */
  revokeDevice: Record<string, never>;
  /** Addition: revokes one of the group's invites (group admins). */
  revokeInvite: Record<string, never>;
  /** Addition: the group's invites that still admit someone, oldest first (group admins). */
  listInvites: { invites: Invite[] };
  /** Addition: the caller's privacy settings. */
  getPrivacy: { privacy: Privacy };
  /** Addition: the caller's privacy settings after the change. */
  setPrivacy: { privacy: Privacy };
  /** Addition: edits one's own text message (within the edit window); its state after. */
  editMessage: { message: Message };
  /** Addition: deletes a message for everyone (the sender within the window, or a group admin) or for the caller. */
  deleteMessage: Record<string, never>;
  /** Addition: sets ("" removes) the caller's one reaction to a message. */
  react: Record<string, never>;
}

/** Login over HTTP: POST /api/login. */
export interface LoginResult {
  token: string;
  user: User;
  device: Device;
}
