// Privacy settings and the group-creation cap against a real server
// (--max-groups-per-hour 3): who finds whom by phone and who may put whom in a
// group, for each setting and each kind of caller, over the websocket, the
// HTTP mirror, the client library and the CLI; a hidden user's findUser
// answer is the unknown number's, byte for byte; the cap at its edge.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { NatterClient } from "../../src/client/index.ts";
import type { PrivacyAudience } from "../../src/protocol/index.ts";
import { addUser, adminFetch, api, makeUser, runCli, type TestServer, type TestUser } from "../harness.ts";
import { expectError, expectHttpError, expectNoEvent, serverPerFile } from "./server-helpers.ts";

const MAX_GROUPS = 3;
let server: TestServer;
const connect = serverPerFile({ args: ["--max-groups-per-hour", String(MAX_GROUPS)] }, (s) => (server = s));

const UNKNOWN_PHONE = "+1 202 555 0199";
let cids = 0;

/** The owner of the settings and one user of each kind: a contact (the owner wrote to them in their
 *  direct chat), a stranger who wrote to the owner (the owner never wrote back), a plain stranger. */
async function cast(tag: string) {
  const [owner, contact, writer, stranger] = await Promise.all(["Owner", "Contact", "Writer", "Stranger"].map((n) => makeUser(server, `${n} ${tag}`)));
  const say = (from: TestUser, to: TestUser) => api(server, from.token, "sendMessage", { to: to.user.id, client_id: `p${++cids}`, type: "text", content: "hi" });
  expect((await say(owner!, contact!)).status).toBe(200);
  expect((await say(writer!, owner!)).status).toBe(200);
  return { owner: owner!, others: { contact: contact!, writer: writer!, stranger: stranger! } };
}

const LETS_IN: Record<PrivacyAudience, Record<"contact" | "writer" | "stranger", boolean>> = {
  everyone: { contact: true, writer: true, stranger: true },
  contacts: { contact: true, writer: false, stranger: false },
  nobody: { contact: false, writer: false, stranger: false },
};
const AUDIENCES = ["everyone", "contacts", "nobody"] as const;

