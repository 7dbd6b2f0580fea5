import { expect, test } from "bun:test";
import { NatterError, type User } from "../protocol/index.ts";
import { ChatController } from "./controller.ts";
import { ALICE, CAROL, channel, FakeClient, msg } from "../../test/support/fake-chat-client.ts";
import { NameFetcher } from "./name-fetcher.ts";
import { until } from "../../test/support/until.ts";

const user = (id: string): User => ({ id, name: id.slice(2), phone: "+1", last_seen: null });

test("unknown ids are batched 200 to a getUsers call, each asked once; failures are asked again", async () => {
  const client = new FakeClient(ALICE);
  const calls: string[][] = [];
  let fail = true;
  client.handlers.getUsers = ({ ids }) => {
    calls.push(ids);
    if (fail) throw new NatterError("unavailable", "busy");
    return { users: ids.filter((id) => id !== "u_stranger").map(user) };
  };
  const learned: User[] = [];
  const f = new NameFetcher(client, (id) => id === ALICE.id || learned.some((u) => u.id === id), (us) => learned.push(...us), 5);
  const ids = Array.from({ length: 250 }, (_, i) => `u_${i}`);
  f.want([ALICE.id, ...ids, "u_stranger", "u_0"]);
  await until(() => expect(calls.map((c) => c.length)).toEqual([200, 51]));
  expect(learned).toEqual([]);
  fail = false;
  f.want([...ids, "u_stranger"]);
  await until(() => expect(learned).toHaveLength(250));
  expect(calls.map((c) => c.length)).toEqual([200, 51, 200, 51]);
  f.want(["u_stranger", "u_7"]); // the server left the stranger out: not asked again
  await Bun.sleep(30);
  expect(calls).toHaveLength(4);
  f.forget("u_stranger"); // e.g. they joined a group of ours
  f.want(["u_stranger"]);
  await until(() => expect(calls.at(-1)).toEqual(["u_stranger"]));
});

test("the controller asks for group members and senders and shows their names", async () => {
  const client = new FakeClient(ALICE);
  client.handlers.getAll = () => ({ channels: [channel("g1", { kind: "group", name: "club", members: [ALICE.id, CAROL.id, "u_dan"] })] });
  client.handlers.getUsers = ({ ids }) => ({ users: ids.map((id) => (id === CAROL.id ? CAROL : user(id))) });
  const c = new ChatController(client);
  c.start();
  client.open();
  await until(() => expect(c.getState().users[CAROL.id]?.name).toBe("carol"));
  expect(client.ops("getUsers")).toEqual([{ ids: [CAROL.id, "u_dan"] }]);
  client.push(msg("g1", 1, "u_erin", "I left before you loaded"));
  await until(() => expect(c.getState().users.u_erin?.name).toBe("erin"));
  expect(client.ops("getUsers").at(-1)).toEqual({ ids: ["u_erin"] });
  c.stop();
});
