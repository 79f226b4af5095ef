const CTRL_C = 0x03;
const CTRL_D = 0x04;
const BACKSPACE = 0x08;
const TAB = 0x09;
const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const CTRL_U = 0x15;
const ESCAPE = 0x1b;
const DELETE = 0x7f;

/** What came of the keys typed for one answer. */
export type HiddenAnswer =
  | { readonly kind: 'line'; readonly text: string }
  | { readonly kind: 'interrupted' }
  /** A key that is not part of a password and does not edit one here (`key` names it). */
  | { readonly kind: 'refused'; readonly key: string };

function keyName(byte: number): string {
  if (byte === ESCAPE) return 'an arrow, function or Escape key';
  if (byte === TAB) return 'Tab';
  return `Ctrl-${String.fromCharCode(byte + 0x40)}`;
}

/**
 * The bytes a terminal in raw mode sends, edited as its own line editing would have: Backspace (DEL or Ctrl-H)
 * takes back the last character, Ctrl-U the whole line; Enter (or Ctrl-D) ends it, Ctrl-C gives up. Any other
 * control key, and the escape sequences of arrow and function keys, end the typing as refused: nothing on the
 * screen shows what they would have done to a hidden line, and kept as bytes they made a password other than the
 * one typed. A line typed ahead (or pasted) is kept for the next answer.
 */
export class HiddenLineEditor {
  private typed: number[] = [];
  private stopped = false;
  private afterCarriageReturn = false;

  /** The answers `chunk` completes, in order; nothing more once typing was given up or refused. */
  feed(chunk: Uint8Array): HiddenAnswer[] {
    const answers: HiddenAnswer[] = [];
    for (const byte of chunk) {
      if (this.stopped) break;
      const crlf = this.afterCarriageReturn && byte === LINE_FEED;
      this.afterCarriageReturn = byte === CARRIAGE_RETURN;
      if (crlf) continue;
      if (byte === CARRIAGE_RETURN || byte === LINE_FEED || byte === CTRL_D) {
        answers.push({ kind: 'line', text: Buffer.from(this.typed).toString('utf8') });
        this.typed = [];
      } else if (byte === BACKSPACE || byte === DELETE) {
        // A whole character: UTF-8 continuation bytes go with the byte that started it.
        while (this.typed.length > 0 && ((this.typed.pop() ?? 0) & 0xc0) === 0x80);
      } else if (byte === CTRL_U) {
        this.typed = [];
      } else if (byte === CTRL_C) {
        answers.push({ kind: 'interrupted' });
        this.stop();
      } else if (byte < 0x20) {
        answers.push({ kind: 'refused', key: keyName(byte) });
        this.stop();
      } else {
        this.typed.push(byte);
      }
    }
    return answers;
  }

  private stop(): void {
    this.stopped = true;
    this.typed = [];
  }
}

/**
 * Answers typed at a terminal and not shown: the terminal is in raw mode while it is open, so what is typed stays
 * out of the screen, its scrollback and any recording of the session.
 */
export class HiddenInput {
  private readonly editor = new HiddenLineEditor();
  private readonly ready: HiddenAnswer[] = [];
  private waiting: ((answer: HiddenAnswer) => void) | undefined;
  private readonly onData = (chunk: Buffer): void => {
    for (const answer of this.editor.feed(chunk)) {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (waiting) waiting(answer);
      else this.ready.push(answer);
    }
  };

  private constructor(
    private readonly input: NodeJS.ReadStream,
    private readonly output: NodeJS.WritableStream,
  ) {
    input.setRawMode(true);
    input.on('data', this.onData);
    input.resume();
  }

  static open(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): HiddenInput {
    return new HiddenInput(input, output);
  }

  /** Shows `prompt`, and the answer typed after it (or already typed ahead). */
  async ask(prompt: string): Promise<HiddenAnswer> {
    this.output.write(prompt);
    const answer = this.ready.shift() ?? (await new Promise<HiddenAnswer>((resolve) => (this.waiting = resolve)));
    this.output.write('\n');
    return answer;
  }

  /** The terminal back as it was. */
  close(): void {
    this.input.off('data', this.onData);
    this.input.setRawMode(false);
    this.input.pause();
  }
}