/** An HTTP answer as a caller sees it, less what differs on every request (its id and date). */
async function httpAnswer(token: string, op: string, params: unknown) {
  const res = await fetch(`${server.url}/api/${op}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(params),
  });
  const body = (await res.json()) as any;
  if (body.error) delete body.error.request_id;
  const headers = [...res.headers.entries()].filter(([k]) => k !== "x-request-id" && k !== "date").sort();
  return { status: res.status, headers, body };
}

describe("settings", () => {
  test("everyone by default; set over the websocket, the HTTP mirror and the client library; bad values are bad_request and change nothing", async () => {
    const a = await makeUser(server, "Settings");
    const c = await connect(a);
    expect(await c.call("getPrivacy")).toMatchObject({ privacy: { find_by_phone: "everyone", add_to_groups: "everyone" } });
    expect(await c.call("setPrivacy", { find_by_phone: "contacts" })).toMatchObject({ privacy: { find_by_phone: "contacts", add_to_groups: "everyone" } });
    expect((await api(server, a.token, "setPrivacy", { add_to_groups: "nobody" })).body).toEqual({ ok: true, privacy: { find_by_phone: "contacts", add_to_groups: "nobody" } });
    expectError(await c.request("setPrivacy", { find_by_phone: "friends" }), "bad_request");
    expectError(await c.request("setPrivacy", {}), "bad_request");
    expectHttpError(await api(server, a.token, "setPrivacy", { add_to_groups: ["everyone"] }), 400, "bad_request");
    expect((await api(server, a.token, "getPrivacy")).body).toEqual({ ok: true, privacy: { find_by_phone: "contacts", add_to_groups: "nobody" } });

    const client = new NatterClient({ server: server.url, token: a.token });
    client.connect();
    try {
      expect(await client.setPrivacy({ find_by_phone: "everyone" })).toEqual({ find_by_phone: "everyone", add_to_groups: "nobody" });
      expect(await client.getPrivacy()).toEqual({ find_by_phone: "everyone", add_to_groups: "nobody" });
    } finally {
      client.close();
    }
  });
});

describe("find_by_phone", () => {
  for (const audience of AUDIENCES) {
    test(`${audience}: those it leaves out get exactly the answer of an unknown number (websocket and HTTP)`, async () => {
      const { owner, others } = await cast(`find ${audience}`);
      await api(server, owner.token, "setPrivacy", { find_by_phone: audience });
      for (const [kind, caller] of Object.entries(others)) {
        const lets = LETS_IN[audience][kind as keyof typeof others];
        const unknownHttp = await httpAnswer(caller.token, "findUser", { phone: UNKNOWN_PHONE });
        expect(unknownHttp.status).toBe(404);
        const ownerHttp = await httpAnswer(caller.token, "findUser", { phone: owner.user.phone });
        if (lets) expect(ownerHttp.body.user.id).toBe(owner.user.id);
        else expect(ownerHttp).toEqual(unknownHttp);
        const c = await connect(caller);
        const unknownWs = await c.request("findUser", { phone: UNKNOWN_PHONE });
        const ownerWs = await c.request("findUser", { phone: owner.user.phone });
        delete unknownWs.re;
        delete ownerWs.re;
        if (lets) expect(ownerWs.user.id).toBe(owner.user.id);
        else expect(ownerWs).toEqual(unknownWs);
        c.close();
      }
      // Never hidden from themselves.
      expect((await api(server, owner.token, "findUser", { phone: owner.user.phone })).body.user.id).toBe(owner.user.id);
    });
  }
});

describe("add_to_groups", () => {
  for (const audience of AUDIENCES) {
    test(`${audience}: createGroup and addMembers by each kind of user add the owner or list them in refused; a refused owner hears nothing`, async () => {
      const { owner, others } = await cast(`add ${audience}`);
      await api(server, owner.token, "setPrivacy", { add_to_groups: audience });
      const oc = await connect(owner);
      for (const [kind, adder] of Object.entries(others)) {
        const lets = LETS_IN[audience][kind as keyof typeof others];
        const ac = await connect(adder);
        const mark = oc.mark();
        const made = await ac.call("createGroup", { name: `by ${kind}`, members: [owner.user.id] });
        expect(made.refused).toEqual(lets ? [] : [owner.user.id]);
        expect(made.channel.members.includes(owner.user.id)).toBe(lets);
        const later = (await ac.call("createGroup", { name: `later by ${kind}` })).channel;
        const added = await ac.call("addMembers", { channel: later.id, members: [owner.user.id] });
        expect(added.refused).toEqual(lets ? [] : [owner.user.id]);
        expect(added.channel.members.includes(owner.user.id)).toBe(lets);
        if (lets) await oc.until(() => oc.eventsSince(mark, (e: any) => e.ev === "member" && e.channel === later.id).length > 0, 10_000, "member event");
        else await expectNoEvent([{ c: oc, mark }], (e: any) => e.ev === "member");
        const listed = (await oc.call("getAll")).channels.map((ch: { id: string }) => ch.id);
        expect(listed.includes(made.channel.id)).toBe(lets);
        expect(listed.includes(later.id)).toBe(lets);
        ac.close();
      }
    });
  }

  test("only the refused are left out; the operator adds anyone; an invite lets a refused user in", async () => {
    const { owner, others } = await cast("mixed");
    await api(server, owner.token, "setPrivacy", { add_to_groups: "nobody" });
    const made = (await api(server, others.stranger.token, "createGroup", { name: "mixed", members: [owner.user.id, others.contact.user.id] })).body;
    expect(made.refused).toEqual([owner.user.id]);
    expect(made.channel.members.sort()).toEqual([others.stranger.user.id, others.contact.user.id].sort());
    const invite = (await api(server, others.stranger.token, "createInvite", { channel: made.channel.id })).body.invite;
    expect((await api(server, owner.token, "joinGroup", { channel: made.channel.id, invite })).body.channel.members).toContain(owner.user.id);
    const res = await adminFetch(server, "POST", "/admin/groups", { owner: others.stranger.user.id, name: "by the operator", members: [owner.user.id] });
    expect(res.status).toBe(201);
    expect(((await res.json()) as { group: { members: string[] } }).group.members).toContain(owner.user.id);
  });
});

describe(`--max-groups-per-hour ${MAX_GROUPS}`, () => {
  test("N groups, the N+1st rate_limited (429, retry_after_ms, Retry-After) and nothing made; a retry of one made is ok; the operator's not counted", async () => {
    const a = await makeUser(server, "Maker");
    const b = await makeUser(server, "Member");
    expect((await adminFetch(server, "POST", "/admin/groups", { owner: a.user.id, name: "operator's" })).status).toBe(201);
    const made: string[] = [];
    for (let i = 0; i < MAX_GROUPS; i++) {
      const r = await api(server, a.token, "createGroup", { name: `g${i}`, client_id: `cap-${i}`, members: [b.user.id] });
      expect(r.status).toBe(200);
      made.push(r.body.channel.id);
    }
    const res = await fetch(`${server.url}/api/createGroup`, {
      method: "POST",
      headers: { authorization: `Bearer ${a.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "one more", client_id: "cap-more", members: [b.user.id] }),
    });
    const body = (await res.json()) as { error: { code: string; retry_after_ms: number } };
    expect({ status: res.status, code: body.error.code }).toEqual({ status: 429, code: "rate_limited" });
    expect(body.error.retry_after_ms).toBeGreaterThan(0);
    expect(body.error.retry_after_ms).toBeLessThanOrEqual(60 * 60 * 1000);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    // Over the websocket too, and nothing was made: b is in the N groups only.
    const c = await connect(a);
    expectError(await c.request("createGroup", { name: "and another" }), "rate_limited");
    expect((await api(server, b.token, "getAll")).body.channels.map((ch: { id: string }) => ch.id).sort()).toEqual([...made].sort());
    // A retry of a create that was made (same client_id) answers with its group.
    const again = await c.call("createGroup", { name: "g1", client_id: "cap-1", members: [b.user.id] });
    expect(again.channel.id).toBe(made[1]!);
    // Another user has their own count.
    expect((await api(server, b.token, "createGroup", { name: "b's" })).status).toBe(200);
  });
});

