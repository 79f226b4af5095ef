const SPEAK = /^\s*<speak>([\s\S]*)<\/speak>\s*$/;
const SENTENCE_END = /[.!?…。！？]/;

/**
 * Where a piece may end: after a sentence's end when one falls in the second half of the window, else at the
 * last space, else (plain text only) at the limit itself, never between the halves of a surrogate pair.
 */
function cutWithin(text: string, max: number, breakable: (index: number) => boolean, hardCut: boolean): number {
  let space = -1;
  for (let index = Math.min(max, text.length - 1); index > 0; index--) {
    if (!/\s/.test(text[index]) || !breakable(index)) continue;
    if (SENTENCE_END.test(text[index - 1]) && index >= max / 2) return index;
    if (space < 0) space = index;
  }
  if (space > 0) return space;
  if (!hardCut) return -1;
  const code = text.charCodeAt(max - 1);
  return code >= 0xd800 && code <= 0xdbff ? max - 1 : max;
}

function splitAt(text: string, max: number, breakable: (index: number) => boolean, hardCut: boolean): string[] {
  const pieces: string[] = [];
  let rest = text.trim();
  let offset = text.indexOf(rest);
  while (rest.length > max) {
    const start = offset;
    const cut = cutWithin(rest, max, (index) => breakable(start + index), hardCut);
    if (cut < 0) break;
    pieces.push(rest.slice(0, cut).trimEnd());
    const next = rest.slice(cut);
    const trimmed = next.trimStart();
    offset += cut + next.length - trimmed.length;
    rest = trimmed;
  }
  pieces.push(rest);
  return pieces;
}

/** Positions of an SSML body that are outside every tag and every element (a break there keeps both halves whole). */
function topLevelPositions(ssml: string): boolean[] {
  const open: boolean[] = new Array<boolean>(ssml.length).fill(false);
  let depth = 0;
  let inTag = false;
  for (let index = 0; index < ssml.length; index++) {
    const char = ssml[index];
    if (char === '<') {
      inTag = true;
      const closing = ssml[index + 1] === '/';
      const end = ssml.indexOf('>', index);
      const selfClosing = end > 0 && ssml[end - 1] === '/';
      if (closing) depth = Math.max(0, depth - 1);
      else if (!selfClosing) depth++;
    }
    open[index] = !inTag && depth === 0;
    if (char === '>') inTag = false;
  }
  return open;
}

/**
 * Splits a reply into pieces of at most `max` characters at sentence or word boundaries, so a long answer
 * reaches the user whole instead of being refused. SSML (`<speak>…</speak>`) is split only between top-level
 * elements and text, each piece wrapped in its own `<speak>`; an SSML reply with no such point stays whole.
 */
export function splitMessage(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const ssml = SPEAK.exec(text);
  if (!ssml) return splitAt(text, max, () => true, true);
  const body = ssml[1];
  const wrapper = '<speak></speak>'.length;
  const topLevel = topLevelPositions(body);
  return splitAt(body, max - wrapper, (index) => topLevel[index] === true, false).map(
    (piece) => `<speak>${piece}</speak>`,
  );
}
