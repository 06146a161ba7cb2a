import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import net, { type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, expect, it } from "vitest";
import type { ContainerRuntime, ContainerSpec } from "../../src/containers/container-runtime.js";
import { ContainerError } from "../../src/errors.js";

const LABEL = "nestbox.conformance";
const IPV4 = /^\d+\.\d+\.\d+\.\d+$/;
/**
 * Once /signal/go exists, connects to argv host:port; exits 0 connected, 1 refused, 2 timed out, 3 other.
 * (Exit codes, not output: it works the same on runtimes without attach.)
 */
const CONNECT = `const go = setInterval(() => {
  if (!require("fs").existsSync("/signal/go")) return;
  clearInterval(go);
  const s = require("net").connect(+process.argv[2], process.argv[1]);
  setTimeout(() => process.exit(2), 3000);
  s.on("connect", () => process.exit(0));
  s.on("error", (e) => process.exit(e.code === "ECONNREFUSED" ? 1 : 3));
}, 100);`;
const OUTCOME: Record<number, string> = { 0: "OK", 1: "REFUSED", 2: "TIMEOUT", 3: "ERR" };

/** Reads a stream until `predicate` holds for the text so far. */
function readUntil(
  stream: NodeJS.ReadableStream,
  predicate: (s: string) => boolean,
  ms = 15_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`timed out; got ${JSON.stringify(text)}`)), ms);
    stream.on("data", (d: Buffer) => {
      text += d.toString();
      if (predicate(text)) {
        clearTimeout(timer);
        resolve(text);
      }
    });
  });
}

/** What a conformance run may be told beyond the runtime and the image. */
export interface ConformanceOptions {
  /** Anything of this run the engine still holds (containers, services, networks, volumes), by label `nestbox.conformance=<run>` or name prefix `conformance-<run>`: must be none after the suite. */
  leftovers?: (run: string) => Promise<string[]>;
  /** A listener on this machine past every Docker network: an open network reaches it, an internal one must not. */
  outsideHost?: () => Promise<{ address: string; port: number; close(): void }>;
}

/**
 * The behaviour every ContainerRuntime must show against a real engine. `image` needs `sh`,
 * `cat`, `sleep` and `node`; the engine must run on this machine (the host's side of a network is
 * checked, and bind mounts come from this machine). Attach cases run only for transport "attach".
 * Call inside a describe that only runs when the engine is reachable.
 */
