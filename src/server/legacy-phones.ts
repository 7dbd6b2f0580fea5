// Start-up check of phone numbers stored before they were normalised to E.164.
// Rows are never rewritten (the phone index lives in shard(phone), so a new
// spelling would move it); each such user is reported once per start instead.
import { storedPhoneStatus, type StoredPhone } from "../protocol/phone.ts";
import type { Logger } from "./log.ts";
import type { Store } from "./store/types.ts";

/** Users checked between turns of the event loop: a check costs 15-25 us, so a turn stays near 5 ms. */
const CHUNK = 200;

/**
 * Logs one warning per user whose stored phone is not E.164: the number it stands for (or
 * "invalid"), and any other users whose phones stand for the same number; then one info line
 * "phones checked" with the counts. Yields to the event loop as it goes. Returns how many.
 */
export async function warnLegacyPhones(store: Pick<Store, "listUsers">, region: string, log: Logger): Promise<number> {
  const users = await store.listUsers();
  const checked: Array<{ id: string; phone: string; status: StoredPhone }> = [];
  for (let i = 0; i < users.length; i++) {
    if (i > 0 && i % CHUNK === 0) await new Promise((r) => setImmediate(r));
    checked.push({ id: users[i]!.id, phone: users[i]!.phone, status: storedPhoneStatus(users[i]!.phone, region) });
  }
  const e164 = (u: (typeof checked)[number]) => (u.status.phone_ok ? u.phone : u.status.phone_e164);
  const legacy = checked.filter((u) => !u.status.phone_ok);
  const owners = new Map<string, string[]>();
  if (legacy.length > 0) {
    for (const u of checked) {
      const n = e164(u);
      if (n) owners.set(n, [...(owners.get(n) ?? []), u.id]);
    }
  }
  for (const u of legacy) {
    const n = e164(u);
    const same = (n ? owners.get(n)! : []).filter((id) => id !== u.id);
    log.warn("phone not in E.164 (stored before normalisation; see docs/operations.md)", {
      user: u.id,
      phone: u.phone,
      normalised: n ?? "invalid",
      ...(same.length > 0 && { same_number_as: same }),
    });
  }
  log.info("phones checked", { users: users.length, not_e164: legacy.length });
  return legacy.length;
}
