import { expect, test } from "bun:test";
import type { Key } from "ink";
import { NatterError, type OwnDevice } from "../../protocol/index.ts";
import { ALICE, FakeClient } from "../../../test/support/fake-chat-client.ts";
import { devicePanelKey, type PanelHost } from "../components/device-panel.tsx";
import { ChatController } from "../controller.ts";
import { deviceNotice, revokeSelected, runDeviceCommand, type DevicePanel } from "./devices.ts";
import { parseInput } from "./parse.ts";

const PHONE: OwnDevice = { id: "dv_phone", name: "phone", created_at: 1, current: false };
const LAPTOP: OwnDevice = { id: "dv_laptop", name: "laptop", created_at: 2, current: true };
const TABLET: OwnDevice = { id: "dv_tablet", name: "tablet", created_at: 3, current: false };

function setup(devices: OwnDevice[] = [PHONE, LAPTOP, TABLET]) {
  const client = new FakeClient(ALICE);
  let list = [...devices];
  client.handlers.linkDevice = () => ({ code: "ABCD-EFGH-JKLM", expires_at: 5000 });
  client.handlers.listDevices = () => ({ devices: list });
  client.handlers.revokeDevice = ({ device }) => {
    if (!list.some((d) => d.id === device)) throw new NatterError("not_found", "no such device");
    list = list.filter((d) => d.id !== device);
    return {};
  };
  const notices: string[] = [];
  const ctx = {
    client,
    notify: (t: string) => void notices.push(t),
    getState: () => {
      throw new Error("unused");
    },
    dispatch: () => {},
    retry: async () => 0,
    sendFile: async () => null,
    saveMedia: async () => null,
    now: () => 1000,
  };
  return { client, ctx, notices };
}

test("/link and /devices [revoke ID] parse; anything else is a usage error", () => {
  expect(parseInput("/link")).toEqual({ kind: "command", command: { kind: "link" } });
  expect(parseInput("/devices")).toEqual({ kind: "command", command: { kind: "devices", revoke: null } });
  expect(parseInput("/Devices Revoke dv_x")).toEqual({ kind: "command", command: { kind: "devices", revoke: "dv_x" } });
  expect(parseInput("/link now")).toEqual({ kind: "error", message: "usage: /link" });
  expect(parseInput("/devices revoke")).toEqual({ kind: "error", message: "usage: /devices [revoke ID]" });
  expect(parseInput("/devices drop dv_x")).toEqual({ kind: "error", message: "usage: /devices [revoke ID]" });
});

test("/link asks the server for a code and opens the link panel", async () => {
  const { client, ctx } = setup();
  expect(await runDeviceCommand(ctx, { kind: "link" })).toEqual({ panel: { kind: "link", code: "ABCD-EFGH-JKLM", expiresAt: 5000 } });
  expect(client.ops("linkDevice")).toHaveLength(1);
});

test("/devices opens the list on this device; /devices revoke ID selects it and asks; an unknown id is not_found", async () => {
  const { ctx } = setup();
  expect(await runDeviceCommand(ctx, { kind: "devices", revoke: null })).toEqual({
    panel: { kind: "devices", devices: [PHONE, LAPTOP, TABLET], index: 1, confirm: false },
  });
  expect(await runDeviceCommand(ctx, { kind: "devices", revoke: "dv_tablet" })).toEqual({
    panel: { kind: "devices", devices: [PHONE, LAPTOP, TABLET], index: 2, confirm: true },
  });
  await expect(runDeviceCommand(ctx, { kind: "devices", revoke: "dv_other" })).rejects.toMatchObject({ code: "not_found" });
});

test("revoking the selected device reloads the list; revoking this device closes the panel", async () => {
  const { client, ctx, notices } = setup();
  const next = await revokeSelected(ctx, { kind: "devices", devices: [PHONE, LAPTOP, TABLET], index: 2, confirm: true });
  expect(client.ops("revokeDevice")).toEqual([{ device: "dv_tablet" }]);
  expect(next).toEqual({ kind: "devices", devices: [PHONE, LAPTOP], index: 1, confirm: false });
  expect(notices).toEqual(["revoked tablet; it is logged out"]);
  expect(await revokeSelected(ctx, { kind: "devices", devices: [PHONE, LAPTOP], index: 1, confirm: true })).toBeNull();
  expect(notices.at(-1)).toBe("revoked this device (laptop); you are logged out");
});

