// The server's one door for the CLI: what runs the server in-process
// (`natter serve`: the config and startServer; `natter admin restore`:
// rebuilding a data directory offline). Everything else in src/cli talks to a
// running server over HTTP with the shapes in src/protocol.
export { ConfigError, DEFAULTS, OPTIONS, envName, loadConfig, type ServerConfig } from "./config.ts";
export { startServer, type NatterServer, type ServerDeps } from "./server.ts";
export { DataDirInUse } from "./data-lock.ts";
export { DataDirUnsafe } from "./data-perms.ts";
export { DiskFullAtStart } from "./disk-full.ts";
export { restoreDataDir, RestoreError, type RestoreEvent, type RestoreReport } from "./replication/restore.ts";
