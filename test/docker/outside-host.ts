import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";

/** A TCP host outside every Docker network but on this machine: a network namespace behind a veth pair. */
export interface OutsideHost {
  /** The namespace's address (routed by this machine only). */
  address: string;
  port: number;
  close(): void;
}

const ip = (...args: string[]) => execFileSync("ip", args, { stdio: "pipe" });

/**
 * Starts a listener that answers "outside" in a fresh network namespace (root and iproute2 needed).
 * Agents reach it only if their network routes past the host, so egress is tested without sending
 * anything off this machine.
 */
export async function startOutsideHost(): Promise<OutsideHost> {
  const id = randomBytes(3).toString("hex");
  const ns = `nbx-out-${id}`;
  const [hostEnd, nsEnd] = [`nbxo${id}`, `nbxi${id}`];
  // A /30 from the benchmarking range (RFC 2544), which nothing else on this machine uses.
  const [hostAddr, nsAddr] = ["198.18.213.1", "198.18.213.2"];
  const close = () => {
    server?.kill();
    for (const args of [
      ["link", "del", hostEnd],
      ["netns", "del", ns],
    ]) {
      try {
        ip(...args);
      } catch {
        // already gone
      }
    }
  };
  let server: ChildProcess | undefined;
  try {
    ip("netns", "add", ns);
    ip("link", "add", hostEnd, "type", "veth", "peer", "name", nsEnd);
    ip("link", "set", nsEnd, "netns", ns);
    ip("addr", "add", `${hostAddr}/30`, "dev", hostEnd);
    ip("link", "set", hostEnd, "up");
    ip("netns", "exec", ns, "ip", "addr", "add", `${nsAddr}/30`, "dev", nsEnd);
    ip("netns", "exec", ns, "ip", "link", "set", nsEnd, "up");
    ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
    ip("netns", "exec", ns, "ip", "route", "add", "default", "via", hostAddr);
    const port = 9999;
    server = spawn(
      "ip",
      [
        "netns",
        "exec",
        ns,
        process.execPath,
        "-e",
        // A client that resets the connection must not end the listener (later checks would pass vacuously).
        `require("net").createServer((s) => s.on("error", () => {}).end("outside")).listen(${port}, () => console.log("up"))`,
      ],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      server?.stdout?.once("data", () => resolve());
      server?.once("exit", (code) => reject(new Error(`outside host listener exited with ${code}`)));
    });
    return { address: nsAddr, port, close };
  } catch (err) {
    close();
    throw err;
  }
}

/** Connects to argv host:port; prints OK <what the server said>, REFUSED, TIMEOUT or ERR <code>. */
export const CONNECT = `const s = require("net").connect(+process.argv[2], process.argv[1]);
let got = "";
setTimeout(() => { console.log("TIMEOUT"); process.exit(0); }, 3000);
s.on("data", (d) => { got += d; });
s.on("connect", () => setTimeout(() => { console.log(("OK " + got).trim()); process.exit(0); }, 300));
s.on("error", (e) => { console.log(e.code === "ECONNREFUSED" ? "REFUSED" : "ERR " + e.code); process.exit(0); });`;
