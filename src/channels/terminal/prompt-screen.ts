import { clearScreenDown, cursorTo, type Interface, moveCursor } from "node:readline";
import type { Writable } from "node:stream";

/**
 * The screen of an interactive terminal chat: text printed above the prompt line (replies, a
 * "thinking" line) while the prompt and whatever the person has typed so far are drawn again below it.
 */
export class PromptScreen {
  readonly #rl: Interface;
  readonly #out: Writable;
  /** A thinking line is shown directly above the prompt. */
  #thinking = false;

  constructor(rl: Interface, out: Writable) {
    this.#rl = rl;
    this.#out = out;
  }

  /** Prints `text` above the prompt, in place of the thinking line when one is shown. */
  print(text: string): void {
    this.#clearPrompt(this.#thinking);
    this.#thinking = false;
    this.#out.write(`${text}\n`);
    this.#redraw();
  }

  /** Shows `text` (e.g. "Andy is thinking...") on its own line above the prompt until {@link hideThinking}. */
  showThinking(text: string): void {
    if (this.#thinking) return;
    this.#clearPrompt(false);
    this.#out.write(`${text}\n`);
    this.#thinking = true;
    this.#redraw();
  }

  /** Removes the thinking line, if it is still the line above the prompt. */
  hideThinking(): void {
    if (!this.#thinking) return;
    this.#clearPrompt(true);
    this.#thinking = false;
    this.#redraw();
  }

  /** A line was entered: the thinking line is no longer directly above the prompt, so it stays. */
  lineEntered(): void {
    this.#thinking = false;
  }

  /** Draws a fresh prompt. */
  prompt(): void {
    this.#rl.prompt();
  }

  /** Moves the cursor to the start of the prompt (and up over the thinking line) and clears below. */
  #clearPrompt(overThinking: boolean): void {
    const rows = this.#rl.getCursorPos().rows + (overThinking ? 1 : 0);
    if (rows > 0) moveCursor(this.#out, 0, -rows);
    cursorTo(this.#out, 0);
    clearScreenDown(this.#out);
  }

  #redraw(): void {
    // readline redraws from `prevRows` rows above the cursor; the cursor now starts a fresh line.
    (this.#rl as unknown as { prevRows: number }).prevRows = 0;
    this.#rl.prompt(true);
  }
}
