import { describe, expect, test } from "bun:test";
import {
  checkPhoneRegion,
  groupPhoneWords,
  legacyPhoneMeaning,
  looksLikePhone,
  lookupPhone,
  normalisePhone,
  PHONE_MAX_CHARS,
  phoneSpellings,
  storedPhoneStatus,
} from "./phone.ts";

/** The bad_request message normalisePhone throws, or "" if it did not throw. */
function refusal(raw: string, region = ""): string {
  try {
    normalisePhone(raw, region);
    return "";
  } catch (e) {
    expect((e as { code?: string }).code).toBe("bad_request");
    return (e as Error).message;
  }
}

describe("normalisePhone", () => {
  test("E.164 in, E.164 out", () => {
    expect(normalisePhone("+12025550101")).toBe("+12025550101");
    expect(normalisePhone("+442079460958")).toBe("+442079460958");
    expect(normalisePhone("+4915123456789")).toBe("+4915123456789");
  });

  test("spaces, dashes, dots, slashes and parentheses, as typed or pasted", () => {
    for (const s of ["+1 202 555 0101", "+1 (202) 555-0101", "+1.202.555.0101", "  +1-202-555-0101 ", "+1 202\u2011555\u20130101", "+1\u00a0202\u00a0555\u00a00101"])
      expect(normalisePhone(s)).toBe("+12025550101");
    expect(normalisePhone("+44 (0) 20 7946 0958")).toBe("+442079460958");
    expect(normalisePhone("030/12345678", "DE")).toBe("+493012345678");
  });

  test("00 is the international prefix, with or without a region", () => {
    expect(normalisePhone("0044 20 7946 0958")).toBe("+442079460958");
    expect(normalisePhone("00 44 (0)20 7946 0958")).toBe("+442079460958");
    expect(normalisePhone("0044 20 7946 0958", "GB")).toBe("+442079460958");
    expect(normalisePhone("00 1 202 555 0101", "US")).toBe("+12025550101"); // the US dials 011, but 00 still means abroad
    expect(normalisePhone("011 44 20 7946 0958", "US")).toBe("+442079460958"); // the region's own prefix works too
    expect(normalisePhone("0011 44 20 7946 0958", "AU")).toBe("+442079460958");
  });

  test("national numbers need the server's region", () => {
    expect(normalisePhone("020 7946 0958", "GB")).toBe("+442079460958");
    expect(normalisePhone("(020) 7946 0958", "GB")).toBe("+442079460958");
    expect(normalisePhone("202-555-0101", "US")).toBe("+12025550101");
    expect(normalisePhone("1 202 555 0101", "US")).toBe("+12025550101");
    expect(normalisePhone("+1 202 555 0101", "GB")).toBe("+12025550101"); // a country code wins over the region
    expect(refusal("020 7946 0958")).toBe('not a phone number: "020 7946 0958" (no country code: start it with + or 00, as in +44 20 7946 0958)');
    expect(refusal("12025550101")).toContain("no country code");
  });

  test("in international form, E.164 as written (known country code, 4+ digits after it, 15 in all)", () => {
    expect(normalisePhone("+15550001")).toBe("+15550001");
    expect(normalisePhone("+1 555 0002")).toBe("+15550002");
    expect(normalisePhone("0015550003")).toBe("+15550003");
    expect(normalisePhone("+1 202 555 01011")).toBe("+120255501011");
    expect(normalisePhone("+4470000100")).toBe("+4470000100");
    expect(refusal("+1 555")).toContain("too short for +1");
    expect(refusal("+999 1234567")).toContain("unknown country code");
    expect(refusal("+12345678901234567")).toContain("too long");
  });

  test("national numbers must have a possible length for the region", () => {
    expect(refusal("15550001", "US")).toContain("too short for +1");
    expect(refusal("020 79", "GB")).toMatch(/too short|wrong length/);
    expect(normalisePhone("+49 1123 4561 2345 6")).toBe("+491123456123456"); // 15 digits: the most E.164 allows
    expect(refusal("+49 1123 4561 2345 67")).toContain("at most 15 digits"); // German numbers may be longer, E.164 may not
  });

  test("at most PHONE_MAX_CHARS (40) characters as typed, spaces inside included", () => {
    const padded = (n: number) => "+1 (202) 555-0101".replace(" ", " ".repeat(n - 16));
    expect(padded(PHONE_MAX_CHARS).length).toBe(40);
    expect(normalisePhone(`  ${padded(40)}  `)).toBe("+12025550101");
    expect(refusal(padded(41))).toContain("longer than 40 characters");
  });

  test("letters, extensions, stray + and garbage are refused, naming the input", () => {
    for (const s of ["hello", "+1 202 555 0101 ext 5", "+12025550101x", "tel:+12025550101", "+1 555 CALL NOW", "++12025550101", "+12025550101+1", "+", "()", "#12"])
      expect(refusal(s)).toStartWith(`not a phone number: ${JSON.stringify(s)}`);
    expect(refusal("")).toContain("empty");
    expect(refusal("   ")).toContain("empty");
    expect(refusal("+999 123 456")).toContain("unknown country code");
    expect(refusal("+1 202 555 0101 ext 5")).toContain("only digits, a leading +, spaces, dashes, dots, slashes and parentheses");
  });

  test("one number, one form: every spelling of a number gives the same string", () => {
    const spellings = ["+44 20 7946 0958", "+442079460958", "0044 20 7946 0958", "00442079460958", "+44 (0)20-7946-0958", "020 7946 0958"];
    expect(new Set(spellings.map((s) => normalisePhone(s, "GB")))).toEqual(new Set(["+442079460958"]));
  });
});

