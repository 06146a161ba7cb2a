import { existsSync, writeFileSync } from "node:fs";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import QRCode from "qrcode";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeWhatsApp, ManualTimers, writeLinkedCreds } from "../../test/whatsapp/fake-socket.js";
import { until } from "../../test/whatsapp/harness.js";
import { type AuthDeps, runAuth } from "./auth.js";

let root: string;
let authDir: string;
let world: FakeWhatsApp;
let timers: ManualTimers;
let out: string;
let err: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), "nestbox-auth-"));
  authDir = path.join(root, "data", "auth", "whatsapp");
  world = new FakeWhatsApp();
  timers = new ManualTimers();
  out = "";
  err = "";
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

function run(argv: string[], extra: Partial<AuthDeps> = {}): Promise<number> {
  return runAuth(argv, {
    stdout: { write: (t: string) => (out += t) },
    stderr: { write: (t: string) => (err += t) },
    authDir,
    socketFactory: world.factory,
    timers,
    ...extra,
  });
}

/** Nothing of a failed attempt is left: no auth dir, no temporary linking dir. */
async function nothingWritten(): Promise<void> {
  expect(existsSync(authDir)).toBe(false);
  const parent = path.dirname(authDir);
  expect(existsSync(parent) ? await readdir(parent) : []).toEqual([]);
}

async function savedCreds(): Promise<{ me?: { id?: string } }> {
  return JSON.parse(await readFile(path.join(authDir, "creds.json"), "utf8"));
}

describe("npm run auth -- whatsapp (QR code)", () => {
  it("renders each QR code, follows the 515 restart after the scan and exits 0 once open", async () => {
    const done = run(["whatsapp"]);
    const first = await world.socketNumber(1);
    first.connecting();
    first.showQr("2@first-qr,abc");
    await until(() => out.includes("Scan this QR code"), "the first QR code");
    first.showQr("2@second-qr,def");
    await until(() => out.includes("A new QR code"), "the second QR code");
    first.pairSuccess();
    await first.serverClose(515);
    const second = await world.socketNumber(2);
    expect(second.options.auth).toBe(first.options.auth);
    second.open();
    expect(await done).toBe(0);
    expect(out).toContain(await QRCode.toString("2@first-qr,abc", { type: "terminal", small: true }));
    expect(out).toContain(await QRCode.toString("2@second-qr,def", { type: "terminal", small: true }));
    expect(out).toContain("Settings > Linked devices > Link a device");
    expect(out).toContain("Linked WhatsApp account +15550001111");
    expect((await savedCreds()).me?.id).toBe("15550001111:3@s.whatsapp.net");
    expect(await readdir(path.dirname(authDir))).toEqual(["whatsapp"]);
    expect(world.live()).toHaveLength(0);
  });

  it("prints JSON lines with --json", async () => {
    const done = run(["whatsapp", "--json"]);
    const sock = await world.socketNumber(1);
    sock.showQr("2@qr-json");
    await until(() => out.includes("qr-json"), "the qr event");
    sock.pairSuccess();
    await sock.serverClose(515);
    (await world.socketNumber(2)).open();
    expect(await done).toBe(0);
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { event: "qr", qr: "2@qr-json" },
      { event: "connected", phone: "15550001111" },
    ]);
  });

  it("times out with exit 1, says what to do, and leaves nothing behind", async () => {
    const done = run(["whatsapp", "--timeout", "5s", "--json"]);
    (await world.socketNumber(1)).showQr("2@never-scanned");
    await until(() => out.includes("never-scanned"), "the qr event");
    expect(timers.delays).toEqual([5000]);
    timers.fireNext();
    expect(await done).toBe(1);
    const last = JSON.parse(out.trim().split("\n").at(-1) ?? "{}");
    expect(last.event).toBe("failed");
    expect(last.reason).toMatch(/timed out after 5s.*run the command again/);
    await nothingWritten();
    expect(world.live()).toHaveLength(0);
  });

  it("Ctrl-C before the link completes exits 130 and leaves no half-written credentials", async () => {
    const ctrl = new AbortController();
    const done = run(["whatsapp"], { signal: ctrl.signal });
    const sock = await world.socketNumber(1);
    sock.showQr("2@qr");
    sock.pairSuccess(); // credentials half there: the account is set, the connection never opened
    ctrl.abort();
    expect(await done).toBe(130);
    await nothingWritten();
  });

  it("fails with exit 1 when WhatsApp closes the connection for good", async () => {
    const done = run(["whatsapp"]);
    await (await world.socketNumber(1)).serverClose(401);
    expect(await done).toBe(1);
    expect(err).toMatch(/^WhatsApp linking failed: .*logged out.*\n$/);
    await nothingWritten();
  });
  it("says the network is at fault when WhatsApp could not be reached at all", async () => {
    const done = run(["whatsapp"]);
    await (await world.socketNumber(1)).serverClose(408);
    expect(await done).toBe(1);
    expect(err).toContain("could not reach WhatsApp");
    expect(err).toContain("proxy");
    await nothingWritten();
  });
});

