/**
 * A tiny terminal: applies what readline and the terminal channel write (text, CR, LF, cursor moves,
 * line and screen clears) to a grid, so a test reads the screen a person would see.
 */
export class Screen {
  readonly rows: string[][] = [[]];
  row = 0;
  col = 0;

  write(data: string): void {
    let i = 0;
    while (i < data.length) {
      const ch = data[i] as string;
      if (ch === "\x1b") {
        // ESC is checked above; the pattern reads the CSI sequence after it.
        const m = /^\[(\??)([\d;]*)([A-Za-z~])/.exec(data.slice(i + 1));
        if (!m) throw new Error(`screen: unknown escape ${JSON.stringify(data.slice(i, i + 8))}`);
        this.#csi(m[1] as string, m[2] as string, m[3] as string);
        i += m[0].length + 1;
        continue;
      }
      if (ch === "\r") this.col = 0;
      else if (ch === "\n") {
        // A terminal's output processing (ONLCR, kept in Node's raw mode) turns LF into CR LF.
        this.col = 0;
        this.#down(1);
      } else {
        const line = this.#line();
        while (line.length < this.col) line.push(" ");
        line[this.col] = ch;
        this.col++;
      }
      i++;
    }
  }

  /** The visible lines, trailing spaces and trailing empty lines removed. */
  text(): string[] {
    const lines = this.rows.map((r) => r.join("").trimEnd());
    while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    return lines;
  }

  #line(): string[] {
    while (this.rows.length <= this.row) this.rows.push([]);
    return this.rows[this.row] as string[];
  }

  #down(n: number): void {
    this.row += n;
    this.#line();
  }

  #csi(priv: string, params: string, cmd: string): void {
    if (priv === "?") return; // mode switches (bracketed paste, cursor visibility)
    const n = params === "" ? null : Number(params.split(";")[0]);
    switch (cmd) {
      case "A":
        this.row = Math.max(0, this.row - (n ?? 1));
        return;
      case "B":
        this.#down(n ?? 1);
        return;
      case "C":
        this.col += n ?? 1;
        return;
      case "D":
        this.col = Math.max(0, this.col - (n ?? 1));
        return;
      case "G":
        this.col = (n ?? 1) - 1;
        return;
      case "J": {
        const line = this.#line();
        line.length = Math.min(line.length, this.col);
        this.rows.length = this.row + 1;
        return;
      }
      case "K": {
        const line = this.#line();
        if ((n ?? 0) === 0) line.length = Math.min(line.length, this.col);
        else if (n === 1) for (let c = 0; c < Math.min(this.col + 1, line.length); c++) line[c] = " ";
        else line.length = 0;
        return;
      }
      default:
        throw new Error(`screen: unsupported escape ${params}${cmd}`);
    }
  }
}
