import path from "node:path";
import { type AgentOwner, agentOwner } from "../agents/agent-user.js";
import { verifyTelegram } from "../channels/telegram/index.js";
import { hasRegisteredCredentials } from "../channels/whatsapp/index.js";
import type { CommandIO } from "../cli/io.js";
import { agentImageState, ensureAgentImage } from "../containers/agent-image.js";
import type { ContainerRuntime } from "../containers/container-runtime.js";
import type { Context } from "../context.js";
import { describeTypo, envTypos } from "../env-typos.js";
import { NestboxError } from "../errors.js";
import { agentFor } from "../sandbox/index.js";
import type { Check } from "./check.js";
import { checkDataFolder } from "./data-check.js";
import { checkModel } from "./model-check.js";

/** What the checks read: a command's context, with any ContainerRuntime. */
export type DoctorContext = Pick<Context, "env" | "config" | "sandbox"> & { docker: ContainerRuntime };

/** What the doctor runs with besides the context. */
export interface DoctorOptions {
  /** Repair the easy cases: create missing folders, chmod the data folder for the agents, rebuild a stale image. */
  fix: boolean;
  /** The folder holding container/ (the image's sources). */
  projectDir: string;
  /** Where build progress goes while `--fix` rebuilds the image. */
  progress: (line: string) => void;
  owner?: AgentOwner;
}

function typoCheck(env: Record<string, string | undefined>): Check {
  const typos = envTypos(env);
  if (typos.length === 0)
    return { name: "variables", status: "ok", detail: "no unknown nestbox-like variables" };
  return {
    name: "variables",
    status: "warn",
    detail: `unknown, ignored: ${typos.map(describeTypo).join(", ")}`,
    fix: "rename them in .env or the environment",
  };
}

async function dockerCheck(docker: ContainerRuntime): Promise<Check> {
  try {
    return { name: "docker", status: "ok", detail: `Docker ${await docker.version()}` };
  } catch (err) {
    const code = err instanceof NestboxError ? err.code : "";
    return {
      name: "docker",
      status: "fail",
      detail: (err as Error).message,
      fix:
        code === "DOCKER_PERMISSION_DENIED"
          ? "sudo usermod -aG docker $USER, then log in again (or run nestbox as a user in the docker group)"
          : "start Docker, or set DOCKER_HOST",
    };
  }
}

async function imageCheck(ctx: DoctorContext, o: DoctorOptions): Promise<Check> {
  const tag = ctx.config.agentImage;
  const state = await agentImageState(ctx.docker, tag, path.join(o.projectDir, "container"));
  if (state.state === "current") return { name: "agent image", status: "ok", detail: `${tag} is current` };
  if (state.state === "unknown")
    return {
      name: "agent image",
      status: "warn",
      detail: `${tag} exists; no sources at ${path.join(o.projectDir, "container")} to tell whether it is current`,
    };
  const detail =
    state.state === "missing"
      ? `${tag} is missing (nestbox start builds it, which takes a few minutes)`
      : `${tag} is from an older nestbox (built from other sources); nestbox start rebuilds it`;
  if (!o.fix)
    return { name: "agent image", status: "warn", detail, fix: "npm run setup -- container, or --fix" };
  try {
    await ensureAgentImage(ctx.docker, ctx.config, ctx.sandbox, o.projectDir, o.progress);
  } catch (err) {
    return {
      name: "agent image",
      status: "fail",
      detail: `${detail}; rebuilding failed: ${(err as Error).message}`,
    };
  }
  return { name: "agent image", status: "ok", detail, fixed: `built ${tag}` };
}

async function telegramCheck(ctx: DoctorContext): Promise<Check> {
  const { config, sandbox } = ctx;
  if (!config.telegram)
    return { name: "telegram", status: "ok", detail: "not configured (TELEGRAM_BOT_TOKEN unset)" };
  const t = await verifyTelegram({
    botToken: config.telegram.botToken,
    apiRoot: config.telegram.apiRoot,
    proxyAgent: agentFor(new URL(config.telegram.apiRoot), sandbox.proxy),
  });
  const unreachable = !t.ok && t.problems.some((p) => p.startsWith("Could not reach Telegram"));
  return {
    name: "telegram",
    status: t.ok && t.problems.length === 0 ? "ok" : t.ok ? "warn" : "fail",
    detail: t.ok
      ? `token valid, bot @${t.botUsername}, ${t.canReadAllGroupMessages ? "reads all group messages" : "privacy mode on"}`
      : unreachable
        ? `Telegram API ${config.telegram.apiRoot} unreachable`
        : "token not accepted",
    fix: t.problems.join(" ") || undefined,
  };
}

/**
 * Every check `setup verify` / `nestbox doctor` runs, in order: variables, model (a real call),
 * Docker, agent image, data folder (the probe), Telegram, WhatsApp. Checks that need Docker are
 * skipped with a warning when it is unreachable.
 */
export async function runDoctor(ctx: DoctorContext, o: DoctorOptions): Promise<Check[]> {
  const { config, docker } = ctx;
  const checks: Check[] = [typoCheck(ctx.env)];
  checks.push(
    config.model
      ? await checkModel(config.model, ctx.sandbox)
      : {
          name: "model",
          status: "fail",
          detail: "no model configured",
          fix: "set MODEL and OPENAI_BASE_URL / OPENAI_API_KEY or ANTHROPIC_API_KEY (see .env.example)",
        },
  );
  const dockerResult = await dockerCheck(docker);
  checks.push(dockerResult);
  const dockerUp = dockerResult.status === "ok";
  const image = dockerUp ? await imageCheck(ctx, o) : null;
  if (image) checks.push(image);
  const imageThere = image !== null && (image.fixed !== undefined || !image.detail.includes("is missing"));
  checks.push(
    await checkDataFolder(
      { docker: dockerUp && imageThere ? docker : null, config, sandbox: ctx.sandbox },
      { fix: o.fix, owner: o.owner ?? agentOwner() },
    ),
  );
  checks.push(await telegramCheck(ctx));
  const waLinked = await hasRegisteredCredentials(path.join(config.dataDir, "auth", "whatsapp"));
  checks.push({
    name: "whatsapp",
    status: "ok",
    detail: waLinked ? "linked" : "not linked (run npm run auth -- whatsapp to link)",
  });
  return checks;
}

const LABEL = { ok: "ok  ", warn: "warn", fail: "FAIL" } as const;

/** Prints the checks (or one JSON object) and returns the exit code: 1 when any check failed, else 0. */
export function printDoctor(io: CommandIO, checks: Check[], json: boolean): number {
  const ok = checks.every((c) => c.status !== "fail");
  if (json) io.stdout.write(`${JSON.stringify({ ok, checks })}\n`);
  else
    for (const c of checks) {
      io.stdout.write(`${LABEL[c.status]} ${c.name}: ${c.detail}\n`);
      if (c.fixed) io.stdout.write(`     fixed: ${c.fixed}\n`);
      else if (c.fix) io.stdout.write(`     fix: ${c.fix}\n`);
    }
  return ok ? 0 : 1;
}
