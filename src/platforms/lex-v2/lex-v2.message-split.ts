/** An SSML reply: its `<speak>` tag as written (attributes such as `xml:lang` included) and its body. */
const SPEAK = /^\s*(<speak(?:\s[^>]*)?>)([\s\S]*)<\/speak>\s*$/;
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

/**
 * Elements that only group speech (a paragraph, a sentence, a rate, an effect): a piece may end inside one, which
 * it then closes, and the next piece opens it again. Not `say-as`, `sub`, `phoneme` and the like, whose content is
 * read as one unit.
 */
const CONTAINERS = new Set(['p', 's', 'prosody', 'emphasis', 'lang', 'amazon:domain', 'amazon:effect']);

interface OpenElement {
  readonly name: string;
  /** The opening tag as written, attributes included. */
  readonly tag: string;
}

/**
 * For each position of an SSML body: whether it is outside every tag and element (`topLevel`), or outside every tag
 * and inside container elements only (`nested`); and the elements open there.
 */
function scanSsml(ssml: string): { topLevel: boolean[]; nested: boolean[]; openAt: (index: number) => OpenElement[] } {
  const topLevel = new Array<boolean>(ssml.length).fill(false);
  const nested = new Array<boolean>(ssml.length).fill(false);
  const stacks: OpenElement[][] = new Array<OpenElement[]>(ssml.length);
  let stack: OpenElement[] = [];
  for (let index = 0; index < ssml.length; index++) {
    if (ssml[index] === '<') {
      const end = ssml.indexOf('>', index);
      if (end < 0) break;
      const tag = ssml.slice(index, end + 1);
      const name = /^<\/?\s*([^\s/>]+)/.exec(tag)?.[1] ?? '';
      if (tag.startsWith('</')) {
        const at = stack.map((open) => open.name).lastIndexOf(name);
        if (at >= 0) stack = stack.slice(0, at);
      } else if (!tag.endsWith('/>')) {
        stack = [...stack, { name, tag }];
      }
      for (let inside = index; inside <= end; inside++) stacks[inside] = stack;
      index = end;
      continue;
    }
    stacks[index] = stack;
    topLevel[index] = stack.length === 0;
    nested[index] = stack.every((open) => CONTAINERS.has(open.name));
  }
  return { topLevel, nested, openAt: (index) => stacks[index] ?? [] };
}

/**
 * Splits an SSML body into pieces of at most `max` characters, preferring breaks between top-level elements and
 * text; failing one, a break inside container elements, which the piece closes and the next reopens. A body with
 * neither stays whole.
 */
function splitSsml(body: string, max: number): string[] {
  const pieces: string[] = [];
  let rest = body.trim();
  while (rest.length > max) {
    const { topLevel, nested, openAt } = scanSsml(rest);
    let cut = cutWithin(rest, max, (index) => topLevel[index] === true, false);
    let closing = '';
    let reopening = '';
    for (let budget = max; cut < 0 && budget > 0;) {
      const at = cutWithin(rest, budget, (index) => nested[index] === true, false);
      if (at < 0) break;
      const open = openAt(at);
      const close = [...open]
        .reverse()
        .map((element) => `</${element.name}>`)
        .join('');
      if (rest.slice(0, at).trimEnd().length + close.length <= max) {
        [cut, closing, reopening] = [at, close, open.map((element) => element.tag).join('')];
      } else {
        budget = Math.min(budget - 1, max - close.length);
      }
    }
    if (cut < 0) break;
    const next = reopening + rest.slice(cut).trimStart();
    if (next.length >= rest.length) break;
    pieces.push(rest.slice(0, cut).trimEnd() + closing);
    rest = next;
  }
  pieces.push(rest);
  return pieces;
}

/**
 * Splits a reply into pieces of at most `max` characters at sentence or word boundaries, so a long answer
 * reaches the user whole instead of being refused. SSML (`<speak>…</speak>`) is split between top-level elements
 * and text where it can, else inside paragraphs, sentences, prosody and the like (closed at the end of a piece and
 * opened again in the next), each piece wrapped in its own `<speak>` with the reply's attributes; an SSML reply with
 * no such point stays whole.
 */
export function splitMessage(text: string, max: number): string[] {
  if (text.length <= max) return [text];
  const ssml = SPEAK.exec(text);
  if (!ssml) return splitAt(text, max, () => true, true);
  const [, speak, body] = ssml;
  const wrapper = speak.length + '</speak>'.length;
  return splitSsml(body, max - wrapper).map((piece) => `${speak}${piece}</speak>`);
}
