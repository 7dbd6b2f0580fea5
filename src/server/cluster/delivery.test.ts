// ClusterDelivery's link policy: a backlog dropped for a resync keeps the
// closes of revoked devices and users, and a resync batch ends with this
// node's presence (the peer may have missed presence changes).

import { expect, test } from "bun:test";
import type { Hub } from "../transport/hub.ts";
import { ClusterDelivery } from "./delivery.ts";
import { PeerLink } from "./link.ts";
import type { ClusterNode } from "./node.ts";

test("links keep device/user closes through a dropped backlog, and a resync ends with a presence snapshot", () => {
  const link = new PeerLink({ self: "n1", peer: "n2", url: "http://127.0.0.1:1", token: "t", inc: "i", fingerprint: () => "" });
  const hub = { onlineUsers: () => ["u_a", "u_b"] } as unknown as Hub;
  const node = { links: new Map([["n2", link]]), broadcast() {}, sendTo() {} } as unknown as ClusterNode;
  new ClusterDelivery(hub, node);
  expect(link.policy.keep?.({ t: "cd", d: "dv_1", code: 4401, r: "revoked" })).toBe(true);
  expect(link.policy.keep?.({ t: "cu", u: "u_a", code: 4401, r: "deleted" })).toBe(true);
  expect(link.policy.keep?.({ t: "c", c: "ch", m: [], f: "{}" })).toBe(false);
  expect(link.policy.keep?.({ t: "on", u: "u_a", on: true })).toBe(false);
  expect(link.policy.onResync?.()).toEqual([{ t: "snap", u: ["u_a", "u_b"] }]);
  link.close();
});
