// Runs `natter chat`: checks for a terminal, finds (or asks for) credentials,
// takes over the screen, and gives it back on every way out.
import { render } from "ink";
import { hostname } from "node:os";
import { DEFAULT_PROFILE, login, NatterClient } from "../client/index.ts";
import { knownServers, loadCredentials, saveCredentials, saveLearnedNodes, type Credentials } from "../client/credentials.ts";
import { serverList } from "./components/setup.tsx";
import type { ChatCommandOptions } from "./register-chat.ts";
import { Root } from "./components/root.tsx";
import { mediaApi } from "./media-api.ts";
import { ThemeContext } from "./theme.ts";

export const EXIT_NO_TTY = 2;

const ENTER = "\x1b[?1049h\x1b[?2004h"; // alternate screen, bracketed paste
const LEAVE = "\x1b[?2004l\x1b[?1049l";

export interface ChatIo {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: Record<string, string | undefined>;
}

/** Same server? Compares origins, ignoring a trailing slash. */
export function sameServer(a: string, b: string): boolean {
  const norm = (s: string) => {
    try {
      return new URL(/^[a-z]+:\/\//i.test(s) ? s : `http://${s}`).origin;
    } catch {
      return s.replace(/\/+$/, "");
    }
  };
  return norm(a) === norm(b);
}

/**
 * Picks saved credentials, or explains why we must ask for a login code.
 * A --server list that names any server of the saved login (given or
 * learned) is the same cluster: the saved token is used over that list, for this run.
 */
export function chooseCredentials(opts: ChatCommandOptions, load: (profile?: string) => Credentials | null): { creds: Credentials | null; reason?: string } {
  let creds: Credentials | null;
  try {
    creds = load(opts.profile);
  } catch (e) {
    return { creds: null, reason: `${(e as Error).message}` };
  }
  const profile = opts.profile ? `profile "${opts.profile}"` : "this computer";
  if (!creds) return { creds: null, reason: `No saved login for ${profile}: log in with a code from your admin.` };
  if (!opts.server) return { creds };
  const given = serverList(opts.server);
  const list = typeof given === "string" ? [opts.server] : given;
  if (!list.some((g) => knownServers(creds).some((k) => sameServer(k, g))))
    return { creds: null, reason: `The saved login is for ${creds.servers.join(",")}; log in to ${opts.server} with a code.` };
  return { creds: { ...creds, server: list[0]!, servers: list, nodes: undefined } };
}

export async function runChat(opts: ChatCommandOptions, io: ChatIo = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }): Promise<number> {
  if (!io.stdin.isTTY || !io.stdout.isTTY) {
    io.stderr.write(
      "natter chat: needs an interactive terminal (stdin and stdout must be a TTY).\n" +
        "For scripts use natter send, natter history or natter watch.\n",
    );
    return EXIT_NO_TTY;
  }
  const { creds, reason } = chooseCredentials(opts, loadCredentials);
  const color = !io.env.NO_COLOR;
  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    io.stdout.write(LEAVE);
  };
  io.stdout.write(ENTER);
  const onSignal = (signal: NodeJS.Signals) => {
    instance.unmount();
    restore();
    process.exit(signal === "SIGHUP" ? 129 : 143);
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGHUP", onSignal);
  process.once("exit", restore);

  const instance = render(
    <ThemeContext.Provider value={{ color }}>
      <Root<Credentials>
        initial={creds}
        reason={reason}
        knownServer={opts.server ?? creds?.server ?? ""}
        defaultServer="http://localhost:8080"
        defaultDevice={`${hostname()} terminal`}
        login={async (server, code, device) => {
          const servers = server.split(",");
          const r = await login(servers, code, device);
          const c: Credentials = { server: servers[0]!, servers, token: r.token, user: r.user, device: r.device };
          saveCredentials(c, opts.profile);
          return c;
        }}
        makeClient={(c) => {
          const client = new NatterClient({ servers: knownServers(c), token: c.token });
          // Nodes learned from hello are kept in the profile (not for a run with its own --server).
          if (!opts.server)
            client.on("servers", () => {
              try {
                saveLearnedNodes(opts.profile ?? DEFAULT_PROFILE, c.token, client.learnedServers);
              } catch {}
            });
          return client;
        }}
        media={(c) => mediaApi(knownServers(c), c.token)}
        onExit={() => {}}
      />
    </ThemeContext.Provider>,
    { stdin: io.stdin, stdout: io.stdout, stderr: io.stderr, exitOnCtrlC: false },
  );
  try {
    await instance.waitUntilExit();
  } finally {
    restore();
    process.off("SIGTERM", onSignal);
    process.off("SIGHUP", onSignal);
  }
  return 0;
}
