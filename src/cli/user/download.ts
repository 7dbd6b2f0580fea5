// natter download MEDIA_ID [-o PATH|DIR|-] [--force]
// Saves a media file (checked against its SHA-256), with a progress bar on a TTY.
// Without -o the server's file name is used in the current directory. An
// interrupted download leaves PATH.part and continues from it when run again.
import type { Command } from "commander";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { downloadMedia, HttpApi, knownServers } from "../../client/index.ts";
import { CliError, EXIT } from "../run.ts";
import { parseSession, processIo, requireSession, runClientCommand, sessionOptions, type Io, type SessionOptions } from "./common.ts";
import { progressBar } from "./progress.ts";

export interface DownloadOptions extends SessionOptions {
  media: string;
  /** A file, an existing directory, "-" for stdout, or undefined for ./<server's name>. */
  output?: string;
  force: boolean;
}

export function parseDownloadOptions(raw: Record<string, unknown>, media: string | undefined): DownloadOptions {
  if (!media) throw new CliError("missing MEDIA_ID", EXIT.usage);
  const output = typeof raw.output === "string" && raw.output ? raw.output : undefined;
  return { ...parseSession(raw), media, output, force: raw.force === true };
}

/** A local file name from the server's offer: base name only, never empty, never hidden or "..". */
export function localName(offered: string, media: string): string {
  const base = offered.slice(Math.max(offered.lastIndexOf("/"), offered.lastIndexOf("\\")) + 1).replace(/[\u0000-\u001f\u007f]/g, "");
  const clean = base.replace(/^\.+/, "");
  return clean || media;
}

/** Where the bytes go, given the options and the name the server offers. */
export function targetPath(o: DownloadOptions, offered: string, cwd = process.cwd()): string {
  let p: string;
  if (o.output === undefined) p = join(cwd, localName(offered, o.media));
  else if (existsSync(o.output) && statSync(o.output).isDirectory()) p = join(o.output, localName(offered, o.media));
  else p = o.output;
  if (!o.force && existsSync(p)) throw new CliError(`${p} exists (use --force to overwrite, or -o PATH)`, EXIT.usage);
  return p;
}

export async function runDownload(o: DownloadOptions, io: Io = processIo): Promise<void> {
  const s = requireSession(o);
  const api = new HttpApi(knownServers(s), s.token);
  if (o.output === "-") {
    const out = new WritableStream<Uint8Array>({
      write: (chunk) => new Promise<void>((resolve, reject) => process.stdout.write(chunk, (e) => (e ? reject(e) : resolve()))),
    });
    await api.onServer((server) => downloadMedia(server, s.token, o.media, out));
    return;
  }
  let bar = progressBar(o.media);
  const d = await api.onServer((server) => downloadMedia(
    server,
    s.token,
    o.media,
    (offered) => {
      const p = targetPath(o, offered);
      bar = progressBar(localName(offered, o.media));
      return p;
    },
    { resume: true, onProgress: (p) => (o.json ? undefined : bar.update(p)) },
  ));
  if (!o.json) bar.finish();
  if (o.json) io.out(JSON.stringify(d) + "\n");
  else io.out(`saved ${d.path} (${d.size} bytes, ${d.mime})\n`);
}

export function registerDownload(program: Command, run: (o: DownloadOptions) => Promise<void> = runDownload): void {
  const cmd = program
    .command("download")
    .description("download a file someone shared (a media id from history or watch)")
    .argument("[media_id]", "the media id (m_...)")
    .option("-o, --output <path>", "file or directory to write (- for stdout); default: the file's name here")
    .option("--force", "overwrite an existing file", false);
  sessionOptions(cmd).action(async (media: string | undefined, raw: Record<string, unknown>) => {
    await runClientCommand(raw, async () => run(parseDownloadOptions(raw, media)));
  });
}
