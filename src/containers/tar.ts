import type { Readable } from "node:stream";
import tar from "tar-stream";

/** Packs files (path -> content) into an uncompressed tar stream, as a Docker build context. */
export function packTar(files: Record<string, Buffer | string>): Readable {
  const pack = tar.pack();
  for (const [name, content] of Object.entries(files)) {
    // Build scripts keep their execute bit; everything else is plain data.
    pack.entry({ name, mode: name.endsWith(".sh") ? 0o755 : 0o644 }, content);
  }
  pack.finalize();
  return pack;
}
