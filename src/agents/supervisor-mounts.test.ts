import { chmodSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { specContext } from "../../test/doubles/spec-context.js";
import type { ContainerRuntime, ContainerSpec } from "../containers/container-runtime.js";
import type { MountPolicy } from "../containers/mount-policy.js";
import { AgentError } from "../errors.js";
import { createLogger } from "../log.js";
import type { RegisteredChat } from "../registration/chat.js";
import { AgentSupervisor } from "./supervisor.js";

let base: string;
beforeEach(() => {
  base = realpathSync(mkdtempSync(path.join(tmpdir(), "nestbox-sup-mounts-")));
});
afterEach(() => rmSync(base, { recursive: true, force: true }));

/** A runtime that records every create and refuses it, so a start that gets that far is visible. */
function recordingRuntime(created: ContainerSpec[]): ContainerRuntime {
  const no = async (): Promise<never> => {
    throw new Error("not used");
  };
  return {
    transport: "attach",
    version: no,
    create: async (spec) => {
      created.push(spec);
      throw new Error("create reached");
    },
    attach: no,
    start: no,
    wait: no,
    run: async (spec) => {
      created.push(spec);
      throw new Error("create reached");
    },
    stop: no,
    kill: no,
    remove: async () => {},
    inspect: no,
    list: no,
    imageExists: no,
    inspectImage: no,
    removeImage: no,
    bridgeGateway: no,
    ensureNetwork: no,
    removeNetwork: no,
    containerAddress: no,
    buildImage: no,
    ensureVolume: no,
    removeVolume: no,
    listVolumes: no,
  };
}

it("a stored mount that became a symlink to data/ stops the start: no container, no token, the chat is told why", async () => {
  const data = path.join(base, "data");
  const notes = path.join(base, "allowed", "notes");
  mkdirSync(notes, { recursive: true });
  mkdirSync(data);
  mkdirSync(path.join(base, "config"));
  const policy: MountPolicy = {
    allowlistFile: path.join(base, "config", "allow.json"),
    dataDir: data,
    hostDataDir: null,
    homes: [],
    dockerSockets: [],
    protectedFiles: [],
  };
  writeFileSync(policy.allowlistFile, JSON.stringify({ roots: [{ path: path.join(base, "allowed") }] }));
  chmodSync(policy.allowlistFile, 0o600);
  const created: ContainerSpec[] = [];
  const issued: string[] = [];
  let logged = "";
  const supervisor = new AgentSupervisor({
    runtime: recordingRuntime(created),
    spec: specContext(data),
    tokens: {
      issueToken: (id) => {
        issued.push(id);
        return "nbx-t";
      },
      revokeToken: () => {},
      bindToken: () => {},
    },
    mountPolicy: policy,
    log: createLogger({ destination: { write: (line: string) => (logged += line) } }),
    idleTimeoutMs: 60_000,
    turnTimeoutMs: 60_000,
    backoffMs: 1,
  });
  const chat: RegisteredChat = {
    chatId: "local:a",
    channel: "terminal",
    name: "A",
    folder: "a",
    trigger: "@Andy",
    requiresTrigger: false,
    isMain: false,
    allowedSenders: null,
    limits: null,
    extraMounts: [{ name: "notes", hostPath: notes, readOnly: true }],
    createdAt: 0,
  };
  const turn = async () => {
    for await (const _ of supervisor.runTurn({
      chat,
      prompt: "hi",
      sessionId: null,
      signal: new AbortController().signal,
      onToolCall: async () => "unused",
    }));
  };
  // While the folder is a real, allowlisted folder, the start gets as far as creating the container.
  await expect(turn()).rejects.toThrow(/create reached/);
  expect(created.at(-1)?.mounts).toContainEqual({
    hostPath: notes,
    containerPath: "/workspace/extra/notes",
    readOnly: true,
  });
  created.length = 0;
  issued.length = 0;

  rmSync(notes, { recursive: true });
  symlinkSync(data, notes);
  const err = await turn().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(AgentError);
  expect((err as AgentError).code).toBe("MOUNT_REFUSED");
  expect((err as AgentError).message).toMatch(
    /^extra mount notes is refused: .*notes \(real path .*\/data\) is nestbox's data folder .*\(fix: /,
  );
  expect(created).toEqual([]);
  expect(issued).toEqual([]);
  expect(logged).toMatch(/"mount":"notes".*extra mount refused; the agent container is not started/);
  expect(logged.match(/extra mount refused/g)).toHaveLength(1);
});
