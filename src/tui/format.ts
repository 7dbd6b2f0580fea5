// Small pure formatters: times in local time, last seen, sizes, fuzzy match,
// and width-aware wrapping (terminal cells, not string length).

const pad2 = (n: number) => String(n).padStart(2, "0");
const WEEKDAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const DAY_MS = 86_400_000;

/** "14:05". */
export function clock(ts: number): string {
  const d = new Date(ts);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

function startOfDay(ts: number): number {
  const d = new Date(ts);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

/** Whole calendar days between two instants (local time); 0 = same day. */
export function daysBetween(ts: number, now: number): number {
  return Math.round((startOfDay(now) - startOfDay(ts)) / DAY_MS);
}

export function sameDay(a: number, b: number): boolean {
  return startOfDay(a) === startOfDay(b);
}

/** Day separator text: "Today", "Yesterday", "Mon 3 Nov", "3 Nov 2025". */
export function dayLabel(ts: number, now: number): string {
  const days = daysBetween(ts, now);
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
  const d = new Date(ts);
  if (d.getFullYear() !== new Date(now).getFullYear()) return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()}`;
  return `${WEEKDAYS[d.getDay()]} ${d.getDate()} ${MONTHS[d.getMonth()]}`;
}

/** At most 5 cells, for the chat list: "14:05", "Yest", "Mon", "3/11". */
export function listTime(ts: number, now: number): string {
  const days = daysBetween(ts, now);
  if (days === 0) return clock(ts);
  if (days === 1) return "Yest";
  if (days > 1 && days < 7) return WEEKDAYS[new Date(ts).getDay()]!;
  const d = new Date(ts);
  return `${d.getDate()}/${d.getMonth() + 1}`;
}

/** "online", "last seen today at 14:05", "last seen Mon 3 Nov at 14:05", or "offline". */
export function presenceText(online: boolean, lastSeen: number | null, now: number): string {
  if (online) return "online";
  if (lastSeen === null) return "offline";
  const days = daysBetween(lastSeen, now);
  const day = days === 0 ? "today" : days === 1 ? "yesterday" : dayLabel(lastSeen, now);
  return `last seen ${day} at ${clock(lastSeen)}`;
}

/** "512 B", "1.5 KiB", "12 MiB". */
export function humanSize(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"]; // binary units, named as such
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} ${units[0]}` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/**
 * Fuzzy subsequence match, case-insensitive: null when `query` is not a
 * subsequence of `text`, else a score (higher is better) that rewards
 * consecutive letters and matches at word starts.
 */
export function fuzzyScore(query: string, text: string): number | null {
  const q = query.toLowerCase().replace(/\s+/g, "");
  const t = text.toLowerCase();
  if (q === "") return 0;
  let score = 0;
  let ti = 0;
  let prev = -2;
  for (const ch of q) {
    const at = t.indexOf(ch, ti);
    if (at === -1) return null;
    score += 1;
    if (at === prev + 1) score += 3;
    if (at === 0 || /[\s_.-]/.test(t[at - 1]!)) score += 2;
    prev = at;
    ti = at + 1;
  }
  return score - t.length * 0.01;
}

/** Terminal cells taken by a string. */
export function cellWidth(s: string): number {
  return Bun.stringWidth(s);
}

/** Cuts a string to at most `width` cells, ending in "…" when cut. */
export function truncate(s: string, width: number): string {
  if (width <= 0) return "";
  if (cellWidth(s) <= width) return s;
  let out = "";
  let w = 0;
  for (const ch of s) {
    const cw = cellWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return out + "…";
}

/** Pads (or truncates) to exactly `width` cells. */
export function fit(s: string, width: number): string {
  const t = truncate(s, width);
  return t + " ".repeat(Math.max(0, width - cellWidth(t)));
}

/**
 * Wraps one line of text (no newlines) into rows of at most `width` cells,
 * breaking at spaces when it can and inside long words when it must.
 */
export function wrapLine(text: string, width: number): string[] {
  if (width <= 0) return [text];
  if (cellWidth(text) <= width) return [text];
  const rows: string[] = [];
  let row = "";
  let rowW = 0;
  const words = text.split(/(\s+)/).filter((w) => w !== "");
  for (const word of words) {
    const ww = cellWidth(word);
    if (rowW + ww <= width) {
      row += word;
      rowW += ww;
      continue;
    }
    if (/^\s+$/.test(word)) {
      rows.push(row);
      row = "";
      rowW = 0;
      continue;
    }
    if (ww <= width && rowW > 0) {
      rows.push(row.replace(/\s+$/, ""));
      row = word;
      rowW = ww;
      continue;
    }
    for (const ch of word) {
      const cw = cellWidth(ch);
      if (rowW + cw > width) {
        rows.push(row);
        row = "";
        rowW = 0;
      }
      row += ch;
      rowW += cw;
    }
  }
  if (row !== "" || rows.length === 0) rows.push(row);
  return rows;
}
