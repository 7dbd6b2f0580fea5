// /file and /save: upload a local file and send it as a message of the
// right type; download a media id to a file, never overwriting one. Both
// show their progress in the store (ChatState.transfers) and can be
// cancelled. Failures throw NatterError with a message meant for the user.
import { existsSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, extname, isAbsolute, join, resolve } from "node:path";
import { messageTypeFor, type Progress } from "../client/index.ts";
import { NatterError, type Message } from "../protocol/index.ts";
import type { ChatClient, SendParams } from "./chat-client.ts";
import { humanSize } from "./format.ts";
import type { MediaApi } from "./media-api.ts";
import type { Action, ChannelState, ChatState } from "./state.ts";

/** Where relative paths and `~` point (the process's own by default). */
export interface Places {
  cwd: string;
  home: string;
}

export function defaultPlaces(): Places {
  return { cwd: process.cwd(), home: homedir() };
}

/** `~` and `~/x` to the home directory; relative paths against cwd. */
export function resolvePath(p: string, places: Places): string {
  if (p === "~") return places.home;
  if (p.startsWith("~/")) return join(places.home, p.slice(2));
  return isAbsolute(p) ? p : resolve(places.cwd, p);
}

/** A safe local file name from the server's offer: base name only, no control characters, never hidden, never empty. */
export function localName(offered: string, fallback: string): string {
  const base = offered.slice(Math.max(offered.lastIndexOf("/"), offered.lastIndexOf("\\")) + 1).replace(/[\u0000-\u001f\u007f]/g, "");
  return base.replace(/^[.\s]+/, "") || fallback;
}

/** The path itself if free, else "name (1).ext", "name (2).ext", ...; a path is taken if it or its ".part" exists. */
export function freePath(path: string, exists: (p: string) => boolean = existsSync): string {
  const taken = (p: string) => exists(p) || exists(`${p}.part`);
  if (!taken(path)) return path;
  const ext = extname(path);
  const stem = path.slice(0, path.length - ext.length);
  for (let n = 1; ; n++) {
    const p = `${stem} (${n})${ext}`;
    if (!taken(p)) return p;
  }
}

/**
 * Where /save writes. No PATH: the current directory with the sender's file name; an existing
 * directory (or PATH ending in "/"): that directory with the name. In both, a taken name becomes
 * "name (1).ext". An explicit file PATH that exists is refused; nothing is ever overwritten.
 */
export function saveTarget(arg: string | null, offered: string, media: string, places: Places, fs: { exists(p: string): boolean; isDir(p: string): boolean } = realFs): string {
  const name = localName(offered, media);
  if (arg === null) return freePath(join(places.cwd, name), fs.exists);
  const p = resolvePath(arg, places);
  if (arg.endsWith("/") || (fs.exists(p) && fs.isDir(p))) {
    if (!fs.exists(p)) throw new NatterError("bad_request", `no such directory: ${p}`);
    return freePath(join(p, name), fs.exists);
  }
  if (fs.exists(p)) throw new NatterError("bad_request", `${p} already exists; nothing saved (give another name, or a directory)`);
  if (!fs.exists(dirname(p))) throw new NatterError("bad_request", `no such directory: ${dirname(p)}`);
  return p;
}

const realFs = {
  exists: existsSync,
  isDir: (p: string) => {
    try {
      return statSync(p).isDirectory();
    } catch {
      return false;
    }
  },
};

/** The newest media message of a channel (the one /save takes without MEDIA). */
export function lastMedia(ch: ChannelState | null): Message | null {
  const ms = ch?.messages ?? [];
  for (let i = ms.length - 1; i >= 0; i--) if (ms[i]!.media) return ms[i]!;
  return null;
}

/** "uploading cat.png 42% of 2.1 KiB" */
export function transferText(t: { kind: "upload" | "download"; name: string; done: number; total: number | null }): string {
  const verb = t.kind === "upload" ? "uploading" : "saving";
  if (t.total === null || t.total <= 0) return `${verb} ${t.name} ${humanSize(t.done)}`;
  const pct = Math.min(100, Math.floor((t.done / t.total) * 100));
  return `${verb} ${t.name} ${pct}% of ${humanSize(t.total)}`;
}

// ---- running transfers ----

/** One transfer in progress: its abort signal, and how it reports. */
export interface TransferHandle {
  readonly signal: AbortSignal;
  progress(p: Progress): void;
  rename(name: string): void;
  end(): void;
}

/** The transfers in progress: each shows in the store until it ends; cancelAll aborts them. */
export class Transfers {
  private n = 0;
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly dispatch: (a: Action) => void) {}

  get count(): number {
    return this.running.size;
  }

  begin(kind: "upload" | "download", name: string): TransferHandle {
    const id = `${kind}:${++this.n}`;
    const ac = new AbortController();
    this.running.set(id, ac);
    let t = { id, kind, name, done: 0, total: null as number | null };
    let shownPct = -1;
    let shownAt = 0;
    this.dispatch({ type: "transfer", transfer: t });
    return {
      signal: ac.signal,
      progress: (p) => {
        t = { ...t, done: p.done, total: p.total };
        // Repaint when the percentage moves (or every 200 ms without a total), not per chunk.
        const pct = p.total ? Math.floor((p.done / p.total) * 100) : -1;
        const at = Date.now();
        if ((pct !== -1 && pct === shownPct) || (pct === -1 && at - shownAt < 200)) return;
        shownPct = pct;
        shownAt = at;
        this.dispatch({ type: "transfer", transfer: t });
      },
      rename: (name) => {
        t = { ...t, name };
        this.dispatch({ type: "transfer", transfer: t });
      },
      end: () => {
        this.running.delete(id);
        this.dispatch({ type: "transferDone", id });
      },
    };
  }

  /** Aborts every transfer in progress; returns how many. */
  cancelAll(): number {
    const n = this.running.size;
    for (const ac of this.running.values()) ac.abort();
    return n;
  }
}

