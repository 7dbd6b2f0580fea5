import { describe, expect, test } from "bun:test";
import { Membership } from "./membership.ts";

const O = { leaseMs: 600, failureAfterMs: 900, maxDelayMs: 100, reportTtlMs: 200 };
const ids = ["n1", "n2", "n3"];

describe("Membership", () => {
  test("a lease needs a majority's answer and lasts leaseMs from the send", () => {
    const m = new Membership("n1", ids, { ...O, startedAt: 0 });
    expect(m.hasLease(10)).toBe(false);
    m.acked("n2", 100, 105, true);
    expect(m.leaseEnd()).toBe(700);
    expect(m.hasLease(699)).toBe(true);
    expect(m.hasLease(700)).toBe(false);
    // Five nodes: two other answers are needed, and the older of the two bounds the lease.
    const m5 = new Membership("a", ["a", "b", "c", "d", "e"], { ...O, startedAt: 0 });
    m5.acked("b", 300, 301, true);
    expect(m5.hasLease(310)).toBe(false);
    m5.acked("c", 250, 301, true);
    // Not granted, or answered too late: no lease.
    const m3 = new Membership("n1", ids, { ...O, startedAt: 0 });
    m3.acked("n2", 100, 105, false);
    m3.acked("n3", 100, 201, true);
    expect(m3.hasLease(110)).toBe(false);
    expect(m5.leaseEnd()).toBe(850);
  });

  test("a node is dead only when a majority finds it silent for failureAfterMs, and a fresh node waits that long", () => {
    const m = new Membership("n1", ids, { ...O, startedAt: 0 });
    // Just started: nobody heard yet, but no one is dead before failureAfterMs.
    expect(m.live(500)).toEqual(ids);
    m.heard("n2", 950, { n1: 0, n3: 950 }, { inc: "a", sent: 1 });
    // n1 never heard n3 since its start 1000 ms ago, n2 reported 950: two votes.
    expect(m.isDead("n3", 1000)).toBe(true);
    // An older report of the same process arriving late is dropped.
    m.heard("n2", 960, { n1: 0, n3: 10 }, { inc: "a", sent: 0 });
    expect(m.isDead("n3", 1000)).toBe(true);
    expect(m.live(1000)).toEqual(["n1", "n2"]);
    // n2 alone cannot kill n1's peer when n1 hears it.
    m.heard("n3", 1100);
    expect(m.isDead("n3", 1200)).toBe(false);
    // A report older than reportTtlMs no longer counts.
    m.heard("n2", 2000, { n1: 0, n3: 1000 }, { inc: "a", sent: 2 });
    expect(m.isDead("n3", 2050)).toBe(true);
    expect(m.isDead("n3", 2201)).toBe(false); // that report has expired
    m.heard("n3", 2060);
    expect(m.isDead("n3", 3000)).toBe(false);
    // Having reported n3 silent, n1 grants it no lease for reportTtlMs + maxDelayMs.
    const g = new Membership("n1", ids, { ...O, startedAt: 0 });
    g.silences(1000);
    expect(g.mayGrant("n3", 1299)).toBe(false);
    expect(g.mayGrant("n3", 1300)).toBe(true);
  });

  test("simulated partitions, delays and restarts: no node is ever declared dead while its lease runs", () => {
    // A seeded random walk: links go up and down (one way or both), messages take 0-60 ms, nodes
    // restart with empty memory. At every step, for every node k that some node's view calls dead,
    // k holds no lease. That is the condition under which a shard moves without a hand-off.
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let run = 0; run < 40; run++) {
      const mem = new Map(ids.map((id) => [id, new Membership(id, ids, { ...O, startedAt: 0 })]));
      const inc = new Map(ids.map((id) => [id, `${id}.0`]));
      const up = new Map<string, boolean>(); // directed link a>b
      for (const a of ids) for (const b of ids) up.set(`${a}>${b}`, true);
      const inbox: { at: number; run: () => void }[] = [];
      const send = (from: string, to: string, t: number, f: () => void) => {
        if (up.get(`${from}>${to}`)) inbox.push({ at: t + Math.floor(rand() * 60), run: f });
      };
      for (let t = 0; t < 8000; t += 10) {
        if (rand() < 0.01) {
          const a = ids[Math.floor(rand() * 3)]!;
          const b = ids[Math.floor(rand() * 3)]!;
          up.set(`${a}>${b}`, !up.get(`${a}>${b}`));
        }
        if (rand() < 0.002) {
          const r = ids[Math.floor(rand() * 3)]!;
          mem.set(r, new Membership(r, ids, { ...O, startedAt: t }));
          inc.set(r, `${r}.${t}`);
        }
        if (t % 50 === 0) {
          for (const a of ids) {
            for (const b of ids) {
              if (a === b) continue;
              const sentAt = t;
              const ma = mem.get(a)!;
              const silence = ma.silences(t);
              const stampA = { inc: inc.get(a)!, sent: t };
              send(a, b, t, () => {
                const now = inbox[0]!.at;
                const mb = mem.get(b)!;
                mb.heard(a, now, silence, stampA);
                const back = mb.silences(now);
                const grant = mb.mayGrant(a, now);
                const stampB = { inc: inc.get(b)!, sent: now };
                send(b, a, now, () => {
                  const m = mem.get(a)!;
                  if (m !== ma) return; // a restarted since it sent: the answer is to an old process
                  m.acked(b, sentAt, inbox[0]!.at, grant);
                  m.heard(b, inbox[0]!.at, back, stampB);
                });
              });
            }
          }
        }
        inbox.sort((x, y) => x.at - y.at);
        while (inbox.length > 0 && inbox[0]!.at <= t) {
          inbox[0]!.run();
          inbox.shift();
        }
        for (const j of ids) for (const k of ids) if (mem.get(j)!.isDead(k, t)) expect(mem.get(k)!.hasLease(t)).toBe(false);
      }
    }
  });
});