describe("natter privacy (CLI)", () => {
  test("shows the settings, changes the ones given (text and --json); a bad value exits 2 and changes nothing", async () => {
    const cfg = mkdtempSync(join(tmpdir(), "natter-privacy-cli-"));
    const env = { NATTER_CONFIG_DIR: cfg, NATTER_SERVER: "", NATTER_PROFILE: "" };
    const cli = (args: string[]) => runCli(args, { env });
    try {
      const made = await addUser(server, "Cli", `+1555${String(process.pid % 1000).padStart(3, "0")}9001`);
      expect((await cli(["login", "--server", server.url, "--code", made.code])).code).toBe(0);
      const shown = await cli(["privacy"]);
      expect(shown).toMatchObject({ code: 0, stdout: "who can find you by phone number  everyone\nwho can add you to groups         everyone\n" });
      const set = await cli(["privacy", "--add-to-groups", "contacts", "--find-by-phone", "nobody", "--json"]);
      expect(set.code).toBe(0);
      expect(JSON.parse(set.stdout)).toEqual({ privacy: { find_by_phone: "nobody", add_to_groups: "contacts" } });
      const bad = await cli(["privacy", "--find-by-phone", "friends"]);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain("--find-by-phone must be one of everyone, contacts, nobody");
      expect(JSON.parse((await cli(["privacy", "--json"])).stdout)).toEqual({ privacy: { find_by_phone: "nobody", add_to_groups: "contacts" } });
      // The server holds to it: a stranger finds nothing.
      const stranger = await makeUser(server, "Looker");
      expect((await api(server, stranger.token, "findUser", { phone: made.user.phone })).status).toBe(404);
      const help = await cli(["privacy", "--help"]);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain("--add-to-groups <who>");
    } finally {
      rmSync(cfg, { recursive: true, force: true });
    }
  });
});