/** What the transfers need from the controller. */
export interface TransferContext {
  readonly client: ChatClient;
  readonly media: MediaApi | null;
  readonly places: Places;
  readonly transfers: Transfers;
  getState(): ChatState;
  dispatch(a: Action): void;
  notify(text: string, kind?: "info" | "error"): void;
}

const baseName = (p: string) => p.slice(p.lastIndexOf("/") + 1);

function needMedia(ctx: TransferContext): MediaApi {
  if (!ctx.media) throw new NatterError("bad_request", "file sharing is not available in this session");
  return ctx.media;
}

/** A network error as a NatterError the user can read. */
function transferError(e: unknown, what: string): NatterError {
  if (e instanceof NatterError) {
    // "larger than the upload limit of 104857600 bytes" reads better as "100 MiB".
    const msg = e.message.replace(/\b(\d{4,}) bytes\b/g, (_, n: string) => humanSize(Number(n)));
    return new NatterError(e.code, `${what}: ${e.code === "too_large" && !/large/i.test(msg) ? `too large: ${msg}` : msg}`);
  }
  const msg = e instanceof Error ? e.message : String(e);
  return new NatterError("unavailable", `${what}: server unreachable (${msg})`);
}

/** The file /file means: `path` if it exists, else all the words as one path (unquoted spaces). */
export function chooseUpload(path: string, whole: string, places: Places, exists: (p: string) => boolean = existsSync): { path: string; useCaption: boolean } {
  const first = resolvePath(path, places);
  if (exists(first) || whole === path) return { path: first, useCaption: true };
  const all = resolvePath(whole, places);
  return exists(all) ? { path: all, useCaption: false } : { path: first, useCaption: true };
}

/**
 * /file: uploads PATH (progress in the store), then sends it to `target` as an image, video,
 * audio or file message with the caption. Resolves with the stored message, or null when the
 * upload was cancelled (Esc). Throws NatterError: missing file, too_large, unreachable.
 */
export async function sendFile(ctx: TransferContext, target: { channel: string } | { to: string }, cmd: { path: string; caption: string; whole: string }): Promise<Message | null> {
  const api = needMedia(ctx);
  const { path, useCaption } = chooseUpload(cmd.path, cmd.whole, ctx.places);
  const name = baseName(path);
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new NatterError("bad_request", `no such file: ${path}`);
  }
  if (st.isDirectory()) throw new NatterError("bad_request", `${path} is a directory; /file sends one file`);
  const h = ctx.transfers.begin("upload", name);
  let media;
  try {
    media = await api.upload(path, { onProgress: h.progress, signal: h.signal });
  } catch (e) {
    if (h.signal.aborted) {
      ctx.notify(`upload of ${name} cancelled; nothing was sent`);
      return null;
    }
    throw transferError(e, `${name} not sent`);
  } finally {
    h.end();
  }
  // Name and size are known now: the label needs no lookup.
  ctx.dispatch({ type: "media", id: media.id, info: media });
  const p: SendParams = { type: messageTypeFor(media.mime), media: media.id, content: useCaption ? cmd.caption : "" };
  if ("channel" in target) p.channel = target.channel;
  else p.to = target.to;
  const m = await ctx.client.sendMessage(p).catch((e: unknown) => {
    throw new NatterError(e instanceof NatterError ? e.code : "internal", `${name} uploaded but not sent: ${e instanceof Error ? e.message : String(e)} (Ctrl-R retries)`);
  });
  ctx.notify(`sent ${name} (${humanSize(media.size)})`);
  return m;
}

/**
 * /save: downloads `media` (default: the newest file in `ch`) to `pathArg` (see saveTarget),
 * checked against the server's SHA-256. Resolves with the path written, or null when cancelled
 * (Esc; nothing is left behind). Throws NatterError: nothing to save, not_found, the target
 * exists, unreachable.
 */
export async function saveMedia(ctx: TransferContext, media: string | null, pathArg: string | null, ch: ChannelState | null): Promise<string | null> {
  const api = needMedia(ctx);
  let id = media;
  if (!id) {
    if (!ch) throw new NatterError("bad_request", "open a chat first, or give a media id: /save MEDIA [PATH]");
    const m = lastMedia(ch);
    if (!m) throw new NatterError("bad_request", "no file in this chat yet (older history: PgUp, or /save MEDIA [PATH])");
    id = m.media!;
  }
  const known = ctx.getState().media[id];
  let label = known?.name || id;
  const h = ctx.transfers.begin("download", label);
  try {
    const d = await api.download(
      id,
      (offered) => {
        const p = saveTarget(pathArg, offered || known?.name || "", id, ctx.places);
        label = baseName(p);
        h.rename(label);
        return p;
      },
      { onProgress: h.progress, signal: h.signal },
    );
    ctx.notify(`saved ${d.path} (${humanSize(d.size)})`);
    return d.path;
  } catch (e) {
    if (h.signal.aborted) {
      ctx.notify(`saving ${label} cancelled; nothing was saved`);
      return null;
    }
    if (e instanceof NatterError && e.code === "bad_request") throw e; // our own refusal (target exists, ...)
    if (e instanceof NatterError && e.code === "not_found") throw new NatterError("not_found", `no such file: ${id} (or you cannot see it)`);
    throw transferError(e, `${label} not saved`);
  } finally {
    h.end();
  }
}
