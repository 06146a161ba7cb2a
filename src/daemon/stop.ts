import type { Logger } from "../log.js";

/** The signals that stop a running host; `src/cli/nestbox.ts` installs their handlers. */
export type StopSignal = "SIGINT" | "SIGTERM" | "SIGHUP";

/**
 * Exit codes after a signal: SIGTERM is the service manager's normal stop (0); SIGINT (Ctrl-C) and
 * SIGHUP (a closed terminal, a lost SSH session, `kill -HUP`) follow the shell's 128 + signal number,
 * so a systemd unit with `Restart=on-failure` restarts the host after a SIGHUP.
 */
export const SIGNAL_EXIT: Readonly<Record<StopSignal, number>> = { SIGTERM: 0, SIGINT: 130, SIGHUP: 129 };

/** How long running turns may finish after each signal: Ctrl-C means now. */
export const SIGNAL_GRACE_MS: Readonly<Record<StopSignal, number>> = {
  SIGTERM: 10_000,
  SIGINT: 0,
  SIGHUP: 10_000,
};

/** Logged once when nothing can receive messages, so a service's log says what to do. */
export const NO_CHANNEL_MESSAGE =
  "no channel configured: set TELEGRAM_BOT_TOKEN or run npm run auth -- whatsapp; waiting";

/** The terminal chat, as far as deciding when to stop goes. */
export interface TerminalInput {
  /** Called once when its input ends (Ctrl-D, a closed pipe, /dev/null). */
  onInputEnd(handler: () => void): void;
  stop(): Promise<void>;
}

/** What {@link waitForStop} watches. */
export interface WaitForStopOptions {
  /** The terminal channel when one is open. */
  terminal: TerminalInput | null;
  /** Names of the other channels that run (Telegram, WhatsApp); none in the pure terminal case. */
  otherChannels: readonly string[];
  stopSignal: Promise<StopSignal>;
  log: Logger;
}

/**
 * Resolves with what ends this run: a signal, or "eof" when the terminal is the only channel and its
 * input ended. With other channels, the end of input closes only the terminal chat and the host runs on
 * until a signal (a service's stdin is /dev/null). Each reason to stop, or not to, is logged once.
 */
export function waitForStop(o: WaitForStopOptions): Promise<StopSignal | "eof"> {
  const { terminal, otherChannels, log } = o;
  const inputEnded = new Promise<"eof">((resolve) => {
    terminal?.onInputEnd(() => {
      if (otherChannels.length === 0) {
        log.info("terminal input ended: answering what is left, then stopping");
        resolve("eof");
        return;
      }
      log.warn(
        { channels: otherChannels },
        `terminal input ended: the terminal chat is closed; ${otherChannels.join(" and ")} ${otherChannels.length === 1 ? "keeps" : "keep"} running until a signal stops the host`,
      );
      void terminal.stop();
    });
  });
  return Promise.race([inputEnded, o.stopSignal]);
}
