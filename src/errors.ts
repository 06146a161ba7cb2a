/** Every error nestbox raises on purpose: a stable `code` for scripts, a message for people, and the `cause`. */
export class NestboxError extends Error {
  override readonly name: string = "NestboxError";
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Configuration is missing or invalid; `issues` lists each bad variable with what to set. */
export class ConfigError extends NestboxError {
  override readonly name = "ConfigError";
  constructor(
    readonly issues: readonly string[],
    options?: { cause?: unknown },
  ) {
    super("CONFIG_INVALID", `Invalid configuration:\n${issues.map((i) => `  - ${i}`).join("\n")}`, options);
  }
}

/** A command-line flag or user input is invalid; the message names the flag and the fix. */
export class UsageError extends NestboxError {
  override readonly name: string = "UsageError";
  constructor(message: string, options?: { cause?: unknown }, code = "USAGE") {
    super(code, message, options);
  }
}

/** A task's value is invalid (schedule, prompt, limit); the message says what to fix, for a model and a person. */
export class TaskInputError extends UsageError {
  override readonly name = "TaskInputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, "TASK_INPUT");
  }
}

/** A chat asked for something only the main chat may do (another chat's tasks, registering chats). */
export class TaskPermissionError extends UsageError {
  override readonly name = "TaskPermissionError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options, "TASK_PERMISSION");
  }
}

/** No task with this id (or none this chat may see). */
export class TaskNotFoundError extends UsageError {
  override readonly name = "TaskNotFoundError";
  constructor(readonly taskId: number) {
    super(`task ${taskId} does not exist (list_tasks shows this chat's tasks)`, undefined, "TASK_NOT_FOUND");
  }
}

/** The platform behind a channel refused a request (bad token, forbidden chat...). */
export class ChannelError extends NestboxError {
  override readonly name: string = "ChannelError";
  constructor(
    readonly channel: string,
    code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** The connection to a channel's platform failed before it took the request (not sent); retrying may help. */
export class ChannelNetworkError extends ChannelError {
  override readonly name = "ChannelNetworkError";
}

/**
 * The request was written but no answer came (reset, timeout): the platform may have taken it, so a
 * resend may post a second copy. The outbox resends such a message at most once.
 */
export class ChannelMaybeSentError extends ChannelError {
  override readonly name = "ChannelMaybeSentError";
}

/** No registered channel owns the chat id a message is addressed to. */
export class UnroutableChatError extends NestboxError {
  override readonly name = "UnroutableChatError";
  constructor(readonly chatId: string) {
    super("CHAT_UNROUTABLE", `No channel owns chat id "${chatId}"; is its channel configured and started?`);
  }
}

/** The store refused an operation (constraint, migration, corrupt file). */
export class StoreError extends NestboxError {
  override readonly name = "StoreError";
}

/**
 * An inbound message (or a command answer) could not be stored: the channel must not acknowledge it to
 * its platform, so the platform hands it out again.
 */
export class NotStoredError extends NestboxError {
  override readonly name = "NotStoredError";
  constructor(what: string, options?: { cause?: unknown }) {
    super("INBOUND_NOT_STORED", `${what} could not be stored`, options);
  }
}

/** An agent turn failed: the runtime, the container or the model. */
export class AgentError extends NestboxError {
  override readonly name: string = "AgentError";
}

/** The container engine refused or failed an operation. */
export class ContainerError extends NestboxError {
  override readonly name = "ContainerError";
}

/** One line for a person: the message of a NestboxError, or the error's own text. */
export function describeError(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}

/** Another nestbox host holds the data folder's lock; `holder` says which, when it has written that yet. */
export class HostRunningError extends NestboxError {
  override readonly name = "HostRunningError";
  constructor(
    readonly dataDir: string,
    readonly holder: { pid: number; startedAt: number } | null,
  ) {
    const who = holder
      ? `pid ${holder.pid}, started ${new Date(holder.startedAt).toISOString()}`
      : "it is still starting";
    super(
      "HOST_RUNNING",
      `another nestbox host is already running on the data folder ${dataDir} (${who}); stop it first, or set NESTBOX_DATA_DIR to another folder`,
    );
  }
}

/** The health endpoint cannot listen (port taken, address not on this machine); the message names the variable. */
export class HealthEndpointError extends NestboxError {
  override readonly name = "HealthEndpointError";
}
