import type { HostReport } from "./host-status.js";

const duration = (s: number) => {
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${h}h` : h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
};

/** The host part of `nestbox status` for people: one line per fact, problems first on their line. */
export function hostLines(r: HostReport): string[] {
  const h = r.host;
  const lines: string[] = [];
  if (h.state === "running") {
    const up = h.uptimeS === null ? "" : `, up ${duration(h.uptimeS)}`;
    lines.push(`Host:     running, pid ${h.pid}${up}, version ${h.version ?? "unknown"}`);
    const rd = h.readiness;
    if (rd?.ready && !h.heartbeatStale) lines.push(`Ready:    yes (${h.health.url})`);
    else {
      const checks = rd?.phase === "running" ? rd.checks : null;
      const why = [
        ...(h.heartbeatStale ? [`no heartbeat since ${h.lastHeartbeatAt ?? "start"} (hung?)`] : []),
        ...(h.health.error ? [h.health.error] : []),
        ...(rd && rd.phase !== "running" ? [rd.phase] : []),
        ...(checks && checks.store !== "ok" ? [`store ${checks.store}`] : []),
        ...(checks && checks.docker !== "ok" ? [`Docker ${checks.docker}`] : []),
        ...Object.entries(checks?.channels ?? {})
          .filter(([, s]) => s !== "connected")
          .map(([n, s]) => `${n} ${s}`),
        ...(checks && checks.model !== "reachable" ? [`model ${checks.model}`] : []),
      ];
      lines.push(`Ready:    NO: ${why.join("; ") || "not ready"}`);
    }
  } else if (h.state === "crashed") {
    lines.push(
      `Host:     CRASHED: pid ${h.pid ?? "?"} started ${h.startedAt}, last heartbeat at ${h.lastHeartbeatAt}; the next start recovers its turns and replies`,
    );
  } else {
    lines.push(
      h.stoppedAt
        ? `Host:     stopped (cleanly, at ${h.stoppedAt})`
        : "Host:     not running (never started on this data folder)",
    );
  }
  lines.push(`Data:     ${r.dataDir}`);
  lines.push(
    r.model
      ? `Model:    ${r.model.provider} ${r.model.name} at ${r.model.endpoint}`
      : "Model:    (none configured)",
  );
  const channels = Object.entries(r.channels);
  if (channels.length > 0) lines.push(`Channels: ${channels.map(([n, s]) => `${n} ${s}`).join(", ")}`);
  const kind = r.runtime === "swarm" ? " swarm service(s)" : "";
  if (!r.dockerReachable) lines.push("Agents:   unknown: the Docker engine does not answer");
  else
    lines.push(
      `Agents:   ${r.agents.length}${kind} running${r.agents.length ? `: ${r.agents.map((a) => a.name).join(", ")}` : ""}`,
    );
  if (r.orphans.length > 0) {
    lines.push(`Orphans:  ${r.orphans.join(", ")} (no live host owns them; the next start removes them)`);
  }
  lines.push(`Pending:  ${r.pendingReplies} repl${r.pendingReplies === 1 ? "y" : "ies"} not yet delivered`);
  if (r.lastErrors.length > 0) {
    lines.push("Last errors:");
    for (const e of r.lastErrors) lines.push(`  ${e.at} ${e.chatId}: ${e.error.split("\n")[0]}`);
  }
  return lines;
}
