/** Labels every agent container (or service) and chat volume carries. */
export const LABELS = {
  install: "nestbox.install",
  folder: "nestbox.folder",
  chat: "nestbox.chat",
  created: "nestbox.created",
} as const;

/** A label Docker Swarm puts on the containers of its tasks: those belong to a service, not to a host. */
export const SWARM_SERVICE_LABEL = "com.docker.swarm.service.id";