describe("npm run auth -- whatsapp --pairing-code", () => {
  it("requests one pairing code once the socket is up and tells where to type it", async () => {
    const done = run(["whatsapp", "--pairing-code", "--phone", "15550001111"]);
    const sock = await world.socketNumber(1);
    sock.connecting();
    sock.showQr("2@ref-1");
    await until(() => out.includes("ABCD-1234"), "the pairing code");
    sock.showQr("2@ref-2");
    sock.pairSuccess();
    await sock.serverClose(515);
    (await world.socketNumber(2)).open();
    expect(await done).toBe(0);
    expect(world.pairingRequests).toEqual(["15550001111"]);
    expect(out).toContain("Link with phone number instead");
    expect(out).not.toContain(await QRCode.toString("2@ref-1", { type: "terminal", small: true }));
    expect((await savedCreds()).me?.id).toBe("15550001111:3@s.whatsapp.net");
  });

  it("prints the code as JSON with --json", async () => {
    const done = run(["whatsapp", "--pairing-code", "--phone", "15550001111", "--json", "--timeout", "1m"]);
    (await world.socketNumber(1)).showQr("2@ref");
    await until(() => out.includes("pairing_code"), "the pairing code");
    timers.fireNext();
    expect(await done).toBe(1);
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ event: "pairing_code", code: "ABCD1234" });
    expect(lines[1].event).toBe("failed");
    await nothingWritten();
  });

  it.each([
    ["+15550001111"],
    ["1555 0001111"],
    ["1555-000-1111"],
    ["123456"],
    ["1234567890123456"],
    ["phone"],
  ])("refuses --phone %j with one clear line and writes nothing", async (phone) => {
    expect(await run(["whatsapp", "--pairing-code", "--phone", phone])).toBe(2);
    expect(err.trim().split("\n")).toHaveLength(1);
    expect(err).toContain("--phone");
    expect(err).toContain("country code");
    expect(world.sockets).toHaveLength(0);
    await nothingWritten();
  });

  it("asks for --phone when --pairing-code comes alone", async () => {
    expect(await run(["whatsapp", "--pairing-code"])).toBe(2);
    expect(err).toContain("--phone");
    expect(world.sockets).toHaveLength(0);
  });
});

describe("npm run auth (other cases)", () => {
  it("says so and exits 0 when already linked", async () => {
    await writeLinkedCreds(authDir);
    expect(await run(["whatsapp"])).toBe(0);
    expect(out).toContain("already linked (+15550001111)");
    expect(out).toContain("--force");
    expect(world.sockets).toHaveLength(0);
  });

  it("--force links again and replaces the old credentials only on success", async () => {
    await writeLinkedCreds(authDir, { id: "4911111111:1@s.whatsapp.net" });
    const failing = run(["whatsapp", "--force"]);
    await (await world.socketNumber(1)).serverClose(401);
    expect(await failing).toBe(1);
    expect((await savedCreds()).me?.id).toBe("4911111111:1@s.whatsapp.net");

    const done = run(["whatsapp", "--force"]);
    const sock = await world.socketNumber(2);
    sock.showQr("2@qr");
    sock.pairSuccess();
    await sock.serverClose(515);
    (await world.socketNumber(3)).open();
    expect(await done).toBe(0);
    expect((await savedCreds()).me?.id).toBe("15550001111:3@s.whatsapp.net");
  });

  it.each([[[]], [["telegram"]], [["whatsapp", "extra"]], [["whatsapp", "--bogus"]]])(
    "exits 2 with usage for %j",
    async (argv) => {
      expect(await run(argv)).toBe(2);
      expect(err).toContain("Usage: npm run auth -- whatsapp");
      expect(world.sockets).toHaveLength(0);
    },
  );

  it("takes the auth dir from the configured data dir", async () => {
    const dataDir = path.join(root, "elsewhere");
    await writeLinkedCreds(path.join(dataDir, "auth", "whatsapp"));
    const code = await runAuth(["whatsapp", "--json"], {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env: { NESTBOX_DATA_DIR: dataDir },
      socketFactory: world.factory,
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ event: "already_linked", phone: "15550001111" });
  });
});

describe("npm run auth -- whatsapp (context)", () => {
  it("takes the data dir from .env, like every command", async () => {
    writeFileSync(path.join(root, ".env"), `NESTBOX_DATA_DIR=${path.join(root, "from-dotenv")}\n`);
    await writeLinkedCreds(path.join(root, "from-dotenv", "auth", "whatsapp"));
    const code = await runAuth(["whatsapp", "--json"], {
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
      env: {},
      cwd: root,
      socketFactory: world.factory,
    });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual({ event: "already_linked", phone: "15550001111" });
  });

  it("--help prints the usage and exits 0; -h too", async () => {
    expect(await run(["--help"])).toBe(0);
    expect(out).toContain("Usage: npm run auth -- whatsapp");
    expect(await run(["-h"])).toBe(0);
    expect(world.sockets).toHaveLength(0);
  });
});