export function runtimeConformance(
  makeRuntime: () => ContainerRuntime,
  image: string,
  options: ConformanceOptions = {},
): void {
  const rt = makeRuntime();
  // Cases of the other transport are not registered at all (never counted as skipped).
  const attachIt = rt.transport === "attach" ? it : () => {};
  const run = `${process.pid}-${Date.now().toString(36)}`;
  // An explicit subnet (the swarm runtime needs one), random so parallel runs do not collide.
  const subnet = `10.${200 + Math.floor(Math.random() * 50)}.${Math.floor(Math.random() * 256)}.0/24`;
  const dir = mkdtempSync(path.join(tmpdir(), "nestbox-conf-"));
  chmodSync(dir, 0o755);
  const spec = (name: string, over: Partial<ContainerSpec> = {}): ContainerSpec => ({
    name: `conformance-${run}-${name}`,
    image,
    labels: { [LABEL]: run },
    env: {},
    mounts: [],
    ...over,
  });

  const netName = `conformance-${run}-net`;
  const volName = `conformance-${run}-vol`;
  afterAll(async () => {
    for (const c of await rt.list({ [LABEL]: run })) await rt.remove(c.id);
    await rt.removeNetwork(netName);
    for (const v of await rt.listVolumes({ [LABEL]: run })) await rt.removeVolume(v.name);
    rmSync(dir, { recursive: true, force: true });
    if (options.leftovers) expect(await options.leftovers(run)).toEqual([]);
  });

  it("reports the engine version", async () => {
    expect(await rt.version()).toMatch(/^\d+\.\d+/);
  });

  attachIt("round-trips JSON lines over attached stdin/stdout, with stderr kept apart", async () => {
    const id = await rt.create(spec("echo", { cmd: ["sh", "-c", "echo started >&2; cat"], openStdin: true }));
    const io = await rt.attach(id);
    const out = readUntil(io.stdout, (s) => s.includes("\n"));
    const err = readUntil(io.stderr, (s) => s.includes("started"));
    await rt.start(id);
    io.stdin.write('{"type":"ping","n":1}\n');
    expect((await out).trim()).toBe('{"type":"ping","n":1}');
    expect((await err).trim()).toBe("started");
    io.close();
    await rt.remove(id);
  });

  attachIt(
    "ends a container's open stdin when its attached client goes, so the program sees end of input",
    async () => {
      const id = await rt.create(
        spec("stdin-once", { cmd: ["sh", "-c", "cat >/dev/null; exit 7"], openStdin: true }),
      );
      const io = await rt.attach(id);
      await rt.start(id);
      io.close();
      expect(await rt.wait(id)).toBe(7);
      await rt.remove(id);
    },
  );

  const dialIt = rt.transport === "dial" ? it : () => {};
  dialIt("refuses to attach: its containers dial the host", async () => {
    await expect(rt.attach("any")).rejects.toMatchObject({ code: "ATTACH_UNSUPPORTED" });
  });

  it("waits for the exit code", async () => {
    const id = await rt.create(spec("exit", { cmd: ["sh", "-c", "exit 3"] }));
    await rt.start(id);
    expect(await rt.wait(id)).toBe(3);
    expect((await rt.inspect(id))?.exitCode).toBe(3);
    await rt.remove(id);
  });

  it("runs a one-shot container: exit code, all of stdout and stderr up to the exit, then it is gone", async () => {
    const labels = { [LABEL]: run, "nestbox.oneshot": "ok" };
    // Output written right before the exit is what a wait-then-read loses (the race run() owns).
    const script = "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done; echo oops >&2; exit 4";
    const r = await rt.run(spec("oneshot", { labels, cmd: ["sh", "-c", script] }));
    expect(r.exitCode).toBe(4);
    const lines = r.stdout.trimEnd().split("\n");
    expect([lines.length, lines[0], lines.at(-1)]).toEqual([3000, "line0", "line2999"]);
    expect(r.stderr).toBe("oops\n");
    expect(await rt.list(labels)).toEqual([]);
  });

  it("removes a one-shot container that cannot start, and throws a ContainerError", async () => {
    const labels = { [LABEL]: run, "nestbox.oneshot": "broken" };
    const r = rt.run(spec("oneshot-broken", { labels, entrypoint: ["/no/such/binary"] }));
    await expect(r).rejects.toBeInstanceOf(ContainerError);
    expect(await rt.list(labels)).toEqual([]);
  });

  it("inspects labels, env, user and mounts; lists by label; null once removed", async () => {
    writeFileSync(path.join(dir, "hello.txt"), "from the host");
    const id = await rt.create(
      spec("inspect", {
        cmd: ["sleep", "300"],
        env: { GREETING: "hi" },
        user: "1000:1000",
        labels: { [LABEL]: run, "nestbox.extra": "yes" },
        mounts: [{ hostPath: dir, containerPath: "/data", readOnly: true }],
      }),
    );
    await rt.start(id);
    const info = await rt.inspect(id);
    expect(info).toMatchObject({ id, running: true, user: "1000:1000", labels: { "nestbox.extra": "yes" } });
    expect(info?.env).toContain("GREETING=hi");
    expect(info?.mounts).toContainEqual({ source: dir, destination: "/data", readOnly: true });
    expect((await rt.list({ [LABEL]: run, "nestbox.extra": "yes" })).map((c) => c.id)).toEqual([id]);
    expect(await rt.list({ [LABEL]: run, "nestbox.extra": "no" })).toEqual([]);
    await rt.kill(id);
    expect(await rt.wait(id)).not.toBe(0);
    await rt.remove(id);
    expect(await rt.inspect(id)).toBeNull();
    await expect(rt.remove(id)).resolves.toBeUndefined();
  });

  it("applies the hardening: read-only root, tmpfs /tmp, no capabilities, bind mounts rw and ro", async () => {
    const rw = mkdtempSync(path.join(dir, "rw-"));
    chmodSync(rw, 0o777);
    const hardened = spec("hardened", {
      cmd: [
        "sh",
        "-c",
        "touch /root-test 2>/dev/null && echo root-writable; echo tmp > /tmp/x && echo tmp-ok; " +
          "echo hi > /rw/out.txt && echo rw-ok; echo no > /ro/hello.txt 2>/dev/null || echo ro-refused; " +
          "grep CapEff /proc/self/status; " +
          // The limits, from the cgroup (v2 or v1 layout).
          "echo pids=$(cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids/pids.max 2>/dev/null); " +
          "echo mem=$(cat /sys/fs/cgroup/memory.max /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null); " +
          "echo cpu=$(cut -d' ' -f1 /sys/fs/cgroup/cpu.max 2>/dev/null; cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null)",
      ],
      readOnlyRootfs: true,
      tmpfs: { "/tmp": "rw,size=16m" },
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges"],
      init: true,
      memoryBytes: 128 * 1024 * 1024,
      nanoCpus: 5e8,
      pidsLimit: 64,
      mounts: [
        { hostPath: rw, containerPath: "/rw", readOnly: false },
        { hostPath: dir, containerPath: "/ro", readOnly: true },
      ],
    });
    const text = (await rt.run(hardened)).stdout;
    expect(text).not.toContain("root-writable");
    expect(text).toContain("tmp-ok");
    expect(text).toContain("rw-ok");
    expect(text).toContain("ro-refused");
    expect(text).toMatch(/CapEff:\s+0+\n/);
    expect(text).toContain("pids=64\n");
    expect(text).toContain("cpu=50000\n");
    expect(text).toContain(`mem=${128 * 1024 * 1024}\n`);
    expect(readFileSync(path.join(rw, "out.txt"), "utf8")).toBe("hi\n");
  });

  it("stops a running container within the grace period", async () => {
    const id = await rt.create(spec("stop", { cmd: ["sleep", "300"], init: true }));
    await rt.start(id);
    await rt.stop(id, 1);
    expect((await rt.inspect(id))?.running).toBe(false);
    await rt.remove(id);
  });

  it("knows which images exist and names the bridge gateway", async () => {
    expect(await rt.imageExists(image)).toBe(true);
    expect(await rt.imageExists(`nestbox-missing-${run}:none`)).toBe(false);
    expect(await rt.bridgeGateway()).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
  });

  /** Runs CONNECT in a container on `network`: how its connection went, and its address there. */
  async function connectFrom(network: string, host: string, port: number) {
    const signal = mkdtempSync(path.join(dir, "signal-"));
    chmodSync(signal, 0o755);
    const id = await rt.create(
      spec(`connect-${Math.random().toString(36).slice(2, 8)}`, {
        cmd: ["node", "-e", CONNECT, host, String(port)],
        network,
        mounts: [{ hostPath: signal, containerPath: "/signal", readOnly: true }],
      }),
    );
    await rt.start(id);
    let address: string | null = null;
    for (let i = 0; i < 150 && !address; i++) {
      address = await rt.containerAddress(id, network);
      if (!address) await new Promise((r) => setTimeout(r, 100));
    }
    writeFileSync(path.join(signal, "go"), "");
    const code = await rt.wait(id);
    await rt.remove(id);
    return { out: OUTCOME[code] ?? `exit ${code}`, address };
  }

  it("creates a labelled network once, reports its gateway and each container's address on it", async () => {
    const labels = { [LABEL]: run };
    const first = await rt.ensureNetwork(netName, { internal: false, labels, subnet });
    expect(first).toEqual({ name: netName, gateway: expect.stringMatching(IPV4), internal: false });
    const id = await rt.create(spec("on-net", { cmd: ["sleep", "300"], init: true, network: netName }));
    await rt.start(id);
    const address = await rt.containerAddress(id, netName);
    expect(address).toMatch(IPV4);
    expect(await rt.containerAddress(id, "bridge")).toBeNull();
    // Idempotent: asking again while a container uses it keeps the same network (and the container on it).
    expect(await rt.ensureNetwork(netName, { internal: false, labels, subnet })).toEqual(first);
    expect(await rt.containerAddress(id, netName)).toBe(address);
    // Other settings mean replacing it, which the engine refuses while a container is attached.
    const replacing = rt.ensureNetwork(netName, { internal: true, labels, subnet });
    await expect(replacing).rejects.toBeInstanceOf(ContainerError);
    await expect(replacing).rejects.toMatchObject({ code: "DOCKER_NETWORK_IN_USE" });
    await expect(
      rt.ensureNetwork(netName, { internal: false, labels: { [LABEL]: "another-install" }, subnet }),
    ).rejects.toThrow(/exists without the labels/);
    await rt.remove(id);
    expect(await rt.containerAddress(id, netName)).toBeNull();
  });

  it("keeps inter-container traffic off on its networks; the host is reached on the gateway as the container's address", async () => {
    const { gateway } = await rt.ensureNetwork(netName, {
      internal: false,
      labels: { [LABEL]: run },
      subnet,
    });
    const listener = await rt.create(
      spec("listener", {
        cmd: ["node", "-e", "require('net').createServer((s) => s.end('hi')).listen(9999)"],
        init: true,
        network: netName,
      }),
    );
    await rt.start(listener);
    const address = (await rt.containerAddress(listener, netName)) ?? "";
    // Control: the listener is up (the host reaches containers on its bridges).
    await new Promise<void>((resolve, reject) => {
      const deadline = Date.now() + 15_000;
      const tryOnce = () =>
        net
          .connect(9999, address, function (this: net.Socket) {
            this.destroy();
            resolve();
          })
          .on("error", () =>
            Date.now() > deadline ? reject(new Error("listener never up")) : setTimeout(tryOnce, 200),
          );
      tryOnce();
    });
    expect(["TIMEOUT", "REFUSED"]).toContain((await connectFrom(netName, address, 9999)).out);
    const seen: string[] = [];
    const server = net.createServer((s) => {
      seen.push(s.remoteAddress?.replace(/^::ffff:/, "") ?? "");
      s.end();
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, gateway ?? "", resolve);
    });
    try {
      const port = (server.address() as AddressInfo).port;
      const from = await connectFrom(netName, gateway ?? "", port);
      expect(from.out).toBe("OK");
      expect(from.address).toMatch(IPV4);
      expect(seen).toEqual([from.address]);
    } finally {
      await new Promise((r) => server.close(r));
    }
    await rt.remove(listener);
  });

  it("replaces a network whose settings changed once nothing uses it (internal: no way past the host), and removes it", async () => {
    const labels = { [LABEL]: run };
    await rt.ensureNetwork(netName, { internal: false, labels, subnet });
    const outside = options.outsideHost ? await options.outsideHost() : null;
    try {
      if (outside) expect((await connectFrom(netName, outside.address, outside.port)).out).toBe("OK");
      const internal = await rt.ensureNetwork(netName, { internal: true, labels, subnet });
      expect(internal).toMatchObject({ name: netName, internal: true, gateway: expect.stringMatching(IPV4) });
      if (outside) {
        expect((await connectFrom(netName, outside.address, outside.port)).out).not.toBe("OK");
        // Control: the outside host still answers (from the host itself).
        await new Promise<void>((resolve, reject) => {
          net.connect(outside.port, outside.address, resolve).on("error", reject);
        });
      }
    } finally {
      outside?.close();
    }
    await rt.removeNetwork(netName);
    // Gone: a container meant for it cannot start (the engine refuses at create or at start).
    let orphan: string | null = null;
    const starting = (async () => {
      orphan = await rt.create(spec("gone-net", { cmd: ["true"], network: netName }));
      await rt.start(orphan);
    })();
    await expect(starting).rejects.toThrow(/network .* not found/);
    if (orphan) await rt.remove(orphan);
    await expect(rt.removeNetwork(netName)).resolves.toBeUndefined();
  });

  it("creates a labelled volume once, mounts it rw and ro, refuses to remove it in use, then removes it", async () => {
    const labels = { [LABEL]: run };
    await rt.ensureVolume(volName, { labels });
    // An existing volume is left as it is.
    await rt.ensureVolume(volName, { labels: { [LABEL]: run, "nestbox.extra": "ignored" } });
    expect(await rt.listVolumes({ [LABEL]: run })).toEqual([{ name: volName, driver: "local", labels }]);
    expect(await rt.listVolumes({ [LABEL]: "another-run" })).toEqual([]);
    const mount = (readOnly: boolean) => [{ volume: volName, containerPath: "/v", readOnly }];
    const wrote = await rt.run(
      spec("vol-write", { volumes: mount(false), cmd: ["sh", "-c", "echo kept > /v/f && cat /v/f"] }),
    );
    expect(wrote).toMatchObject({ exitCode: 0, stdout: "kept\n" });
    const read = await rt.run(
      spec("vol-read", {
        volumes: mount(true),
        cmd: ["sh", "-c", "cat /v/f; echo no 2>/dev/null > /v/f || echo ro-refused"],
      }),
    );
    expect(read.stdout).toBe("kept\nro-refused\n");
    const id = await rt.create(
      spec("vol-user", { cmd: ["sleep", "300"], init: true, volumes: mount(false) }),
    );
    await rt.start(id);
    expect((await rt.inspect(id))?.mounts).toContainEqual({
      source: volName,
      destination: "/v",
      readOnly: false,
    });
    await expect(rt.removeVolume(volName)).rejects.toMatchObject({ code: "DOCKER_VOLUME_IN_USE" });
    await rt.remove(id);
    await rt.removeVolume(volName);
    expect(await rt.listVolumes({ [LABEL]: run })).toEqual([]);
    await expect(rt.removeVolume(volName)).resolves.toBeUndefined();
  });

  it("builds an image from in-memory files, and reports a failing build as a ContainerError", async () => {
    const tag = `nestbox-conformance:${run}`;
    const lines: string[] = [];
    await rt.buildImage({
      tag,
      files: {
        Dockerfile: `FROM ${image}\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\n`,
        "hello.txt": "built",
      },
      onProgress: (l) => lines.push(l),
    });
    expect(await rt.imageExists(tag)).toBe(true);
    expect(lines.join("\n")).toContain("built");
    const failing = rt.buildImage({
      tag: `${tag}-bad`,
      files: { Dockerfile: `FROM ${image}\nRUN exit 7\n` },
    });
    await expect(failing).rejects.toBeInstanceOf(ContainerError);
    await expect(failing).rejects.toThrow(/image build .* failed/);
    // Nothing left behind: the image goes, and removing it again is not an error.
    await rt.removeImage(tag);
    expect(await rt.imageExists(tag)).toBe(false);
    await rt.removeImage(tag);
  });

  it("labels a built image, reports its id, and removes by id only unused images unless forced", async () => {
    const tag = `nestbox-conformance:${run}-labelled`;
    await rt.buildImage({
      tag,
      files: { Dockerfile: `FROM ${image}\nRUN echo ${run} > /run.txt\n` },
      labels: { "nestbox.test": run },
    });
    const info = await rt.inspectImage(tag);
    expect(info?.labels["nestbox.test"]).toBe(run);
    expect(info?.id).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(info?.tags).toEqual([tag]);
    expect(await rt.inspectImage(`nestbox-missing-${run}:none`)).toBeNull();
    const id = await rt.create(spec("uses-image", { image: tag, cmd: ["true"] }));
    try {
      await expect(rt.removeImage(info?.id ?? "", { force: false })).rejects.toMatchObject({
        code: "DOCKER_409",
      });
      expect(await rt.imageExists(tag)).toBe(true);
    } finally {
      await rt.remove(id);
    }
    await rt.removeImage(info?.id ?? "", { force: false });
    expect(await rt.imageExists(tag)).toBe(false);
  });

  it("fails with a ContainerError naming the image when it does not exist", async () => {
    await expect(rt.create(spec("noimage", { image: `nestbox-missing-${run}:none` }))).rejects.toThrow(
      /cannot create container .* from nestbox-missing/,
    );
  });
}
