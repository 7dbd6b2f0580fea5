// What the domain needs from the transport: deliver frames to users' devices.
// Implemented by transport/hub.ts; the domain never sees a socket.

/** Opaque handle of one connection (used to skip the sender's own socket). */
export interface ConnRef {
  readonly id: number;
}

export interface Delivery {
  /** Sends a serialized event to every connection of each user, except `except`. */
  toUsers(users: Iterable<string>, frame: string, except?: ConnRef): void;
  /** Sends a channel's event to its current members' connections (`members`: unique user ids), except `except`. */
  toChannel(channel: string, members: readonly string[], frame: string, except?: ConnRef): void;
  /** True while the user has at least one open connection. */
  isOnline(user: string): boolean;
  /** Closes every connection of a device (revoked) or of a user (deleted). */
  closeDevice(device: string, code: number, reason: string): void;
  closeUser(user: string, code: number, reason: string): void;
}

/** Who is calling: the authenticated device, and its connection if on a websocket. */
export interface Caller {
  user: string;
  device: string;
  conn?: ConnRef;
  /**
   * Called by an op once its last write is queued in its shard's writer (which keeps that
   * order): the connection's next op may start, and its writes queue behind. An op that
   * never calls it releases the next one when it finishes.
   */
  handedOver?(): void;
}

/** Whether a user may attach a media id to a message (the media module answers; none yet means no). */
export interface MediaAccess {
  maySend(user: string, media: string): Promise<boolean>;
  /** Records that `media` is being sent in `channel`; called before the message commit, so
   *  members can download it as soon as they see the message (access still needs the commit). */
  shared(channel: string, media: string): Promise<void>;
  /** A message carrying `media`, sent at `sentAt`, was deleted for everyone: remove the media row
   *  and its bytes unless another message carries it (or a send since may). Never throws. */
  release?(media: string, sentAt: number): Promise<void>;
}
