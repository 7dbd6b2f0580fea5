// A small tmux driver for terminal tests. Every Tmux uses its own server
// socket (`tmux -L <unique>`), so tests never see or touch anyone else's
// sessions; kill() ends that server and everything in it.
import { spawnSync } from "bun";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface PaneOptions {
  /** Command line to run in the pane (passed to sh -c by tmux). */
  command: string;
  cwd?: string;
  env?: Record<string, string>;
  width?: number;
  height?: number;
}

let counter = 0;

export class Tmux {
  readonly socket: string;
  private panes = new Set<string>();

  constructor(prefix = "natter-test") {
    this.socket = `${prefix}-${process.pid}-${Date.now().toString(36)}-${++counter}`;
  }

  /** Runs tmux on this socket; throws with stderr on failure. */
  tmux(args: string[]): string {
    const r = spawnSync(["tmux", "-L", this.socket, "-f", "/dev/null", ...args], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`tmux ${args.join(" ")} failed (${r.exitCode}): ${r.stderr.toString()}`);
    return r.stdout.toString();
  }

  /** Starts a detached session `name` running `command` in a width x height window (default 100x30). */
  newSession(name: string, o: PaneOptions): Pane {
    const envArgs = Object.entries(o.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    this.tmux([
      "new-session",
      "-d",
      "-s",
      name,
      "-x",
      String(o.width ?? 100),
      "-y",
      String(o.height ?? 30),
      ...(o.cwd ? ["-c", o.cwd] : []),
      ...envArgs,
      o.command,
    ]);
    // Keep the pane after the program exits, so its last screen can be read.
    this.tmux(["set-option", "-t", name, "remain-on-exit", "on"]);
    this.panes.add(name);
    return new Pane(this, name);
  }

  /** Kills this socket's tmux server (all its sessions) and removes its socket file. Safe to call twice. */
  kill(): void {
    spawnSync(["tmux", "-L", this.socket, "kill-server"], { stdout: "ignore", stderr: "ignore" });
    this.panes.clear();
    const uid = typeof process.getuid === "function" ? process.getuid() : 0;
    rmSync(join(process.env.TMUX_TMPDIR ?? "/tmp", `tmux-${uid}`, this.socket), { force: true });
  }

  /** Every pane's current screen, for failure reports. */
  dumpAll(): string {
    return [...this.panes].map((p) => new Pane(this, p).dump()).join("\n");
  }
}

export class Pane {
  constructor(
    readonly tmux: Tmux,
    readonly name: string,
  ) {}

  /**
   * Types text literally, in one write: control characters are keys ("\x0b" is Ctrl-K, "\r" Enter), so
   * a string is a burst of keys, as a slow link or a stalled program delivers them.
   */
  type(text: string): void {
    this.tmux.tmux(["send-keys", "-t", this.name, "-l", text]);
  }

  /**
   * Pastes text the way a terminal does: from a tmux buffer, between bracketed-paste markers when
   * the program asked for them (natter chat does), in as many writes as tmux needs.
   */
  paste(text: string): void {
    const file = join(process.env.TMPDIR ?? "/tmp", `${this.tmux.socket}-paste-${++counter}`);
    writeFileSync(file, text);
    try {
      this.tmux.tmux(["load-buffer", "-b", "natter-paste", file]);
      this.tmux.tmux(["paste-buffer", "-p", "-d", "-b", "natter-paste", "-t", this.name]);
    } finally {
      rmSync(file, { force: true });
    }
  }

  /** Sends key names: "Enter", "Tab", "C-k", "PageUp", "Escape", "M-Enter"... one call each. */
  keys(...keys: string[]): void {
    for (const k of keys) this.tmux.tmux(["send-keys", "-t", this.name, k]);
  }

  /** The visible screen with its SGR escapes (colors, bold...), as the terminal has it. */
  captureAnsi(): string {
    return this.tmux.tmux(["capture-pane", "-p", "-e", "-t", this.name]);
  }

  /** The visible screen as plain text (trailing spaces trimmed). */
  capture(): string {
    return this.tmux
      .tmux(["capture-pane", "-p", "-t", this.name])
      .split("\n")
      .map((l) => l.replace(/\s+$/, ""))
      .join("\n");
  }

  /** Resizes the window. */
  resize(width: number, height: number): void {
    this.tmux.tmux(["resize-window", "-t", this.name, "-x", String(width), "-y", String(height)]);
  }

  /** True once the pane's program has exited (the screen then says "Pane is dead (status N, ...)"). */
  dead(): boolean {
    return this.tmux.tmux(["display-message", "-p", "-t", this.name, "#{pane_dead}"]).trim() === "1";
  }

  /**
   * Polls the screen until `what` (a substring or a predicate) holds; throws
   * after `timeoutMs` with the screen in the message.
   */
  async waitFor(what: string | RegExp | ((screen: string) => boolean), timeoutMs = 10_000, label?: string): Promise<string> {
    const test = typeof what === "string" ? (s: string) => s.includes(what) : what instanceof RegExp ? (s: string) => what.test(s) : what;
    const deadline = Date.now() + timeoutMs;
    let screen = "";
    for (;;) {
      screen = this.capture();
      if (test(screen)) return screen;
      if (Date.now() > deadline) break;
      await Bun.sleep(100);
    }
    throw new Error(`pane ${this.name}: timed out after ${timeoutMs} ms waiting for ${label ?? String(what)}\n${this.dump(screen)}`);
  }

  /** Polls until `what` is no longer on screen. */
  async waitGone(what: string | RegExp, timeoutMs = 10_000): Promise<string> {
    const has = (s: string) => (typeof what === "string" ? s.includes(what) : what.test(s));
    return this.waitFor((s) => !has(s), timeoutMs, `${String(what)} to disappear`);
  }

  /** The screen framed with the pane's name, for test output. */
  dump(screen = this.capture()): string {
    const bar = "=".repeat(20);
    return `${bar} pane ${this.name} ${bar}\n${screen}\n${bar} end ${this.name} ${bar}`;
  }
}

/** Is tmux installed? (tmux tests skip with a note when it is not.) */
export function haveTmux(): boolean {
  try {
    return spawnSync(["tmux", "-V"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
}
