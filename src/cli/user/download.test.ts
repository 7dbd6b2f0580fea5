import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Command } from "commander";
import { CliError, EXIT } from "../run.ts";
import { localName, parseDownloadOptions, registerDownload, targetPath, type DownloadOptions } from "./download.ts";
import { parseSendOptions, registerSend, type SendOptions } from "./send.ts";
import { formatBytes, progressLine } from "./progress.ts";

async function parse<T>(register: (p: Command, run: (o: T) => Promise<void>) => void, argv: string[]): Promise<T> {
  const p = new Command("natter").exitOverride();
  let got: T | undefined;
  register(p, async (o) => void (got = o));
  await p.parseAsync(argv, { from: "user" });
  return got!;
}
const usage = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(CliError);
    return e as CliError;
  }
  throw new Error("expected a usage error");
};

describe("download options", () => {
  test("MEDIA_ID, -o, --force, --json", async () => {
    const o = await parse<DownloadOptions>(registerDownload, ["download", "m_abc", "-o", "/tmp/x", "--force", "--json"]);
    expect(o).toMatchObject({ media: "m_abc", output: "/tmp/x", force: true, json: true });
    expect(usage(() => parseDownloadOptions({}, undefined)).exitCode).toBe(EXIT.usage);
  });
  test("the offered name is reduced to a plain base name", () => {
    expect(localName("../../.bashrc", "m_1")).toBe("bashrc");
    expect(localName("a\nb.txt", "m_1")).toBe("ab.txt");
    expect(localName("", "m_1")).toBe("m_1");
    expect(localName("..", "m_1")).toBe("m_1");
  });
  test("target: the offered name here or in a directory, -o as given; existing files need --force", () => {
    const dir = mkdtempSync(join(tmpdir(), "natter-dl-"));
    try {
      const base: DownloadOptions = { profile: "default", json: false, media: "m_1", force: false };
      expect(targetPath(base, "photo.png", dir)).toBe(join(dir, "photo.png"));
      expect(targetPath({ ...base, output: dir }, "photo.png")).toBe(join(dir, "photo.png"));
      expect(targetPath({ ...base, output: join(dir, "x.png") }, "photo.png")).toBe(join(dir, "x.png"));
      writeFileSync(join(dir, "photo.png"), "");
      expect(usage(() => targetPath(base, "photo.png", dir)).message).toContain("--force");
      expect(targetPath({ ...base, force: true }, "photo.png", dir)).toBe(join(dir, "photo.png"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("send --file options", () => {
  test("--file makes the text an optional caption; --type needs --file and a known type", async () => {
    const o = await parse<SendOptions>(registerSend, ["send", "--to", "u_b", "--file", "a.png"]);
    expect(o).toMatchObject({ to: "u_b", file: "a.png", text: "" });
    const t = await parse<SendOptions>(registerSend, ["send", "--channel", "g_1", "--file", "a.ogg", "--type", "audio", "voice note"]);
    expect(t).toMatchObject({ channel: "g_1", file: "a.ogg", type: "audio", text: "voice note" });
    expect(usage(() => parseSendOptions({ to: "u", type: "audio" }, "x")).exitCode).toBe(EXIT.usage);
    expect(usage(() => parseSendOptions({ to: "u", file: "f", type: "gif" }, "x")).message).toContain("image, video, audio, file");
  });
});

describe("progress line", () => {
  test("bar, percent, sizes and speed; unknown total shows bytes only", () => {
    expect(progressLine("a.bin", { done: 512 * 1024, total: 1024 * 1024 }, 1000, 10)).toBe("a.bin  [#####·····]  50%  512.0 KiB/1.0 MiB  512.0 KiB/s");
    expect(progressLine("a.bin", { done: 0, total: 0 }, 0)).toBe("a.bin  0 B  0 B/s");
    expect(progressLine("a.bin", { done: 2048, total: null }, 2000)).toBe("a.bin  2.0 KiB  1.0 KiB/s");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GiB");
  });
});
