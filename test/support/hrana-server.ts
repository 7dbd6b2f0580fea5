// For tests only: a small libSQL-compatible server speaking Hrana v2 over
// HTTP (`POST /v2/pipeline`, JSON), the protocol @libsql/client uses for
// `http://` and `https://` URLs, backed by a bun:sqlite file. Each stream
// (baton) is its own connection, so interactive transactions behave as on a
// real server. It checks the bearer token when given one. Not sqld: enough
// protocol to run the storage suite and `natter serve --store http://...`
// without network access.

import { Database } from "bun:sqlite";
import { randomBytes } from "node:crypto";

type HValue =
  | { type: "null" }
  | { type: "integer"; value: string }
  | { type: "float"; value: number }
  | { type: "text"; value: string }
  | { type: "blob"; base64: string };

interface HStmt {
  sql?: string;
  sql_id?: number;
  args?: HValue[];
  named_args?: { name: string; value: HValue }[];
  want_rows?: boolean;
}

type HCond =
  | { type: "ok" | "error"; step: number }
  | { type: "not"; cond: HCond }
  | { type: "and" | "or"; conds: HCond[] }
  | { type: "is_autocommit" };

function toJs(v: HValue): unknown {
  switch (v.type) {
    case "null":
      return null;
    case "integer": {
      const n = BigInt(v.value);
      return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
    }
    case "float":
      return v.value;
    case "text":
      return v.value;
    case "blob":
      return Buffer.from(v.base64, "base64");
  }
}

function toHrana(v: unknown): HValue {
  if (v === null || v === undefined) return { type: "null" };
  if (typeof v === "bigint") return { type: "integer", value: String(v) };
  if (typeof v === "number") return Number.isInteger(v) ? { type: "integer", value: String(v) } : { type: "float", value: v };
  if (typeof v === "string") return { type: "text", value: v };
  if (v instanceof Uint8Array) return { type: "blob", base64: Buffer.from(v).toString("base64") };
  return { type: "text", value: String(v) };
}

/** One Hrana stream: a connection plus the SQL texts stored on it (store_sql). */
interface Stream {
  db: Database;
  sqls: Map<number, string>;
}

export interface TestHranaServer {
  url: string;
  /** Pipeline requests served (to show a test really went over HTTP). */
  requests(): number;
  stop(): void;
}

/** Serves the SQLite file at `path` on 127.0.0.1 (port 0 picks one). */
/** Runs `f` again while SQLite answers SQLITE_BUSY (another stream holds the write lock), for up to 5 s. */
async function patiently<T>(f: () => T): Promise<T> {
  const end = Date.now() + 5000;
  for (;;) {
    try {
      return f();
    } catch (e) {
      if ((e as { code?: string }).code !== "SQLITE_BUSY" || Date.now() > end) throw e;
      await Bun.sleep(2);
    }
  }
}

