// Parsing and output of `natter privacy`, apart from running it.
import { describe, expect, test } from "bun:test";
import { Command } from "commander";
import { CliError, EXIT } from "../run.ts";
import { table } from "./common.ts";
import { parsePrivacyOptions, privacyTable, registerPrivacy, type PrivacyOptions } from "./privacy.ts";
import { isolateEnv } from "../../../test/support/cli-env.ts";

isolateEnv(["NATTER_SERVER", "NATTER_PROFILE"]);

async function parse(argv: string[]): Promise<PrivacyOptions> {
  const p = new Command("natter").exitOverride();
  let got: PrivacyOptions | undefined;
  registerPrivacy(p, async (o) => {
    got = o;
  }).exitOverride();
  await p.parseAsync(argv, { from: "user" });
  if (got === undefined) throw new Error("run was not called");
  return got;
}

describe("natter privacy", () => {
  test("no setting given: show them; each flag changes its setting; --json and the session options", async () => {
    expect(await parse(["privacy"])).toEqual({ profile: "default", servers: undefined, json: false, change: {} });
    expect(await parse(["privacy", "--find-by-phone", "contacts"])).toMatchObject({ change: { find_by_phone: "contacts" } });
    expect(await parse(["privacy", "--add-to-groups", "nobody", "--find-by-phone", "everyone", "--json", "--profile", "work"])).toEqual({
      profile: "work",
      servers: undefined,
      json: true,
      change: { find_by_phone: "everyone", add_to_groups: "nobody" },
    });
  });

  test("a value that is not everyone, contacts or nobody is a usage error (exit 2) naming the flag", () => {
    let err: unknown;
    try {
      parsePrivacyOptions({ addToGroups: "friends" });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    expect((err as CliError).message).toBe('--add-to-groups must be one of everyone, contacts, nobody (got "friends")');
  });

  test("the settings print as what each means and its value", () => {
    expect(table(privacyTable({ find_by_phone: "contacts", add_to_groups: "nobody" }))).toBe(
      "who can find you by phone number  contacts\n" + "who can add you to groups         nobody\n",
    );
  });
});
