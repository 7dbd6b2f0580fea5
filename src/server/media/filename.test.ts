import { describe, expect, test } from "bun:test";
import { contentDisposition, decodeFilenameHeader, sanitizeFilename } from "./filename.ts";

describe("sanitizeFilename", () => {
  test("keeps only the base name, whichever separator", () => {
    expect(sanitizeFilename("../../etc/passwd")).toBe("passwd");
    expect(sanitizeFilename("C:\\Users\\x\\..\\photo.jpg")).toBe("photo.jpg");
    expect(sanitizeFilename("dir/")).toBe("file");
  });
  test("removes controls, bidi overrides and zero-width characters; replaces shell/Windows specials", () => {
    expect(sanitizeFilename("a\nb\r\tc\u0000.txt")).toBe("abc.txt");
    expect(sanitizeFilename("\u202Egnp.exe")).toBe("gnp.exe");
    expect(sanitizeFilename("a\u200Bb.txt")).toBe("ab.txt");
    expect(sanitizeFilename('what?<is>"this".txt')).toBe("what__is__this_.txt");
  });
  test("no traversal, no hidden dot-file, no trailing dots; empty falls back", () => {
    expect(sanitizeFilename("..")).toBe("file");
    expect(sanitizeFilename(".bashrc")).toBe("bashrc");
    expect(sanitizeFilename("name. . ")).toBe("name");
    expect(sanitizeFilename("", "file.png")).toBe("file.png");
    expect(sanitizeFilename(null, "file")).toBe("file");
    expect(sanitizeFilename("CON.txt")).toBe("_CON.txt");
  });
  test("bounded to 200 UTF-8 bytes on a character boundary, extension kept", () => {
    const n = sanitizeFilename("é".repeat(300) + ".jpeg");
    expect(Buffer.byteLength(n)).toBeLessThanOrEqual(200);
    expect(n.endsWith(".jpeg")).toBe(true);
    expect(n).not.toContain("\uFFFD");
    expect(sanitizeFilename("café 📷.jpg")).toBe("café 📷.jpg");
  });
});

describe("headers", () => {
  test("Content-Disposition carries an ASCII fallback and the exact UTF-8 name", () => {
    expect(contentDisposition("inline", 'café "x".jpg')).toBe(`inline; filename="caf_ _x_.jpg"; filename*=UTF-8''caf%C3%A9%20%22x%22.jpg`);
  });
  test("X-Filename is percent-decoded when it decodes, else taken as is", () => {
    expect(decodeFilenameHeader("caf%C3%A9.jpg")).toBe("café.jpg");
    expect(decodeFilenameHeader("100%.txt")).toBe("100%.txt");
    expect(decodeFilenameHeader(null)).toBeNull();
  });
});
