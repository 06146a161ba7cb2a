// Chat folders as named volumes, for runtimes where agents may run on machines that cannot see the host's
// data folder (Docker Swarm). One volume per chat for its workspace, one for its sessions, one for the
// install's global memory; a shared driver (NFS, ...) makes them follow an agent to any node.
import type { RegisteredChat } from "../registration/chat.js";
import type { ContainerRuntime, VolumeMount } from "./container-runtime.js";
import { LABELS } from "./labels.js";

/** The label saying which of a chat's folders a volume holds. */
export const VOLUME_LABEL = "nestbox.volume";

/** The names of a chat's volumes (Docker volume names: letters, digits, `_`, `.`, `-`). */
export function chatVolumeNames(installId: string, folder: string) {
  return {
    group: `nestbox-${installId}-group-${folder}`,
    sessions: `nestbox-${installId}-sessions-${folder}`,
    global: `nestbox-${installId}-global`,
  };
}

/** The volume mounts of a chat's agent: its folder and sessions rw, global memory rw for main only. */
export function chatVolumeMounts(
  installId: string,
  chat: Pick<RegisteredChat, "folder" | "isMain">,
): VolumeMount[] {
  const names = chatVolumeNames(installId, chat.folder);
  return [
    { volume: names.group, containerPath: "/workspace/group", readOnly: false },
    { volume: names.global, containerPath: "/workspace/global", readOnly: !chat.isMain },
    { volume: names.sessions, containerPath: "/workspace/sessions", readOnly: false },
  ];
}

/**
 * Creates a chat's volumes on the engine the host talks to (at registration and before each agent start;
 * existing ones are left as they are), with the runtime's volume driver (SWARM_VOLUME_DRIVER). Other
 * nodes create theirs from the service's driver settings.
 */
export async function ensureChatVolumes(
  runtime: ContainerRuntime,
  installId: string,
  chat: Pick<RegisteredChat, "folder" | "chatId">,
): Promise<void> {
  const names = chatVolumeNames(installId, chat.folder);
  const base = { [LABELS.install]: installId, [LABELS.folder]: chat.folder };
  const spec = (kind: string, labels: Record<string, string>) => ({
    labels: { ...labels, [VOLUME_LABEL]: kind },
  });
  await runtime.ensureVolume(names.group, spec("group", { ...base, [LABELS.chat]: chat.chatId }));
  await runtime.ensureVolume(names.sessions, spec("sessions", { ...base, [LABELS.chat]: chat.chatId }));
  await runtime.ensureVolume(names.global, spec("global", { [LABELS.install]: installId }));
}

/** Removes a chat's own volumes (not the global one); a volume already gone is not an error. */
export async function removeChatVolumes(
  runtime: ContainerRuntime,
  names: Pick<ReturnType<typeof chatVolumeNames>, "group" | "sessions">,
): Promise<void> {
  await runtime.removeVolume(names.group);
  await runtime.removeVolume(names.sessions);
}
