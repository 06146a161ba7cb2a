import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { loadConfig } from "../config.js";
import { DockerRuntime } from "../containers/docker-runtime.js";
import { detectSandbox } from "../sandbox/index.js";
import { egressProbes } from "./environment.js";

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(path.join(tmpdir(), "nestbox-env-unit-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));

it("reports a credential proxy that cannot listen as a failed probe with the cause, not a TypeError", async () => {
  const config = loadConfig({ MODEL: "m", OPENAI_BASE_URL: "http://127.0.0.1:1/v1" }, cwd);
  const probes = await egressProbes({
    // No image, no network: only the host-side model probe runs, and Docker is never asked.
    docker: new DockerRuntime({ dockerHost: "tcp://127.0.0.1:1" }),
    config,
    sandbox: detectSandbox({ env: {}, hostname: () => "laptop", listDir: () => [] }),
    imageReady: false,
    network: null,
    // TEST-NET-1 (RFC 5737): no interface of this machine has it, so listen() fails.
    address: "192.0.2.1",
  });
  expect(probes).toEqual([
    {
      path: "model http://127.0.0.1:1/v1 (host -> credential proxy)",
      ok: false,
      detail: expect.stringMatching(
        /^the credential proxy cannot listen on 192\.0\.2\.1: .*EADDRNOTAVAIL.*; /,
      ),
    },
  ]);
});
