// The executor the storage rules run on, over @libsql/client: the client
// itself (reads) or an open transaction (writes). Rows come back as plain
// objects keyed by column name, like bun:sqlite's.

import type { Client, InArgs, Transaction } from "@libsql/client";
import type { Exec, Param } from "../exec.ts";

export function libsqlExec(conn: Client | Transaction): Exec {
  const rows = async (sql: string, params: Param[]) => {
    const rs = await conn.execute({ sql, args: params as InArgs });
    return rs.rows.map((r) => {
      const o: Record<string, unknown> = {};
      rs.columns.forEach((c, i) => (o[c] = r[i] ?? null));
      return o;
    });
  };
  return {
    async get<T>(sql: string, ...params: Param[]) {
      return ((await rows(sql, params))[0] as T | undefined) ?? null;
    },
    async all<T>(sql: string, ...params: Param[]) {
      return (await rows(sql, params)) as T[];
    },
    async run(sql: string, ...params: Param[]) {
      return { changes: (await conn.execute({ sql, args: params as InArgs })).rowsAffected };
    },
  };
}