test("checkPhoneRegion: upper-cases known countries, refuses others, empty is none", () => {
  expect(checkPhoneRegion("gb")).toBe("GB");
  expect(checkPhoneRegion(" US ")).toBe("US");
  expect(checkPhoneRegion("")).toBe("");
  expect(() => checkPhoneRegion("UK")).toThrow(/two-letter country code.*"UK"/);
  expect(() => checkPhoneRegion("Britain")).toThrow(/two-letter/);
});

describe("rows stored before the rule", () => {
  test("storedPhoneStatus: E.164 rows are ok; others say what they stand for, or null", () => {
    expect(storedPhoneStatus("+12025550101")).toEqual({ phone_ok: true });
    expect(storedPhoneStatus("12025550101")).toEqual({ phone_ok: false, phone_e164: "+12025550101" });
    expect(storedPhoneStatus("00442079460958")).toEqual({ phone_ok: false, phone_e164: "+442079460958" });
    expect(storedPhoneStatus("02079460958")).toEqual({ phone_ok: false, phone_e164: null });
    expect(storedPhoneStatus("02079460958", "GB")).toEqual({ phone_ok: false, phone_e164: "+442079460958" });
    expect(storedPhoneStatus("+15550001")).toEqual({ phone_ok: true });
    expect(storedPhoneStatus("15550001")).toEqual({ phone_ok: false, phone_e164: "+15550001" });
    expect(storedPhoneStatus("555")).toEqual({ phone_ok: false, phone_e164: null });
  });

  test("legacyPhoneMeaning reads digits typed without + as international when nothing else fits", () => {
    expect(legacyPhoneMeaning("442079460958")).toBe("+442079460958");
    expect(legacyPhoneMeaning("2025550101", "US")).toBe("+12025550101");
    expect(legacyPhoneMeaning("0207946095")).toBeNull();
  });

  test("phoneSpellings: the number, its digits, 00 and digits, and the national form in the region", () => {
    expect(phoneSpellings("+442079460958")).toEqual(["+442079460958", "442079460958", "00442079460958"]);
    expect(phoneSpellings("+442079460958", "GB")).toEqual(["+442079460958", "442079460958", "00442079460958", "02079460958"]);
    expect(phoneSpellings("+12025550101", "US")).toEqual(["+12025550101", "12025550101", "0012025550101", "2025550101"]);
    expect(phoneSpellings("+12025550101", "GB")).toEqual(["+12025550101", "12025550101", "0012025550101"]);
    for (const s of phoneSpellings("+442079460958", "GB").slice(1)) expect(legacyPhoneMeaning(s, "GB")).toBe("+442079460958");
  });

  test("lookupPhone: E.164 first, then the legacy spellings; an invalid number only as it was stored", async () => {
    const rows = new Map([
      ["+12025550101", "new"],
      ["442079460958", "digits"],
      ["+15550001", "short"],
    ]);
    const asked: string[] = [];
    const get = async (p: string) => (asked.push(p), rows.get(p) ?? null);
    expect(await lookupPhone("+1 (202) 555-0101", "", get)).toBe("new");
    expect(asked).toEqual(["+12025550101"]); // a hit costs one read
    expect(await lookupPhone("+44 20 7946 0958", "", get)).toBe("digits");
    expect(await lookupPhone("0044 20 7946 0958", "", get)).toBe("digits");
    expect(await lookupPhone("+1 555 0001", "", get)).toBe("short");
    asked.length = 0;
    expect(await lookupPhone("+49 30 12345678", "", get)).toBeNull();
    expect(asked).toEqual(["+493012345678", "493012345678", "00493012345678"]);
    expect(lookupPhone("+1 555", "", get)).rejects.toMatchObject({ code: "bad_request", message: expect.stringContaining("too short") });
    expect(lookupPhone("bob", "", get)).rejects.toMatchObject({ code: "bad_request" });
  });
});