export function startTestHranaServer(path: string, opts: { token?: string; port?: number } = {}): TestHranaServer {
  const streams = new Map<string, Stream>();
  let served = 0;
  const open = () => {
    const db = new Database(path, { create: true });
    db.run("PRAGMA journal_mode = WAL");
    // No busy_timeout: waiting for a lock inside SQLite would block this one thread, and so the
    // stream holding the lock could never commit. `patiently` waits for it between turns instead.
    db.run("PRAGMA busy_timeout = 0");
    return db;
  };
  const exec = (st: Stream, s: HStmt) => {
    const db = st.db;
    const sql = s.sql ?? (s.sql_id !== undefined ? st.sqls.get(s.sql_id) : undefined) ?? "";
    const args = s.named_args?.length
      ? Object.fromEntries(s.named_args.map((a) => [a.name, toJs(a.value)]))
      : (s.args ?? []).map(toJs);
    const before = (db.query("SELECT total_changes() AS n").get() as { n: number }).n;
    const q = db.query(sql);
    const params = (Array.isArray(args) ? args : [args]) as any[];
    let rows: unknown[][] = [];
    let lastId: number | bigint | null = null;
    if (q.columnNames.length > 0) rows = q.values(...params) as unknown[][];
    else lastId = q.run(...params).lastInsertRowid;
    const after = (db.query("SELECT total_changes() AS n").get() as { n: number }).n;
    return {
      cols: q.columnNames.map((name) => ({ name, decltype: null })),
      rows: s.want_rows === false ? [] : rows.map((r) => r.map(toHrana)),
      affected_row_count: after - before,
      last_insert_rowid: lastId === null ? null : String(lastId),
      rows_read: 0,
      rows_written: 0,
      query_duration_ms: 0,
    };
  };
  const error = (e: unknown) => ({ message: (e as Error).message ?? String(e), code: (e as { code?: string }).code ?? "SQLITE_ERROR" });

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: opts.port ?? 0,
    async fetch(req) {
      const url = new URL(req.url);
      if (opts.token !== undefined && req.headers.get("authorization") !== `Bearer ${opts.token}`)
        return new Response(JSON.stringify({ message: "Unauthorized" }), { status: 401 });
      if (req.method === "GET" && url.pathname === "/v2") return new Response("ok");
      if (req.method !== "POST" || url.pathname !== "/v2/pipeline") return new Response("not found", { status: 404 });
      served++;
      const body = (await req.json()) as { baton?: string | null; requests: any[] };
      let baton = body.baton ?? null;
      let stream: Stream | undefined;
      if (baton) {
        stream = streams.get(baton);
        if (!stream) return new Response(JSON.stringify({ message: "stream expired" }), { status: 400 });
        streams.delete(baton);
      } else stream = { db: open(), sqls: new Map() };
      const db = stream.db;
      let open_ = true;
      const results: unknown[] = [];
      for (const r of body.requests) {
        try {
          if (r.type === "close") {
            db.close();
            open_ = false;
            results.push({ type: "ok", response: { type: "close" } });
          } else if (r.type === "execute") {
            results.push({ type: "ok", response: { type: "execute", result: await patiently(() => exec(stream, r.stmt)) } });
          } else if (r.type === "store_sql") {
            stream.sqls.set(r.sql_id, r.sql);
            results.push({ type: "ok", response: { type: "store_sql" } });
          } else if (r.type === "close_sql") {
            stream.sqls.delete(r.sql_id);
            results.push({ type: "ok", response: { type: "close_sql" } });
          } else if (r.type === "sequence") {
            await patiently(() => db.run(r.sql ?? stream.sqls.get(r.sql_id) ?? ""));
            results.push({ type: "ok", response: { type: "sequence" } });
          } else if (r.type === "get_autocommit") {
            results.push({ type: "ok", response: { type: "get_autocommit", is_autocommit: !db.inTransaction } });
          } else if (r.type === "batch") {
            const steps = r.batch.steps as { condition?: HCond; stmt: HStmt }[];
            const ok: (boolean | undefined)[] = [];
            const stepResults: unknown[] = [];
            const stepErrors: unknown[] = [];
            const cond = (c: HCond): boolean => {
              switch (c.type) {
                case "ok":
                  return ok[c.step] === true;
                case "error":
                  return ok[c.step] === false;
                case "not":
                  return !cond(c.cond);
                case "and":
                  return c.conds.every(cond);
                case "or":
                  return c.conds.some(cond);
                case "is_autocommit":
                  return !db.inTransaction;
              }
            };
            for (const [i, st] of steps.entries()) {
              if (st.condition && !cond(st.condition)) {
                stepResults.push(null);
                stepErrors.push(null);
                continue;
              }
              try {
                stepResults.push(await patiently(() => exec(stream, st.stmt)));
                stepErrors.push(null);
                ok[i] = true;
              } catch (e) {
                stepResults.push(null);
                stepErrors.push(error(e));
                ok[i] = false;
              }
            }
            results.push({ type: "ok", response: { type: "batch", result: { step_results: stepResults, step_errors: stepErrors } } });
          } else {
            results.push({ type: "error", error: { message: `unsupported request ${r.type}`, code: "NOT_SUPPORTED" } });
          }
        } catch (e) {
          results.push({ type: "error", error: error(e) });
        }
      }
      if (open_) {
        baton = randomBytes(12).toString("hex");
        streams.set(baton, stream);
      } else baton = null;
      return Response.json({ baton, base_url: null, results });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests: () => served,
    stop() {
      server.stop(true);
      for (const st of streams.values()) st.db.close();
      streams.clear();
    },
  };
}
