// natter privacy [--find-by-phone V] [--add-to-groups V] [--json]: shows your
// privacy settings, or changes the ones given and shows them all.
import type { Command } from "commander";
import { HttpApi, knownServers } from "../../client/index.ts";
import { PRIVACY_AUDIENCES, type Privacy, type PrivacyAudience } from "../../protocol/index.ts";
import { CliError, EXIT } from "../run.ts";
import { parseSession, processIo, requireSession, runClientCommand, sessionOptions, table, type Io, type SessionOptions } from "./common.ts";

export interface PrivacyOptions extends SessionOptions {
  /** The settings to change; none: only show them. */
  change: { find_by_phone?: PrivacyAudience; add_to_groups?: PrivacyAudience };
}

const audience = (flag: string, v: unknown): PrivacyAudience | undefined => {
  if (v === undefined) return undefined;
  if (typeof v === "string" && (PRIVACY_AUDIENCES as readonly string[]).includes(v)) return v as PrivacyAudience;
  throw new CliError(`${flag} must be one of ${PRIVACY_AUDIENCES.join(", ")} (got ${JSON.stringify(v)})`, EXIT.usage);
};

export function parsePrivacyOptions(raw: Record<string, unknown>): PrivacyOptions {
  const change: PrivacyOptions["change"] = {};
  const find = audience("--find-by-phone", raw.findByPhone);
  const add = audience("--add-to-groups", raw.addToGroups);
  if (find) change.find_by_phone = find;
  if (add) change.add_to_groups = add;
  return { ...parseSession(raw), change };
}

/** Rows of the settings table: what each setting means, and its value. */
export function privacyTable(p: Privacy): string[][] {
  return [
    ["who can find you by phone number", p.find_by_phone],
    ["who can add you to groups", p.add_to_groups],
  ];
}

export async function runPrivacy(o: PrivacyOptions, io: Io = processIo): Promise<void> {
  const s = requireSession(o);
  const api = new HttpApi(knownServers(s), s.token);
  const privacy = Object.keys(o.change).length > 0 ? await api.setPrivacy(o.change) : await api.getPrivacy();
  if (o.json) return io.out(JSON.stringify({ privacy }) + "\n");
  io.out(table(privacyTable(privacy)));
}

export function registerPrivacy(program: Command, run: (o: PrivacyOptions) => Promise<void> = runPrivacy): Command {
  const values = PRIVACY_AUDIENCES.join(" | ");
  const cmd = program
    .command("privacy")
    .description("show your privacy settings, or change them (contacts: people you have written to in a direct chat)")
    .option("--find-by-phone <who>", `who can find you by your phone number: ${values}`)
    .option("--add-to-groups <who>", `who can add you to groups (others must send you an invite): ${values}`);
  sessionOptions(cmd).action(async (raw: Record<string, unknown>) => {
    await runClientCommand(raw, async () => run(parsePrivacyOptions(raw)));
  });
  return cmd;
}
