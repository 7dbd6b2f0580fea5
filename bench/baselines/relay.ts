// Baseline: a bare Bun websocket relay with no persistence and no auth. It
// speaks just enough of protocol v1 for the load generator (hello,
// sendMessage by `to` or `channel`, createGroup, ping): parse the frame,
// assign a seq, reply, publish the event: for a direct chat to the peer's
// user topic, for a group once to the group's topic (every member's sockets
// are subscribed when the group is created): Bun's cheapest fan-out.
// The token is the user id. Run: bun bench/baselines/relay.ts --port 0

import type { ServerWebSocket } from "bun";

const portArg = process.argv.indexOf("--port");
const port = portArg > 0 ? Number(process.argv[portArg + 1]) : 0;

interface Data {
  user: string;
}
interface Chan {
  id: string;
  members: string[];
  seq: number;
}

const channels = new Map<string, Chan>();
const sockets = new Map<string, Set<ServerWebSocket<Data>>>();
let groupN = 0;

function direct(a: string, b: string): Chan {
  const id = a < b ? `d_${a}_${b}` : `d_${b}_${a}`;
  let c = channels.get(id);
  if (!c) channels.set(id, (c = { id, members: [a, b], seq: 0 }));
  return c;
}

const server = Bun.serve<Data>({
  hostname: "127.0.0.1",
  port,
  fetch(req, srv) {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      const token = url.searchParams.get("token");
      if (!token) return new Response("unauthorized", { status: 401 });
      if (srv.upgrade(req, { data: { user: token } })) return undefined;
      return new Response("upgrade failed", { status: 400 });
    }
    if (url.pathname === "/healthz") return Response.json({ ok: true });
    return new Response("not found", { status: 404 });
  },
  websocket: {
    perMessageDeflate: false,
    idleTimeout: 0,
    sendPings: false,
    open(ws) {
      ws.subscribe("u:" + ws.data.user);
      let set = sockets.get(ws.data.user);
      if (!set) sockets.set(ws.data.user, (set = new Set()));
      set.add(ws);
      ws.send(JSON.stringify({ ev: "hello", user: { id: ws.data.user, name: ws.data.user, phone: "", last_seen: null }, device: { id: "d", name: "bench", created_at: 0 }, heartbeat_ms: 25000, protocol: 1 }));
    },
    close(ws) {
      sockets.get(ws.data.user)?.delete(ws);
    },
    message(ws, raw) {
      let f: any;
      try {
        f = JSON.parse(raw as string);
      } catch {
        ws.send(JSON.stringify({ re: null, ok: false, error: { code: "bad_request", message: "bad json" } }));
        return;
      }
      const me = ws.data.user;
      if (f.op === "sendMessage") {
        const c = f.channel !== undefined ? channels.get(f.channel) : direct(me, f.to);
        if (!c) {
          ws.send(JSON.stringify({ re: f.id, ok: false, error: { code: "not_found", message: "no such channel" } }));
          return;
        }
        const seq = ++c.seq;
        const message = {
          id: `${c.id}:${seq}`,
          channel: c.id,
          seq,
          sender: me,
          client_id: f.client_id,
          type: f.type,
          content: f.content,
          media: null,
          reply_to: null,
          sent_at: Date.now(),
          delivered_at: null,
          seen_at: null,
        };
        const ev = JSON.stringify({ ev: "message", message });
        if (c.id.startsWith("g_")) ws.publish("c:" + c.id, ev); // every member's sockets but this one
        else
          for (const u of c.members) {
            if (u === me) ws.publish("u:" + u, ev); // the sender's other devices, not this socket
            else server.publish("u:" + u, ev);
          }
        ws.send(JSON.stringify({ re: f.id, ok: true, message }));
      } else if (f.op === "createGroup") {
        const id = `g_${++groupN}`;
        const c: Chan = { id, members: [me, ...(f.members as string[]).filter((u) => u !== me)], seq: 0 };
        channels.set(id, c);
        for (const u of c.members) for (const s of sockets.get(u) ?? []) s.subscribe("c:" + id);
        ws.send(JSON.stringify({ re: f.id, ok: true, channel: { id, kind: "group", name: f.name, members: c.members } }));
      } else if (f.op === "ping") {
        ws.send(JSON.stringify({ re: f.id, ok: true, at: Date.now() }));
      } else {
        ws.send(JSON.stringify({ re: f.id ?? null, ok: false, error: { code: "bad_request", message: "unsupported op in the relay baseline" } }));
      }
    },
  },
});

console.log(JSON.stringify({ time: new Date().toISOString(), level: "info", msg: "listening", url: `http://127.0.0.1:${server.port}` }));
process.on("SIGTERM", () => {
  server.stop(true);
  process.exit(0);
});
