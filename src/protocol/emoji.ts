// The one rule for a reaction: exactly one emoji, i.e. one extended grapheme
// cluster that is an emoji (a pictograph with its modifiers, ZWJ sequence or
// variation selector, a flag, or a keycap). Shared by the server (which
// enforces it) and clients (which may check before sending).

const segmenter = new Intl.Segmenter(undefined, { granularity: "grapheme" });

/** An emoji grapheme: starts with a pictograph, a regional-indicator pair (flag) or a keycap base. */
const EMOJI = /^(?:\p{Extended_Pictographic}|\p{Regional_Indicator}{2}$|[0-9#*]\uFE0F?\u20E3$)/u;
/** Text-default pictographs (©, ®, ‼, digits...) count only with VS16 or when emoji-presented by default. */
const PRESENTATION = /\p{Emoji_Presentation}|\uFE0F|\p{Emoji_Modifier}|\u200D/u;

/** True if `s` is exactly one emoji. */
export function isSingleEmoji(s: string): boolean {
  if (s.length === 0 || s.length > 64) return false;
  const it = segmenter.segment(s)[Symbol.iterator]();
  const first = it.next();
  if (first.done || !it.next().done) return false;
  if (!EMOJI.test(s)) return false;
  return /^\p{Regional_Indicator}/u.test(s) || /\u20E3$/.test(s) || PRESENTATION.test(s);
}
