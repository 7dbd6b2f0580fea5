import { afterAll, describe, expect, test } from "bun:test";
import { NatterError } from "../protocol/index.ts";
import { baseUrl, HttpApi, login, wsUrl } from "./http.ts";

describe("URLs", () => {
  test("baseUrl drops trailing slashes and keeps a path prefix", () => {
    expect(baseUrl("http://h:8080/")).toBe("http://h:8080");
    expect(baseUrl("https://h/natter//")).toBe("https://h/natter");
  });
  test("baseUrl refuses what is not http(s)", () => {
    expect(() => baseUrl("ftp://h")).toThrow(NatterError);
    expect(() => baseUrl("not a url")).toThrow(/not a server URL/);
  });
  test("wsUrl switches the scheme and carries the token", () => {
    expect(wsUrl("http://h:1", "a b")).toBe("ws://h:1/ws?token=a%20b");
    expect(wsUrl("https://h/x/", "t")).toBe("wss://h/x/ws?token=t");
  });
});

describe("HTTP calls (against a small peer)", () => {
  const peer = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/api/login") {
        const b = (await req.json()) as { code: string; device: string };
        if (b.code !== "good") return Response.json({ ok: false, error: { code: "unauthorized", message: "bad code" } }, { status: 401 });
        return Response.json({ token: "t", user: { id: "u_1" }, device: { id: "dv", name: b.device } });
      }
      if (path === "/api/ping") {
        if (req.headers.get("authorization") !== "Bearer tok") return new Response("nope", { status: 401 });
        return Response.json({ ok: true, at: 5 });
      }
      if (path === "/api/getAll") return new Response("<html>bad gateway</html>", { status: 502 });
      if (path === "/api/findUser") return Response.json({ ok: false, error: { code: "rate_limited", message: "slow", retry_after_ms: 250 } }, { status: 429 });
      if (path === "/api/typing") return new Promise<Response>(() => {}); // never answers
      return new Response("?", { status: 404 });
    },
  });
  const url = `http://127.0.0.1:${peer.port}`;
  afterAll(() => void peer.stop(true));

  test("login returns the result, or the server's error as a NatterError", async () => {
    expect((await login(url, "good", "laptop")).device.name).toBe("laptop");
    const e = await login(url, "bad", "x").catch((x) => x);
    expect(e).toBeInstanceOf(NatterError);
    expect(e.code).toBe("unauthorized");
  });

  test("an op returns its result without ok", async () => {
    expect(await new HttpApi(url, "tok").call("ping", {})).toEqual({ at: 5 });
  });

  test("error bodies keep code and retry_after_ms; bodies that are not ours map by status", async () => {
    const api = new HttpApi(url, "tok");
    const r = await api.call("findUser", { phone: "+1" }).catch((x) => x);
    expect([r.code, r.retryAfterMs]).toEqual(["rate_limited", 250]);
    expect((await api.call("getAll", {}).catch((x) => x)).code).toBe("internal");
    expect((await new HttpApi(url, "wrong").call("ping", {}).catch((x) => x)).code).toBe("unauthorized");
  });

  test("a server that does not answer in time is unavailable", async () => {
    const e = await new HttpApi(url, "tok", 150).call("typing", { channel: "c", state: "start" }).catch((x) => x);
    expect(e).toBeInstanceOf(NatterError);
    expect(e.code).toBe("unavailable");
  });
});
