// The /link and /devices panel as drawn: QR code when it fits, text otherwise.
import { afterEach, expect, test } from "bun:test";
import { cleanup, render } from "ink-testing-library";
import { loginCommand } from "../../client/link.ts";
import { qrLines } from "../../client/qr-lines.ts";
import { ThemeContext } from "../theme.ts";
import { DevicePanelView } from "./device-panel.tsx";
import type { DevicePanel } from "../slash-commands/index.ts";

afterEach(cleanup);
const SERVER = "http://chat.test:8080";
const LINK: DevicePanel = { kind: "link", code: "ABCD-EFGH-JKLM", expiresAt: 300_000 };

function draw(panel: DevicePanel, width: number, height: number, now = 1_000, color = false) {
  const r = render(
    <ThemeContext.Provider value={{ color }}>
      <DevicePanelView panel={panel} server={SERVER} width={width} height={height} now={now} />
    </ThemeContext.Provider>,
  );
  return r.lastFrame()!;
}

test("the link panel shows the QR code of the login line when it fits, with the code, countdown and line", () => {
  const command = loginCommand(SERVER, LINK.code);
  const f = draw(LINK, 70, 30);
  const qr = qrLines(command, true); // no colors: light modules drawn
  for (const line of qr) expect(f).toContain(line.trimEnd());
  expect(f).toContain("Code: ABCD-EFGH-JKLM · works once · expires in 4:59");
  expect(f).toContain("On the new device, run:");
  expect(f).toContain(command);
});

test("too small for the QR code: the text alone, and a word about a larger window", () => {
  const f = draw(LINK, 70, 12);
  expect(f).not.toMatch(/[▀▄█]/);
  expect(f).toContain("Code: ABCD-EFGH-JKLM");
  expect(f).toContain("a larger window shows it as a QR code");
  const narrow = draw(LINK, 30, 40);
  expect(narrow).not.toMatch(/[▀▄█]/);
  expect(narrow.replace(/\s+/g, " ")).toContain(loginCommand(SERVER, LINK.code));
});

test("an expired code says so and shows no QR code", () => {
  const f = draw(LINK, 70, 30, 300_000);
  expect(f).toContain("Code ABCD-EFGH-JKLM has expired; /link makes a new one.");
  expect(f).not.toMatch(/[▀▄█]/);
});

test("the device list marks this device and the selection; a pending revocation asks first", () => {
  const devices = [
    { id: "dv_phone", name: "phone", created_at: 1, current: false },
    { id: "dv_laptop", name: "laptop", created_at: 2, current: true },
  ];
  const f = draw({ kind: "devices", devices, index: 0, confirm: false }, 80, 10);
  expect(f).toContain("Your devices (↑↓ select · x: revoke · Esc closes)");
  expect(f).toMatch(/phone +dv_phone +linked/);
  expect(f).toMatch(/laptop +dv_laptop +linked .*\(this device\)/);
  expect(f).not.toContain("Revoke");
  const ask = draw({ kind: "devices", devices, index: 0, confirm: true }, 100, 10);
  expect(ask).toContain("Revoke phone (dv_phone)? It is logged out at once. y: revoke · any other key: cancel");
  const self = draw({ kind: "devices", devices, index: 1, confirm: true }, 100, 10);
  expect(self).toContain("This is this device: you will be logged out.");
});
