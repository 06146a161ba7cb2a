// tar-stream ships no types (it comes with dockerode); this declares the little nestbox uses.
declare module "tar-stream" {
  import type { Readable, Writable } from "node:stream";

  /** One entry's header. */
  interface Headers {
    name: string;
    mode?: number;
    mtime?: Date;
    size?: number;
    type?: "file" | "directory";
  }
  /** A tar being written: a readable stream of the archive. */
  interface Pack extends Readable {
    entry(header: Headers, buffer: Buffer | string, callback?: (err?: Error | null) => void): void;
    finalize(): void;
  }
  /** A tar being read: write the archive in, hear each entry. */
  interface Extract extends Writable {
    on(event: "entry", listener: (header: Headers, stream: Readable, next: () => void) => void): this;
    on(event: "finish", listener: () => void): this;
    on(event: "error", listener: (err: Error) => void): this;
  }
  const tarStream: { pack(): Pack; extract(): Extract };
  export default tarStream;
}
