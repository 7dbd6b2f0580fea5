// Parsing of `natter devices`, `devices link` and `devices revoke`, apart from running them.
import { describe, expect, test } from "bun:test";
import { Command } from "commander";
import { CliError, EXIT } from "../run.ts";
import { table } from "./common.ts";
import { devicesTable, registerDevices } from "./devices.ts";
import { duration, registerDevicesLink } from "./devices-link.ts";
import { parseDevicesRevokeOptions, registerDevicesRevoke } from "./devices-revoke.ts";
import { Names } from "./names.ts";
import { isolateEnv } from "../../../test/support/cli-env.ts";
import { formatEvent } from "./watch.ts";

isolateEnv(["NATTER_SERVER", "NATTER_PROFILE"]);

/** Parses argv against a `devices` group with one command registered; returns what its run got. */
async function parse<T>(register: (devices: Command, run: (o: T) => Promise<void>) => void, argv: string[]): Promise<T> {
  const p = new Command("natter").exitOverride();
  const devices = p.command("devices").exitOverride();
  let got: T | undefined;
  register(devices, async (o) => {
    got = o;
  });
  for (const c of devices.commands) c.exitOverride();
  await p.parseAsync(argv, { from: "user" });
  if (got === undefined) throw new Error("run was not called");
  return got;
}

describe("natter devices", () => {
  test("lists by default, with --json and the session options", async () => {
    const run = async (argv: string[]) => {
      const p = new Command("natter").exitOverride();
      let got: unknown;
      const devices = registerDevices(p, async (o) => {
        got = o;
      });
      for (const c of devices.commands) c.exitOverride();
      await p.parseAsync(argv, { from: "user" });
      return got;
    };
    expect(await run(["devices"])).toEqual({ profile: "default", servers: undefined, json: false });
    expect(await run(["devices", "--json", "--profile", "work"])).toEqual({ profile: "work", servers: undefined, json: true });
    expect(await run(["devices", "list", "--server", "http://h:1"])).toEqual({ profile: "default", servers: ["http://h:1"], json: false });
  });

  test("link: --json, and --no-qr leaves the QR code out", async () => {
    expect(await parse(registerDevicesLink, ["devices", "link"])).toEqual({ profile: "default", servers: undefined, json: false, qr: true });
    expect(await parse(registerDevicesLink, ["devices", "link", "--json", "--no-qr"])).toMatchObject({ json: true, qr: false });
  });

  test("revoke takes one device id; none is a usage error (exit 2)", async () => {
    expect(await parse(registerDevicesRevoke, ["devices", "revoke", "dv_abc", "--json"])).toMatchObject({ device: "dv_abc", json: true });
    let err: unknown;
    try {
      parseDevicesRevokeOptions({}, undefined);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
  });
});

describe("output", () => {
  test("the devices table marks this device", () => {
    const rows = devicesTable([
      { id: "dv_a", name: "phone", created_at: new Date(2026, 0, 2, 3, 4, 5).getTime(), current: true },
      { id: "dv_b", name: "laptop", created_at: new Date(2026, 0, 3, 3, 4, 5).getTime(), current: false },
    ]);
    expect(table(rows)).toBe(
      "ID    NAME    LINKED\n" + "dv_a  phone   2026-01-02 03:04:05  (this device)\n" + "dv_b  laptop  2026-01-03 03:04:05\n",
    );
  });

  test("watch prints device events as a line", () => {
    const me = { id: "u_me", name: "Me", phone: "+1", last_seen: null };
    const device = { id: "dv_b", name: "laptop", created_at: 1 };
    expect(formatEvent({ ev: "device", user: "u_me", action: "linked", device }, new Names(me))).toBe("new device linked: laptop (dv_b)");
    expect(formatEvent({ ev: "device", user: "u_me", action: "revoked", device }, new Names(me))).toBe("device revoked: laptop (dv_b)");
  });

  test("durations read as a person says them", () => {
    expect(duration(300_000)).toBe("5 minutes");
    expect(duration(60_000)).toBe("60 seconds");
    expect(duration(1_000)).toBe("1 second");
    expect(duration(-5)).toBe("0 seconds");
    expect(duration(90_000)).toBe("2 minutes");
  });
});
