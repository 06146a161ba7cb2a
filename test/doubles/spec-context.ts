import path from "node:path";
import type { AgentSpecContext } from "../../src/containers/agent-spec.js";
import type { MountPolicy } from "../../src/containers/mount-policy.js";

/** Installation facts for a supervisor under test: no proxy, no CA, small limits, overridable. */
export function specContext(dataDir: string, over: Partial<AgentSpecContext> = {}): AgentSpecContext {
  return {
    installId: "t",
    image: "img",
    dataDir,
    hostDataDir: null,
    assistantName: "Andy",
    timezone: "UTC",
    model: { provider: "openai", name: "m", baseUrl: "http://127.0.0.1:1", apiKey: "k" },
    modelBaseUrl: "http://host.docker.internal:1/model",
    gateway: { name: "host.docker.internal", address: "172.17.0.1" },
    proxy: { httpProxy: null, httpsProxy: null, noProxy: [] },
    ca: null,
    defaults: { memoryMb: 256, cpus: 1, pids: 64 },
    user: "1000:1000",
    network: "nestbox-test",
    ...over,
  };
}

/** A mount rule for tests that register no extra mounts: an allowlist file that does not exist under `base`. */
export function noExtraMounts(base: string): MountPolicy {
  return {
    allowlistFile: path.join(base, "allow.json"),
    dataDir: path.join(base, "data"),
    hostDataDir: null,
    homes: [],
    dockerSockets: [],
    protectedFiles: [],
  };
}
