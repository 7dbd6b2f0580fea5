// Pipelined requests on one socket take effect in arrival order (PROTOCOL.md):
// their commits (hence seqs) and their replies follow the order the frames
// arrived in, whatever each op awaits (media checks, reply_to, the first
// message to a new contact).

import { describe, expect, test } from "bun:test";
import { makeUser, type TestServer, type TestUser } from "../harness.ts";
import { bytes, uploadOk } from "./media-helpers.ts";
import { serverPerFile } from "./server-helpers.ts";

const T = 60_000;
let server: TestServer;
const connect = serverPerFile({}, (s) => (server = s));

/** Seqs of the replies to `ids`, in request order; fails on any error reply. */
async function seqsOf(c: Awaited<ReturnType<typeof connect>>, ids: number[]): Promise<number[]> {
  const out: number[] = [];
  for (const id of ids) {
    const r = await c.reply(id, 30_000);
    if (!r.ok) throw new Error(`request ${id} failed: ${JSON.stringify(r.error)}`);
    out.push(r.message.seq);
  }
  return out;
}

describe("pipelined requests on one socket", () => {
  test("mixed media / reply / text sends commit and answer in arrival order", async () => {
    const alice = await makeUser(server, "Alice");
    const bob = await makeUser(server, "Bob");
    const a = await connect(alice);
    const first = await a.call("sendMessage", { to: bob.user.id, client_id: "first", type: "text", content: "hello" });
    const channel = first.message.channel;
    const media: string[] = [];
    for (let i = 0; i < 34; i++) media.push((await uploadOk(server, alice.token, bytes(64, i + 1))).id);
    const order: number[] = []; // reply frames in the order they arrive
    const ids: number[] = [];
    const prevOnMessage = a.ws.onmessage!;
    a.ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data));
      if ("re" in f) order.push(f.re);
      (prevOnMessage as (ev: MessageEvent) => void)(e);
    };
    for (let i = 0; i < 100; i++) {
      const kind = i % 3;
      const base = { channel, client_id: `p-${i}` };
      if (kind === 0) ids.push(a.send("sendMessage", { ...base, type: "image", content: `photo ${i}`, media: media[i / 3]! }));
      else if (kind === 1) ids.push(a.send("sendMessage", { ...base, type: "text", content: `reply ${i}`, reply_to: first.message.id }));
      else ids.push(a.send("sendMessage", { ...base, type: "text", content: `caption ${i}` }));
    }
    const seqs = await seqsOf(a, ids);
    expect(seqs).toEqual(ids.map((_, i) => first.message.seq + 1 + i));
    expect(order).toEqual(ids);
  }, T);

  test("sends to a new contact (`to`) pipelined: the first request gets the first seq", async () => {
    const alice = await makeUser(server, "Alice2");
    const carol = await makeUser(server, "Carol");
    const a = await connect(alice);
    const ids: number[] = [];
    for (let i = 0; i < 50; i++) ids.push(a.send("sendMessage", { to: carol.user.id, client_id: `n-${i}`, type: "text", content: `m ${i}` }));
    expect(await seqsOf(a, ids)).toEqual(ids.map((_, i) => i + 1));
  }, T);

  test("a bad frame's reply keeps its place among the replies", async () => {
    const alice: TestUser = await makeUser(server, "Alice3");
    const dave = await makeUser(server, "Dave");
    const a = await connect(alice);
    const order: Array<number | null> = [];
    const prev = a.ws.onmessage as (ev: MessageEvent) => void;
    a.ws.onmessage = (e) => {
      const f = JSON.parse(String(e.data));
      if ("re" in f) order.push(f.re);
      prev(e);
    };
    const x = a.send("sendMessage", { to: dave.user.id, client_id: "b-1", type: "text", content: "one" });
    a.ws.send("[not an object]");
    const y = a.send("ping");
    await a.reply(y);
    expect(order).toEqual([x, null, y]);
  }, T);
});