const key = (over: Partial<Key> = {}): Key => ({
  upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
  return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
  super: false, hyper: false, capsLock: false, numLock: false, ...over,
} as Key);

function host(ctx: PanelHost["ctx"], start: DevicePanel) {
  let cur: DevicePanel | null = start;
  const h: PanelHost = { current: () => cur, show: (p) => void (cur = p), ctx };
  return { h, get: () => cur };
}

/** Waits until the panel is no longer revoking. */
async function settled(get: () => DevicePanel | null): Promise<void> {
  for (let i = 0; i < 100 && get()?.kind === "devices" && (get() as { busy?: boolean }).busy; i++) await Bun.sleep(1);
}

test("panel keys: arrows select, x asks, another key cancels, y revokes and shows the reloaded list", async () => {
  const { client, ctx } = setup();
  const { h, get } = host(ctx, { kind: "devices", devices: [PHONE, LAPTOP, TABLET], index: 1, confirm: false });
  devicePanelKey(get()!, "", key({ downArrow: true }), h);
  devicePanelKey(get()!, "", key({ downArrow: true }), h);
  expect(get()).toMatchObject({ index: 2, confirm: false });
  devicePanelKey(get()!, "x", key(), h);
  expect(get()).toMatchObject({ index: 2, confirm: true });
  devicePanelKey(get()!, "n", key(), h);
  expect(get()).toMatchObject({ index: 2, confirm: false });
  expect(client.ops("revokeDevice")).toEqual([]);
  devicePanelKey(get()!, "x", key(), h);
  devicePanelKey(get()!, "y", key(), h);
  expect(get()).toMatchObject({ busy: true, confirm: false });
  devicePanelKey(get()!, "x", key(), h); // ignored while revoking
  await settled(get);
  expect(client.ops("revokeDevice")).toEqual([{ device: "dv_tablet" }]);
  expect(get()).toEqual({ kind: "devices", devices: [PHONE, LAPTOP], index: 1, confirm: false });
  devicePanelKey(get()!, "", key({ escape: true }), h);
  expect(get()).toBeNull();
});

test("a failed revocation is a notice, and the list stays", async () => {
  const { ctx, notices } = setup();
  const gone = { ...TABLET, id: "dv_gone" };
  const { h, get } = host(ctx, { kind: "devices", devices: [PHONE, LAPTOP, gone], index: 2, confirm: true });
  devicePanelKey(get()!, "y", key(), h);
  await settled(get);
  expect(notices).toEqual(["/devices: no such device"]);
  expect(get()).toMatchObject({ index: 2, confirm: false });
  expect((get() as { busy?: boolean }).busy).toBeUndefined();
});

test("the link panel closes with Esc, Enter or q", () => {
  const { ctx } = setup();
  for (const [input, k] of [["", key({ escape: true })], ["", key({ return: true })], ["q", key()]] as const) {
    const { h, get } = host(ctx, { kind: "link", code: "C", expiresAt: 1 });
    devicePanelKey(get()!, input, k, h);
    expect(get()).toBeNull();
  }
});

test("another device's link or revocation is a notice line", () => {
  const client = new FakeClient(ALICE);
  const c = new ChatController(client);
  c.start();
  client.emit("event", { ev: "device", user: ALICE.id, action: "linked", device: { id: "dv_t", name: "tablet", created_at: 1 } });
  expect(c.getState().notice?.text).toBe("New device linked: tablet");
  expect(deviceNotice({ ev: "device", user: ALICE.id, action: "revoked", device: { id: "dv_t", name: "tablet", created_at: 1 } })).toBe("Device revoked: tablet");
  c.stop();
});
