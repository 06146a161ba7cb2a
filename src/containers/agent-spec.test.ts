import { describe, expect, it } from "vitest";
import { makeChat } from "../../test/doubles/chat.js";
import { type AgentSpecContext, agentContainerSpec, agentNetworkName } from "./agent-spec.js";

const chat = makeChat;

const ctx: AgentSpecContext = {
  installId: "abcd1234",
  image: "nestbox-agent:latest",
  dataDir: "/app/data",
  hostDataDir: null,
  assistantName: "Andy",
  timezone: "Europe/Berlin",
  model: { provider: "openai", name: "m", baseUrl: "https://llm/v1", apiKey: "sk-REAL-SECRET" },
  modelBaseUrl: "http://host.docker.internal:4000/model",
  network: "nestbox-abcd1234",
  gateway: { name: "host.docker.internal", address: "172.23.0.1" },
  proxy: { httpProxy: "http://proxy:3128", httpsProxy: "http://proxy:3128", noProxy: ["corp"] },
  ca: { dir: "/app/data/ca", extraFile: "/app/data/ca/extra.pem", bundleFile: "/app/data/ca/bundle.pem" },
  defaults: { memoryMb: 1024, cpus: 1, pids: 256 },
  user: "1000:1000",
};

describe("agentContainerSpec", () => {
  it("labels, names and hardens the container as the design says", () => {
    const spec = agentContainerSpec(chat(), ctx, "nbx-token", Date.UTC(2026, 10, 25));
    expect(spec.name).toMatch(/^nestbox-abcd1234-family-[0-9a-f]{6}$/);
    expect(spec.labels).toEqual({
      "nestbox.install": "abcd1234",
      "nestbox.folder": "family",
      "nestbox.chat": "tg:-100",
      "nestbox.created": "2026-11-25T00:00:00.000Z",
    });
    expect(spec).toMatchObject({
      user: "1000:1000",
      init: true,
      readOnlyRootfs: true,
      capDrop: ["ALL"],
      securityOpt: ["no-new-privileges"],
      tmpfs: { "/tmp": expect.stringContaining("rw") },
      memoryBytes: 1024 * 1024 * 1024,
      nanoCpus: 1e9,
      pidsLimit: 256,
      openStdin: true,
    });
  });

  it("joins the install's own network, with host.docker.internal mapped to that network's gateway", () => {
    const spec = agentContainerSpec(chat(), ctx, "t", 0);
    expect(agentNetworkName("abcd1234")).toBe("nestbox-abcd1234");
    expect(spec.network).toBe("nestbox-abcd1234");
    expect(spec.extraHosts).toEqual(["host.docker.internal:172.23.0.1"]);
    // The model call must go to the credential proxy directly, never through the outbound proxy.
    expect(spec.env.NO_PROXY?.split(",")).toEqual(
      expect.arrayContaining(["host.docker.internal", "172.23.0.1"]),
    );
    expect(spec.env.NO_PROXY).not.toContain("172.17.0.1");
    expect(spec.env.no_proxy).toBe(spec.env.NO_PROXY);
  });

  it("never puts the real key in env, labels, command or mounts; gives the token and the proxy/CA variables", () => {
    const spec = agentContainerSpec(chat(), ctx, "nbx-token", 0);
    expect(JSON.stringify(spec)).not.toContain("sk-REAL-SECRET");
    expect(spec.env).toMatchObject({
      NESTBOX_MODEL_TOKEN: "nbx-token",
      NESTBOX_MODEL_BASE_URL: "http://host.docker.internal:4000/model",
      HTTPS_PROXY: "http://proxy:3128",
      https_proxy: "http://proxy:3128",
      NODE_EXTRA_CA_CERTS: "/workspace/ca/extra.pem",
      SSL_CERT_FILE: "/workspace/ca/bundle.pem",
      TZ: "Europe/Berlin",
      ASSISTANT_NAME: "Andy",
    });
    expect(spec.env.NO_PROXY?.split(",")).toEqual(
      expect.arrayContaining(["corp", "host.docker.internal", "172.23.0.1"]),
    );
  });

  it("mounts only the chat's own folder rw; global ro except for main; never the socket, auth or /dev/null", () => {
    const mounts = agentContainerSpec(chat(), ctx, "t", 0).mounts;
    expect(mounts).toEqual([
      { hostPath: "/app/data/groups/family", containerPath: "/workspace/group", readOnly: false },
      { hostPath: "/app/data/groups/global", containerPath: "/workspace/global", readOnly: true },
      { hostPath: "/app/data/sessions/family", containerPath: "/workspace/sessions", readOnly: false },
      { hostPath: "/app/data/skills", containerPath: "/workspace/skills", readOnly: true },
      { hostPath: "/app/data/ca", containerPath: "/workspace/ca", readOnly: true },
    ]);
    expect(JSON.stringify(mounts)).not.toMatch(/docker\.sock|\/auth|\/dev\/null/);
    const main = agentContainerSpec(chat({ isMain: true }), ctx, "t", 0).mounts;
    expect(main.find((m) => m.containerPath === "/workspace/global")?.readOnly).toBe(false);
  });

  it("applies the chat's own limits and extra mounts, and translates data/ for an outer daemon", () => {
    const spec = agentContainerSpec(
      chat({
        limits: { memoryMb: 256, cpus: 0.5 },
        extraMounts: [{ name: "notes", hostPath: "/home/me/notes", readOnly: true }],
      }),
      { ...ctx, hostDataDir: "/srv/nestbox/data" },
      "t",
      0,
    );
    expect(spec).toMatchObject({ memoryBytes: 256 * 1024 * 1024, nanoCpus: 5e8, pidsLimit: 256 });
    expect(spec.mounts[0]?.hostPath).toBe("/srv/nestbox/data/groups/family");
    expect(spec.mounts.at(-1)).toEqual({
      hostPath: "/home/me/notes",
      containerPath: "/workspace/extra/notes",
      readOnly: true,
    });
  });
});
