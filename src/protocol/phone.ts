// Phone numbers: the one way a number typed by a person becomes natter's key
// for them, E.164 ("+" and digits, `+442079460958`), so one number is one
// person. Shared by the server (the authority), the CLI and the TUI.
//
// The rule (docs/protocol.md, "Phone numbers"): a number carries its country
// code (`+44 …` or `00 44 …`), or is national (`020 7946 0958`) and the server
// has a default region (`--phone-region GB`). A national or 00 number must have
// a possible length for its country (libphonenumber's length check, not its
// digit patterns); one written with "+" (or 00) needs a known country code, at least 4
// digits after it and at most 15 in all (E.164's own form).
import type * as Lib from "libphonenumber-js/min";
import { NatterError } from "./errors.ts";

// The `min` metadata holds every country's codes, prefixes and possible lengths, all this rule
// uses (`max` adds digit patterns, which refuse fictional numbers and ranges opened after the
// build). It is loaded on first use, so a CLI command that never parses a number skips it.
let lib: typeof Lib | undefined;
const phoneLib = (): typeof Lib => (lib ??= require("libphonenumber-js/min") as typeof Lib);

/** The fewest digits after the country code of a number accepted in international form. */
export const MIN_NATIONAL_DIGITS = 4;

/** The longest number as typed, trimmed (findUser's schema allows the same); a formatted number fits easily. */
export const PHONE_MAX_CHARS = 40;

// Digits, one leading "+", and the separators people type or paste: spaces (any), dashes (any
// Unicode dash), dots, slashes, parentheses. Letters ("ext", "x", "tel:") are refused.
const TYPED = /^\+?[0-9\s\p{Pd}./()]*[0-9][0-9\s\p{Pd}./()]*$/u;

const REASONS: Record<string, string> = {
  TOO_SHORT: "too short",
  TOO_LONG: "too long",
  INVALID_LENGTH: "wrong length",
  INVALID_COUNTRY: "unknown country code",
  NOT_A_NUMBER: "not a number",
};

function refuse(raw: string, why: string): never {
  throw new NatterError("bad_request", `not a phone number: ${JSON.stringify(raw)} (${why})`);
}

/** Parses one candidate; returns the E.164 form if it has a possible length, else the reason it has not. */
function tryParse(text: string, region: string, international = false): { e164: string } | { why: string } {
  const l = phoneLib();
  try {
    const p = l.parsePhoneNumberWithError(text, { extract: false, ...(region && { defaultCountry: region as Lib.CountryCode }) });
    if (p.number.length > 16) return { why: "too long: E.164 has at most 15 digits" };
    if (p.isPossible()) return { e164: p.number };
    // Written in full international form ("+1 555 0002"): E.164 as written, whatever the country's
    // own lengths (test numbers, private plans, ranges newer than the metadata), if long enough.
    if (international && p.nationalNumber.length >= MIN_NATIONAL_DIGITS) return { e164: p.number };
    const len = l.validatePhoneNumberLength(text, { defaultCountry: region ? (region as Lib.CountryCode) : undefined });
    return { why: `${REASONS[len ?? ""] ?? "wrong length"} for +${p.countryCallingCode}` };
  } catch (e) {
    return { why: REASONS[(e as Error).message] ?? "not a number" };
  }
}

/**
 * The E.164 form of a phone number as typed. `region` (ISO 3166 code such as "GB", or "" for
 * none) is the country of numbers written without a country code. Throws bad_request, naming
 * the input and the reason, for anything that is not a number of a possible length.
 */
export function normalisePhone(raw: string, region = ""): string {
  return normalise(raw, region, true);
}

/** `asWritten`: a number in international form may have an impossible length for its country. */
function normalise(raw: string, region: string, asWritten: boolean): string {
  const trimmed = raw.trim();
  if (trimmed.length === 0) refuse(raw, "empty");
  if (trimmed.length > PHONE_MAX_CHARS) refuse(trimmed.slice(0, PHONE_MAX_CHARS) + "…", `longer than ${PHONE_MAX_CHARS} characters`);
  const text = trimmed.replace(/\s+/gu, " ").replace(/\p{Pd}/gu, "-");
  if (!TYPED.test(text)) refuse(raw, "only digits, a leading +, spaces, dashes, dots, slashes and parentheses");
  const digits = text.replace(/[^0-9+]/g, "");
  if (text.startsWith("+")) return ok(raw, tryParse(text, "", asWritten));
  if (digits.startsWith("00")) {
    // 00 is the international prefix; a region whose own prefix starts with 00 (AU's 0011) gets a
    // try before a number of an impossible length is taken as written.
    const plus = "+" + text.replace(/^[^0-9]*0[^0-9]*0/, "");
    const intl = tryParse(plus, "");
    const own = region && !("e164" in intl) ? tryParse(text, region) : null;
    return ok(raw, own && "e164" in own ? own : "e164" in intl || !asWritten ? intl : tryParse(plus, "", true));
  }
  if (!region) refuse(raw, "no country code: start it with + or 00, as in +44 20 7946 0958");
  return ok(raw, tryParse(text, region));
}

