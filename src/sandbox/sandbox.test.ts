import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  agentProxyEnv,
  buildProxyArgs,
  bypassesProxy,
  daemonPath,
  detectOwnContainer,
  detectSandbox,
  proxyFor,
  readProxy,
  writeCaFiles,
} from "./index.js";

const ID = "3f4e5d6c7b8a99887766554433221100ffeeddccbbaa00998877665544332211";
const CERT = (n: number) => `-----BEGIN CERTIFICATE-----\nMIIB${n}\n-----END CERTIFICATE-----`;

describe("proxy settings", () => {
  it("reads either case; lowercase wins where both differ, as curl does", () => {
    expect(
      readProxy({ HTTPS_PROXY: "http://upper:1", https_proxy: "http://lower:2", HTTP_PROXY: "http://h:3" }),
    ).toEqual({
      httpProxy: "http://h:3",
      httpsProxy: "http://lower:2",
      noProxy: [],
    });
    expect(readProxy({ NO_PROXY: "localhost, .corp.example ,10.0.0.1" }).noProxy).toEqual([
      "localhost",
      ".corp.example",
      "10.0.0.1",
    ]);
  });

  it("gives agents all six variables with the host gateway name and address in NO_PROXY", () => {
    const env = agentProxyEnv(readProxy({ HTTPS_PROXY: "http://p:3128", NO_PROXY: "corp" }), {
      name: "host.docker.internal",
      address: "172.17.0.1",
    });
    expect(Object.keys(env).sort()).toEqual(["HTTPS_PROXY", "NO_PROXY", "https_proxy", "no_proxy"]);
    expect(env.NO_PROXY?.split(",")).toEqual(
      expect.arrayContaining(["corp", "host.docker.internal", "172.17.0.1"]),
    );
    const full = agentProxyEnv(readProxy({ HTTPS_PROXY: "http://p:1", HTTP_PROXY: "http://p:2" }), {
      name: "g",
      address: "1.2.3.4",
    });
    expect(Object.keys(full)).toHaveLength(6);
    expect(agentProxyEnv(readProxy({}), { name: "g", address: "1.2.3.4" })).toEqual({});
  });

  it("passes the proxy to image builds as build args", () => {
    expect(buildProxyArgs(readProxy({ https_proxy: "http://p:1", no_proxy: "a,b" }))).toEqual({
      HTTPS_PROXY: "http://p:1",
      https_proxy: "http://p:1",
      NO_PROXY: "a,b",
      no_proxy: "a,b",
    });
  });

  it("honours NO_PROXY by exact host, domain suffix, wildcard and port", () => {
    const p = readProxy({
      HTTPS_PROXY: "http://p:1",
      HTTP_PROXY: "http://q:2",
      NO_PROXY: ".whatsapp.net,localhost:8080,llm",
    });
    expect(bypassesProxy("web.whatsapp.net", p.noProxy)).toBe(true);
    expect(bypassesProxy("whatsapp.net", p.noProxy)).toBe(true);
    expect(bypassesProxy("localhost", p.noProxy)).toBe(true);
    expect(bypassesProxy("notwhatsapp.net", p.noProxy)).toBe(false);
    expect(proxyFor(new URL("https://api.telegram.org"), p)).toBe("http://p:1");
    expect(proxyFor(new URL("http://example.org"), p)).toBe("http://q:2");
    expect(proxyFor(new URL("https://llm/v1"), p)).toBeNull();
    expect(bypassesProxy("anything", ["*"])).toBe(true);
  });
});

describe("own container detection", () => {
  const files = (map: Record<string, string>) => (p: string) => map[p] ?? null;
  it("reads the id from cgroup v1 paths", () => {
    expect(detectOwnContainer(files({ "/proc/self/cgroup": `12:memory:/docker/${ID}\n` }), "x")).toBe(ID);
    expect(
      detectOwnContainer(files({ "/proc/self/cgroup": `0::/system.slice/docker-${ID}.scope\n` }), "x"),
    ).toBe(ID);
  });
  it("falls back to mountinfo (cgroup v2 with a private namespace) and the hostname", () => {
    const mountinfo = `621 600 254:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw\n`;
    expect(
      detectOwnContainer(files({ "/proc/self/cgroup": "0::/\n", "/proc/self/mountinfo": mountinfo }), "x"),
    ).toBe(ID);
    expect(detectOwnContainer(files({ "/.dockerenv": "" }), ID.slice(0, 12))).toBe(ID.slice(0, 12));
  });
  it("says null on a plain host", () => {
    expect(
      detectOwnContainer(files({ "/proc/self/cgroup": "0::/user.slice/session-1.scope\n" }), "laptop"),
    ).toBeNull();
  });
});

describe("CA forwarding", () => {
  it("collects CA files from NODE_EXTRA_CA_CERTS, SSL_CERT_FILE and SSL_CERT_DIR, and writes data/ca", () => {
    const dir = mkdtempSync(path.join(tmpdir(), "nestbox-ca-"));
    const certDir = path.join(dir, "certs");
    const fs: Record<string, string> = {
      "/x/extra.pem": `${CERT(1)}\n`,
      "/x/bundle.pem": `${CERT(1)}\n${CERT(2)}\n`,
      [path.join(certDir, "corp.crt")]: `${CERT(3)}\n`,
    };
    const sandbox = detectSandbox({
      env: {
        NODE_EXTRA_CA_CERTS: "/x/extra.pem",
        SSL_CERT_FILE: "/x/bundle.pem",
        SSL_CERT_DIR: certDir,
        DOCKER_HOST: "tcp://d:2375",
      },
      readFile: (p) => fs[p] ?? null,
      listDir: (d) => (d === certDir ? [path.join(certDir, "corp.crt")] : []),
      hostname: () => "laptop",
    });
    expect(sandbox.caFiles).toEqual(["/x/extra.pem", "/x/bundle.pem", path.join(certDir, "corp.crt")]);
    expect(sandbox.dockerHost).toBe("tcp://d:2375");
    expect(sandbox.caCertificates).toEqual([CERT(1), CERT(2), CERT(3)]);
    const ca = writeCaFiles(sandbox, path.join(dir, "data"));
    const extra = readFileSync(ca?.extraFile as string, "utf8");
    expect(extra.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const bundle = readFileSync(ca?.bundleFile as string, "utf8");
    for (const n of [1, 2, 3]) expect(bundle).toContain(`MIIB${n}`);
    expect(writeCaFiles({ ...sandbox, caFiles: [], caCertificates: [] }, path.join(dir, "data2"))).toBeNull();
    rmSync(dir, { recursive: true, force: true });
  });

  it("maps data/ paths to the daemon's view with NESTBOX_HOST_DATA_DIR, and nothing else", () => {
    expect(daemonPath("/app/data/groups/a", "/app/data", "/srv/nb/data")).toBe("/srv/nb/data/groups/a");
    expect(daemonPath("/elsewhere/x", "/app/data", "/srv/nb/data")).toBe("/elsewhere/x");
    expect(daemonPath("/app/data/groups/a", "/app/data", null)).toBe("/app/data/groups/a");
  });
});
