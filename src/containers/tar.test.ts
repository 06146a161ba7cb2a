import { buffer } from "node:stream/consumers";
import tar from "tar-stream";
import { describe, expect, it } from "vitest";
import { packTar } from "./tar.js";

/** Every entry of a tar archive: name, mode and content. */
async function unpack(archive: Buffer): Promise<{ name: string; mode: number; text: string }[]> {
  const entries: { name: string; mode: number; text: string }[] = [];
  const extract = tar.extract();
  const done = new Promise<void>((resolve, reject) => {
    extract.on("finish", resolve);
    extract.on("error", reject);
  });
  extract.on("entry", (header, stream, next) => {
    void buffer(stream).then((data) => {
      entries.push({ name: header.name, mode: header.mode ?? 0, text: data.toString() });
      next();
    });
  });
  extract.end(archive);
  await done;
  return entries;
}

describe("packTar", () => {
  it("packs every file with its content; scripts are executable; long and non-ASCII paths survive", async () => {
    const long = `${"deep/".repeat(40)}file.txt`;
    const files = {
      Dockerfile: "FROM scratch\n",
      "bin/entry.sh": "#!/bin/sh\necho hi\n",
      [long]: "far down",
      "ünïcode/✓.txt": Buffer.from("bytes ✓"),
      "empty.txt": "",
    };
    const entries = await unpack(await buffer(packTar(files)));
    expect(entries).toEqual([
      { name: "Dockerfile", mode: 0o644, text: "FROM scratch\n" },
      { name: "bin/entry.sh", mode: 0o755, text: "#!/bin/sh\necho hi\n" },
      { name: long, mode: 0o644, text: "far down" },
      { name: "ünïcode/✓.txt", mode: 0o644, text: "bytes ✓" },
      { name: "empty.txt", mode: 0o644, text: "" },
    ]);
  });
});
