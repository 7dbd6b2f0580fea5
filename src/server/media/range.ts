// HTTP Range (RFC 9110 14.2) for one byte range. Several ranges are answered
// with the whole file (allowed: a server may ignore Range).

export type RangeResult =
  | { kind: "none" }
  | { kind: "range"; start: number; end: number } // inclusive end
  | { kind: "unsatisfiable" };

/** Parses a Range header against a file of `size` bytes. */
export function parseRange(header: string | null, size: number): RangeResult {
  if (header === null) return { kind: "none" };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m) return { kind: "none" }; // unknown unit: ignore
  const specs = m[1]!.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (specs.length !== 1) return { kind: "none" };
  const r = /^(\d*)-(\d*)$/.exec(specs[0]!);
  if (!r || (r[1] === "" && r[2] === "")) return { kind: "none" }; // malformed: ignore
  if (r[1] === "") {
    const n = Number(r[2]);
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "range", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(r[1]);
  const end = r[2] === "" ? size - 1 : Math.min(Number(r[2]), size - 1);
  if (r[2] !== "" && Number(r[2]) < start) return { kind: "none" }; // invalid: ignore
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "range", start, end };
}
