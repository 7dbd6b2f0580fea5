import { expect, test } from "bun:test";
import { ALICE } from "../../test/support/fake-chat-client.ts";
import { chooseCredentials, sameServer } from "./run-chat.tsx";

const saved = { server: "http://chat.example.org:8080", servers: ["http://chat.example.org:8080"], token: "t", user: ALICE, device: { id: "d", name: "x", created_at: 0 } };

test("sameServer compares origins", () => {
  expect(sameServer("http://chat.example.org:8080/", "http://chat.example.org:8080")).toBe(true);
  expect(sameServer("chat.example.org:8080", "http://chat.example.org:8080")).toBe(true);
  expect(sameServer("https://chat.example.org", "http://chat.example.org")).toBe(false);
});

test("saved credentials are used unless --server names another server", () => {
  expect(chooseCredentials({}, () => saved)).toEqual({ creds: saved });
  expect(chooseCredentials({ server: "http://chat.example.org:8080" }, () => saved)).toEqual({ creds: saved });
  const other = chooseCredentials({ server: "http://other:1" }, () => saved);
  expect(other.creds).toBeNull();
  expect(other.reason).toContain("saved login is for http://chat.example.org:8080");
});

test("no credentials, or unreadable ones, ask for a login with a reason", () => {
  expect(chooseCredentials({ profile: "work" }, () => null)).toEqual({ creds: null, reason: expect.stringContaining('profile "work"') });
  const bad = chooseCredentials({}, () => {
    throw new Error("credentials file x is malformed; run natter login again");
  });
  expect(bad).toEqual({ creds: null, reason: expect.stringContaining("malformed") });
});

test("a --server list naming any server of the saved login (given or learned) uses it over that list", () => {
  const cluster = { ...saved, servers: ["http://n1:1", "http://n2:2"], server: "http://n1:1", nodes: ["http://n3:3"] };
  expect(chooseCredentials({ server: "n3:3,http://n4:4" }, () => cluster).creds).toMatchObject({ server: "http://n3:3", servers: ["http://n3:3", "http://n4:4"], nodes: undefined });
  expect(chooseCredentials({ server: "http://n2:2" }, () => cluster).creds?.servers).toEqual(["http://n2:2"]);
  const other = chooseCredentials({ server: "http://n9:9,http://n8:8" }, () => cluster);
  expect(other.creds).toBeNull();
  expect(other.reason).toContain("saved login is for http://n1:1,http://n2:2");
});