describe("client-side splitting (no normalising: the server does that)", () => {
  test("looksLikePhone tells numbers from names and user ids", () => {
    for (const s of ["+15550001", "15550001", "+1 (555) 000-1", "(020) 7946 0958", "0044", "+44 20 7946 0958"]) expect(looksLikePhone(s)).toBe(true);
    for (const s of ["u_abc", "+", "bob", "Book", "", "+1 555 bob", "m_123"]) expect(looksLikePhone(s)).toBe(false);
  });

  test("groupPhoneWords: + or 00 starts a number; commas, when present, alone separate", () => {
    expect(groupPhoneWords(["+1", "202", "555", "0101", "+44", "20", "7946", "0958"])).toEqual(["+1 202 555 0101", "+44 20 7946 0958"]);
    expect(groupPhoneWords(["0044", "20", "7946", "0958", "+15550001"])).toEqual(["0044 20 7946 0958", "+15550001"]);
    expect(groupPhoneWords(["+12025550101", "02079460958"])).toEqual(["+12025550101", "02079460958"]); // a whole number takes no more
    expect(groupPhoneWords(["+1", "777", "818", "0002", "+1", "777", "818", "0003"])).toEqual(["+1 777 818 0002", "+1 777 818 0003"]);
    expect(groupPhoneWords(["+1", "202", "555", "0101", "0044", "20", "7946", "0958"])).toEqual(["+1 202 555 0101", "0044 20 7946 0958"]);
    expect(groupPhoneWords(["+49", "30", "1234", "5678"])).toEqual(["+49 30 1234 5678"]); // whole at "+49 30 1234", and still with 5678
    expect(groupPhoneWords(["02079460958", "02079460959"])).toEqual(["02079460958", "02079460959"]);
    expect(groupPhoneWords(["020", "7946", "0958,", "020", "7946", "0959"])).toEqual(["020 7946 0958", "020 7946 0959"]);
    expect(groupPhoneWords(["+1", "202", "bob"])).toEqual(["+1 202", "bob"]);
    expect(groupPhoneWords([])).toEqual([]);
  });
});
