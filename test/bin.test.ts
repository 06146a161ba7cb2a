import {
  cpSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { runProcess } from "./process.js";

const root = path.join(import.meta.dirname, "..");
const version = (JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string })
  .version;
let work: string;
let copy: string;
let installed: string;
const env = () => ({
  PATH: process.env.PATH ?? "",
  HOME: work,
  npm_config_cache: path.join(work, "npm-cache"),
});

// The package as a user gets it: built in a copy of the project, packed, unpacked elsewhere.
beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), "nestbox-bin-"));
  copy = path.join(work, "project");
  mkdirSync(copy);
  for (const f of ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", ".env.example"])
    cpSync(path.join(root, f), path.join(copy, f));
  for (const d of ["src", "container", "skills", "docs"])
    cpSync(path.join(root, d), path.join(copy, d), {
      recursive: true,
      filter: (src) => path.basename(src) !== "node_modules",
    });
  symlinkSync(path.join(root, "node_modules"), path.join(copy, "node_modules"));
  // The runner's own dependencies, as a developer's checkout may have them: never packed.
  mkdirSync(path.join(copy, "container/agent-runner/node_modules/dep"), { recursive: true });
  writeFileSync(path.join(copy, "container/agent-runner/node_modules/dep/index.js"), "");
  const packed = await runProcess("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: copy,
    env: env(),
  });
  const tarball = (JSON.parse(packed.stdout) as { filename: string }[])[0]?.filename as string;
  installed = path.join(work, "installed");
  mkdirSync(installed);
  await runProcess("tar", ["-xzf", path.join(work, tarball), "-C", installed], { env: env() });
  installed = path.join(installed, "package");
  symlinkSync(path.join(root, "node_modules"), path.join(installed, "node_modules"));
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

const bin = () => path.join(installed, "dist/src/cli/nestbox.js");
const nestbox = (...args: string[]) =>
  runProcess("node", [bin(), ...args], { cwd: work, env: env(), allowFail: true });

it("the packed package lists the Dockerfile, the runner, the protocol and the skills, no tests", async () => {
  const dry = await runProcess("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], {
    cwd: copy,
    env: env(),
  });
  const files = (JSON.parse(dry.stdout) as { files: { path: string }[] }[])[0]?.files.map((f) => f.path);
  expect(files).toEqual(
    expect.arrayContaining([
      "container/Dockerfile",
      "container/agent-runner/src/main.ts",
      "src/protocol/frames.ts",
      "dist/src/cli/nestbox.js",
      "skills/memory/SKILL.md",
    ]),
  );
  expect(files?.filter((f) => f.endsWith(".test.ts") || f.endsWith(".test.js"))).toEqual([]);
  expect(files?.filter((f) => f.includes("node_modules"))).toEqual([]);
});

it("the built bin is executable and offers every command", async () => {
  expect(statSync(bin()).mode & 0o111).toBe(0o111);
  const help = await nestbox("--help");
  expect(help.code).toBe(0);
  for (const c of ["start", "status", "chats", "setup <step>", "auth whatsapp"])
    expect(help.stdout).toContain(`  ${c}`);
  const setup = await nestbox("setup", "--help");
  expect(setup).toMatchObject({ code: 0, stdout: expect.stringMatching(/^Usage: npm run setup -- <step>/) });
  expect(await nestbox("setup", "container", "--help")).toMatchObject({ code: 0 });
  expect(await nestbox("auth", "--help")).toMatchObject({ code: 0 });
  expect(await nestbox("--version")).toMatchObject({ code: 0, stdout: `nestbox ${version}\n` });
  expect(await nestbox("setup", "--bogus-step")).toMatchObject({ code: 2 });
});

it("finds container/Dockerfile and skills/ from its installed location", async () => {
  const probe = await runProcess(
    "node",
    [
      "--input-type=module",
      "-e",
      `const m = await import(${JSON.stringify(path.join(installed, "dist/src/cli/project.js"))}); console.log(m.projectDir());`,
    ],
    { cwd: work, env: env() },
  );
  const dir = probe.stdout.trim();
  expect(dir).toBe(installed);
  expect(statSync(path.join(dir, "container", "Dockerfile")).isFile()).toBe(true);
  expect(statSync(path.join(dir, "skills")).isDirectory()).toBe(true);
});
