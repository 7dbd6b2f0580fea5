// natter send (--to PHONE|USER_ID | --channel ID) [--reply-to MSG_ID] TEXT|-
// natter send (--to ... | --channel ...) --file PATH [--type image|video|audio|file] [CAPTION|-]
// Exits 0 only once the server has stored the message.
import type { Command } from "commander";
import { fullJitterDelay, HttpApi, knownServers, messageTypeFor, uploadMedia } from "../../client/index.ts";
import { NatterError, type Message, type OpParams } from "../../protocol/index.ts";
import { looksLikePhone } from "../../protocol/phone.ts";
import { CliError, EXIT } from "../run.ts";
import { progressBar } from "./progress.ts";
import { parseSession, processIo, requireSession, runClientCommand, sessionOptions, type Io, type SessionOptions } from "./common.ts";

export interface SendOptions extends SessionOptions {
  /** A phone number (starts with + or a digit) or a user id. */
  to?: string;
  channel?: string;
  replyTo?: string;
  /** The text, or "-" to read it from stdin. */
  text: string;
  /** Give up retrying rate limits / unavailability after this long. */
  timeoutMs: number;
  /** A file to upload and send; `text` is then an optional caption. */
  file?: string;
  /** Message type for --file (default: from the type the server sniffed). */
  type?: "image" | "video" | "audio" | "file";
}

const FILE_TYPES = ["image", "video", "audio", "file"] as const;

export function parseSendOptions(raw: Record<string, unknown>, text: string | undefined): SendOptions {
  const to = typeof raw.to === "string" && raw.to ? raw.to : undefined;
  const channel = typeof raw.channel === "string" && raw.channel ? raw.channel : undefined;
  if (!to === !channel) throw new CliError("give exactly one of --to PHONE|USER_ID or --channel ID", EXIT.usage);
  const file = typeof raw.file === "string" && raw.file ? raw.file : undefined;
  if (text === undefined && !file) throw new CliError("missing TEXT (use - to read it from stdin, or --file PATH)", EXIT.usage);
  const type = raw.type === undefined ? undefined : FILE_TYPES.find((t) => t === raw.type);
  if (raw.type !== undefined && (!type || !file)) throw new CliError(`--type goes with --file and is one of ${FILE_TYPES.join(", ")}`, EXIT.usage);
  const replyTo = typeof raw.replyTo === "string" && raw.replyTo ? raw.replyTo : undefined;
  return { ...parseSession(raw), to, channel, replyTo, text: text ?? "", timeoutMs: 60_000, ...(file && { file }), ...(type && { type }) };
}

/** True if `to` names a phone number (sent as typed; the server normalises it) rather than a user id. */
export const isPhone = looksLikePhone;

/** Strips the one newline that ends piped input. */
export function stdinText(s: string): string {
  return s.replace(/\r?\n$/, "");
}

/** sendMessage with one client_id, resent after rate_limited/unavailable until acknowledged or `timeoutMs`. */
export async function sendAcked(api: HttpApi, params: OpParams["sendMessage"], timeoutMs: number): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      return (await api.call("sendMessage", params)).message;
    } catch (e) {
      if (!(e instanceof NatterError) || (e.code !== "rate_limited" && e.code !== "unavailable")) throw e;
      const wait = e.retryAfterMs ?? fullJitterDelay(attempt);
      if (Date.now() + wait > deadline) throw e;
      await Bun.sleep(wait);
    }
  }
}

export async function runSend(o: SendOptions, io: Io = processIo): Promise<void> {
  const s = requireSession(o);
  const api = new HttpApi(knownServers(s), s.token);
  const content = o.text === "-" ? stdinText(await io.stdin()) : o.text;
  if (!content && !o.file) throw new CliError("refusing to send an empty message", EXIT.usage);
  let to = o.to;
  if (to && isPhone(to)) to = (await api.call("findUser", { phone: to })).user.id;
  let media: { id: string; type: "image" | "video" | "audio" | "file" } | null = null;
  if (o.file) {
    const bar = progressBar(o.file.slice(o.file.lastIndexOf("/") + 1));
    const file = o.file;
    const up = await api.onServer((server) => uploadMedia(server, s.token, file, { onProgress: (p) => (o.json ? undefined : bar.update(p)) }));
    if (!o.json) bar.finish();
    media = { id: up.id, type: o.type ?? messageTypeFor(up.mime) };
  }
  const params: OpParams["sendMessage"] = {
    client_id: crypto.randomUUID(),
    type: media ? media.type : "text",
    content,
    ...(media && { media: media.id }),
    ...(to && { to }),
    ...(o.channel && { channel: o.channel }),
    ...(o.replyTo && { reply_to: o.replyTo }),
  };
  const m = await sendAcked(api, params, o.timeoutMs);
  if (o.json) io.out(JSON.stringify(m) + "\n");
  else io.out(`sent ${m.id}${m.media ? ` (${m.type} ${m.media})` : ""}\n`);
}

export function registerSend(program: Command, run: (o: SendOptions) => Promise<void> = runSend): void {
  const cmd = program
    .command("send")
    .description("send a text message or a file; exits 0 once the server has stored it")
    .argument("[text]", "the message text (with --file: a caption), or - to read it from stdin")
    .option("--to <who>", "a phone number (+15551234) or a user id: the direct chat with them")
    .option("--channel <id>", "a channel id (see natter chats)")
    .option("--reply-to <msg_id>", "the id of the message this one answers")
    .option("--file <path>", "upload this file and send it (progress bar on a TTY)")
    .option("--type <type>", "with --file: image, video, audio or file (default: from the file's content)");
  sessionOptions(cmd).action(async (text: string | undefined, raw: Record<string, unknown>) => {
    await runClientCommand(raw, async () => run(parseSendOptions(raw, text)));
  });
}