/** True if `text` is a whole number of a possible length for its country (libphonenumber's check). */
function possiblePhone(text: string): boolean {
  try {
    normalise(text, "", false);
    return true;
  } catch {
    return false;
  }
}

function ok(raw: string, r: { e164: string } | { why: string }): string {
  if ("why" in r) refuse(raw, r.why);
  return r.e164;
}

/** Like normalisePhone, but null instead of an error. */
export function phoneOrNull(raw: string, region = ""): string | null {
  try {
    return normalisePhone(raw, region);
  } catch {
    return null;
  }
}

/**
 * What a phone stored by a server older than this rule stands for: its normal form, or (for a
 * row typed with its country code but no "+", such as "15551230001") "+" and its digits;
 * null if neither has a possible length. A row already in E.164 stands for itself.
 */
export function legacyPhoneMeaning(stored: string, region = ""): string | null {
  return phoneOrNull(stored, region) ?? (/^[1-9][0-9]*$/.test(stored) ? phoneOrNull("+" + stored) : null);
}

/** How a stored phone compares with the rule: in E.164 already, or legacy, with what it stands for (null: nothing). */
export type StoredPhone = { phone_ok: true } | { phone_ok: false; phone_e164: string | null };

export function storedPhoneStatus(stored: string, region = ""): StoredPhone {
  if (phoneOrNull(stored, region) === stored) return { phone_ok: true };
  return { phone_ok: false, phone_e164: legacyPhoneMeaning(stored, region) };
}

/**
 * Every spelling a server older than this rule may have stored for `e164` (it kept what was
 * typed, minus spaces, dashes, dots and parentheses): the number itself first, then its digits,
 * 00 and its digits, and its national form in `region`. Each means `e164` by legacyPhoneMeaning.
 */
export function phoneSpellings(e164: string, region = ""): string[] {
  const digits = e164.slice(1);
  const out = [e164, digits, "00" + digits];
  if (region) {
    const l = phoneLib();
    const p = l.parsePhoneNumberWithError(e164);
    if (p.countryCallingCode === l.getCountryCallingCode(region as Lib.CountryCode)) out.push(p.formatNational().replace(/[^0-9]/g, ""));
  }
  return [...new Set(out)].filter((s, i) => i === 0 || legacyPhoneMeaning(s, region) === e164);
}

/**
 * Finds who owns a phone number as typed: its E.164 form first, then the other spellings an
 * older server may have stored for it; a number that cannot be normalised is looked up only as
 * stored before (separators dropped), and if that finds nobody, is refused with bad_request.
 */
export async function lookupPhone<T>(raw: string, region: string, get: (phone: string) => Promise<T | null>): Promise<T | null> {
  let e164: string;
  try {
    e164 = normalisePhone(raw, region);
  } catch (e) {
    const asStored = raw.replace(/[\s\-().]/g, "");
    const legacy = /^\+?[0-9]{3,20}$/.test(asStored) ? await get(asStored) : null;
    if (legacy) return legacy;
    throw e;
  }
  for (const s of phoneSpellings(e164, region)) {
    const found = await get(s);
    if (found) return found;
  }
  return null;
}

/**
 * The default region as configured ("gb" or "GB"), upper-cased; "" stays "" (no default).
 * Throws a plain Error naming the value if libphonenumber does not know the country.
 */
export function checkPhoneRegion(region: string): string {
  if (region === "") return "";
  const r = region.trim().toUpperCase();
  if (!phoneLib().isSupportedCountry(r)) throw new Error(`phone-region must be a two-letter country code such as GB or US (got ${JSON.stringify(region)})`);
  return r;
}

/** True if a word typed by a person reads as (part of) a phone number rather than a name or an id. */
export function looksLikePhone(word: string): boolean {
  return /^\+?\(?[0-9][0-9\s\p{Pd}./()]*$/u.test(word);
}

/**
 * Groups the words after a command into phone numbers, so spaced numbers need no quotes. With
 * a comma anywhere, commas alone separate numbers (`020 7946 0958, 020 7946 0959`). Otherwise
 * a word starting with "+" or "00" starts a number, which takes the phone-like words after it
 * while it is not yet a whole number, or still is one with the word added: `+1 202 555 0101
 * +44 20 7946 0958` and `+1 202 555 0101 0044 20 7946 0958` are two numbers, `+1 777 818 0002`
 * one. Any other word is a number on its own (a national number has no length to go by).
 */
export function groupPhoneWords(words: string[]): string[] {
  if (words.some((w) => w.includes(","))) {
    return words
      .join(" ")
      .split(",")
      .map((p) => p.trim())
      .filter((p) => p !== "");
  }
  const out: string[] = [];
  let open = false;
  for (const w of words) {
    const cur = out[out.length - 1]!;
    const takes = open && !w.startsWith("+") && looksLikePhone(w) && (!possiblePhone(cur) || possiblePhone(`${cur} ${w}`));
    if (takes) out[out.length - 1] = `${cur} ${w}`;
    else {
      out.push(w);
      open = /^(\+|00)/.test(w);
    }
  }
  return out;
}
