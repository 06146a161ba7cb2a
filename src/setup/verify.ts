import path from "node:path";
import { verifyTelegram } from "../channels/telegram/index.js";
import { hasRegisteredCredentials } from "../channels/whatsapp/index.js";
import { type CommandSpec, defineCommand, type ParseArgsOptionsConfig } from "../cli/args.js";
import { loadContext } from "../context.js";
import { agentFor } from "../sandbox/index.js";

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

const VERIFY = {
  name: "setup verify",
  usage: `Usage: npm run setup -- verify [--json]

Checks the model settings, Docker, the agent image, the Telegram token and privacy mode, WhatsApp
linking; says how to fix each failure. Exits 1 when a check fails.
`,
  options: {},
  json: true,
} satisfies CommandSpec<ParseArgsOptionsConfig>;

/** `setup verify`: checks each part of the configuration and says how to fix what fails. */
export const verify = defineCommand(VERIFY, async ({ json }, io) => {
  const { config, sandbox, docker } = loadContext(io);
  const checks: Check[] = [];
  checks.push(
    config.model
      ? {
          name: "model",
          ok: true,
          detail: `${config.model.provider} ${config.model.name} at ${config.model.baseUrl}`,
        }
      : {
          name: "model",
          ok: false,
          detail: "no model configured",
          fix: "set MODEL and OPENAI_BASE_URL / OPENAI_API_KEY or ANTHROPIC_API_KEY (see .env.example)",
        },
  );
  try {
    const version = await docker.version();
    checks.push({ name: "docker", ok: true, detail: `Docker ${version}` });
    const image = await docker.imageExists(config.agentImage);
    checks.push(
      image
        ? { name: "agent image", ok: true, detail: config.agentImage }
        : {
            name: "agent image",
            ok: false,
            detail: `${config.agentImage} is missing`,
            fix: "run npm run setup -- container",
          },
    );
  } catch (err) {
    checks.push({
      name: "docker",
      ok: false,
      detail: (err as Error).message,
      fix: "start Docker, or set DOCKER_HOST",
    });
  }
  if (config.telegram) {
    const t = await verifyTelegram({
      botToken: config.telegram.botToken,
      apiRoot: config.telegram.apiRoot,
      proxyAgent: agentFor(new URL(config.telegram.apiRoot), sandbox.proxy),
    });
    checks.push({
      name: "telegram",
      ok: t.ok && t.problems.length === 0,
      detail: t.ok
        ? `token valid, bot @${t.botUsername}, ${t.canReadAllGroupMessages ? "reads all group messages" : "privacy mode on"}`
        : "token not accepted",
      fix: t.problems.join(" ") || undefined,
    });
  } else checks.push({ name: "telegram", ok: true, detail: "not configured (TELEGRAM_BOT_TOKEN unset)" });
  const waLinked = await hasRegisteredCredentials(path.join(config.dataDir, "auth", "whatsapp"));
  checks.push({
    name: "whatsapp",
    ok: true,
    detail: waLinked ? "linked" : "not linked (run npm run auth -- whatsapp to link)",
  });
  const failed = checks.filter((c) => !c.ok);
  if (json) io.stdout.write(`${JSON.stringify({ ok: failed.length === 0, checks })}\n`);
  else {
    for (const c of checks) {
      io.stdout.write(`${c.ok ? "ok  " : "FAIL"} ${c.name}: ${c.detail}\n`);
      if (c.fix) io.stdout.write(`     fix: ${c.fix}\n`);
    }
  }
  return failed.length === 0 ? 0 : 1;
});
