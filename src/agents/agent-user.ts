/** The uid and gid agent containers run as. */
export interface AgentOwner {
  uid: number;
  gid: number;
}

/** The invoking user's ids, or 1000:1000 when nestbox runs as root (agents never run as root). */
export function agentOwner(): AgentOwner {
  const uid = process.getuid?.() ?? 1000;
  const gid = process.getgid?.() ?? 1000;
  return uid === 0 ? { uid: 1000, gid: 1000 } : { uid, gid };
}

/** {@link agentOwner} as the `uid:gid` string Docker takes. */
export function agentUser(): string {
  const { uid, gid } = agentOwner();
  return `${uid}:${gid}`;
}
