// `natter serve`: start the server. Flags, NATTER_* variables and a JSON
// config file are merged by loadConfig; SIGTERM/SIGINT drain and exit 0.
import type { Command } from "commander";
import { resolve } from "node:path";
import { ConfigError, DataDirInUse, DataDirUnsafe, DiskFullAtStart, OPTIONS, envName, loadConfig, DEFAULTS, startServer, type NatterServer, type ServerConfig } from "../server/index.ts";
import { EXIT } from "./run.ts";

export function registerServe(program: Command): void {
  const cmd = program
    .command("serve")
    .description("run the natter server (data in ./data by default)")
    .option("--config <file>", "JSON config file (also NATTER_CONFIG)");
  for (const o of OPTIONS) {
    const arg = o.kind === "bool" ? "" : o.kind === "int" ? " <n>" : " <value>";
    cmd.option(`--${o.flag}${arg}`, `${o.help} (default ${JSON.stringify(DEFAULTS[o.key])}; env ${envName(o.flag)})`);
  }
  cmd.action(async (opts: Record<string, string | undefined>) => {
    const flags: Partial<Record<keyof ServerConfig, unknown>> = {};
    for (const o of OPTIONS) {
      const camel = o.flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (opts[camel] !== undefined) flags[o.key] = opts[camel];
    }
    let config: ServerConfig;
    try {
      config = loadConfig(flags, process.env, opts.config);
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`natter serve: ${e.message}\n`);
        process.exit(2);
      }
      throw e;
    }
    // Handlers go in before start-up: a supervisor may signal as soon as it sees "listening".
    // (startServer runs synchronously up to its "listening" line, so they go in before the call.)
    let starting: Promise<NatterServer> | null = null;
    const shutdown = async (signal: string) => {
      process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "signal", signal }) + "\n");
      if (starting) await (await starting).stop();
      process.exit(0);
    };
    process.on("SIGTERM", () => void shutdown("SIGTERM"));
    process.on("SIGINT", () => void shutdown("SIGINT"));
    starting = startServer(config);
    let server: NatterServer;
    try {
      server = await starting;
    } catch (e) {
      // Start-up failures (port in use, Litestream missing, storage refused) are the operator's to fix: no stack.
      process.stderr.write(`natter serve: ${(e as Error).message}\n`);
      process.exit(e instanceof DataDirInUse ? EXIT.inUse : e instanceof DataDirUnsafe ? EXIT.usage : e instanceof DiskFullAtStart ? EXIT.diskFull : 1);
    }
    if (process.stderr.isTTY) {
      // Logs stay JSON on stdout; a person at a terminal also gets the essentials in plain words.
      process.stderr.write(
        `\nnatter is listening on ${server.url}\n  data:        ${server.dataDir}\n  admin token: ${server.dataDir}/admin.token\n` +
          `  next:        ${firstAdminCommand(server.url, server.dataDir)}\n\n`,
      );
    }
  });
}

/**
 * The first admin command for a server listening on `url` with data in
 * `dataDir`, as run from `cwd`: with --server and --data only where admin's
 * defaults (http://127.0.0.1:8080, ./data) would not find this server.
 */
export function firstAdminCommand(url: string, dataDir: string, cwd = process.cwd()): string {
  const u = new URL(url);
  if (u.hostname === "0.0.0.0" || u.hostname === "[::]") u.hostname = "127.0.0.1";
  const server = u.origin === "http://127.0.0.1:8080" ? "" : ` --server ${u.origin}`;
  const data = resolve(cwd, dataDir) === resolve(cwd, "data") ? "" : ` --data ${dataDir}`;
  return `natter admin${server}${data} users add --name NAME --phone PHONE`;
}
