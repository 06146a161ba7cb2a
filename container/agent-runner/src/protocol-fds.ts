// The runner's protocol pipes, kept out of reach of the processes it starts.
//
// Docker hands the runner the protocol as fds 0 and 1. Any child spawned with inherited stdio would
// get both pipes. So the runner reopens each pipe as a new close-on-exec descriptor (Node opens every
// fd with O_CLOEXEC) and puts /dev/null on fd 0 and stderr on fd 1: after that, no exec'd process can
// hold the protocol, and a stray console.log lands on stderr. Node has no dup2; closing a low fd and
// opening at once takes that fd (POSIX: the lowest free number), which is checked, not assumed.
// Reopening goes through /proc/self/fd, which a process may always do for itself (the runner is
// non-dumpable, so no other process of the agent's user can do it for the runner: see the Dockerfile).
import { closeSync, constants, fstatSync, openSync } from "node:fs";
import { Socket } from "node:net";
import type { Readable } from "node:stream";
import { parseKeyLine } from "../../../src/protocol/wire.js";

/** Writes one chunk of frame lines to the host; `callback` runs once it is flushed. */
export type WriteLine = (chunk: string, callback?: () => void) => void;

/** The runner's ends of the protocol. */
export interface ProtocolStreams {
  /** Frames from the host (paused). */
  input: Readable;
  /** Frames to the host. */
  write: WriteLine;
  /** False when the pipes could not be moved (not pipes: left on fds 0 and 1). */
  moved: boolean;
}

/** Moves the protocol off fds 0 and 1 when both are pipes; call before anything touches process.stdout. */
export function openProtocolStreams(): ProtocolStreams {
  if (!isPipe(0) || !isPipe(1)) return fallback();
  const flags = constants.O_NONBLOCK; // never block on open, whatever the other end does
  const inFd = openSync("/proc/self/fd/0", constants.O_RDONLY | flags);
  const outFd = openSync("/proc/self/fd/1", constants.O_WRONLY | flags);
  replaceLowFd(0, () => openSync("/dev/null", constants.O_RDONLY));
  replaceLowFd(1, () => openSync("/proc/self/fd/2", constants.O_WRONLY));
  const input = new Socket({ fd: inFd, readable: true, writable: false });
  input.pause();
  const output = new Socket({ fd: outFd, readable: false, writable: true });
  output.on("error", () => {}); // the host went away: the input side ends too, which shuts down
  return {
    input,
    write: (chunk, callback) => void output.write(chunk, callback),
    moved: true,
  };
}

/**
 * Reads the first input line, the frame key, before anything else. Resolves with the key, or null
 * when the input ends or its first line is not a key line. Leaves the rest of the input unread.
 */
export function readKeyLine(input: Readable): Promise<string | null> {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    const done = (key: string | null, rest?: Buffer) => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.pause();
      if (rest?.length) input.unshift(rest);
      resolve(key);
    };
    const onData = (chunk: Buffer | string) => {
      head = Buffer.concat([head, typeof chunk === "string" ? Buffer.from(chunk) : chunk]);
      const newline = head.indexOf(10);
      if (newline === -1) {
        if (head.length > 256) done(null);
        return;
      }
      done(parseKeyLine(head.subarray(0, newline).toString("latin1")), head.subarray(newline + 1));
    };
    const onEnd = () => done(null);
    input.on("data", onData);
    input.on("end", onEnd);
    input.resume();
  });
}

function isPipe(fd: number): boolean {
  try {
    return fstatSync(fd).isFIFO();
  } catch {
    return false;
  }
}

function replaceLowFd(fd: number, open: () => number): void {
  closeSync(fd);
  const got = open();
  if (got !== fd) throw new Error(`protocol fds: expected fd ${fd} after reopening, got ${got}`);
}

/** Outside a container (pipes missing): stdio as it is, stdout writes still kept for frames only. */
function fallback(): ProtocolStreams {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((...args: Parameters<typeof process.stderr.write>) =>
    process.stderr.write(...args)) as typeof process.stdout.write;
  process.stdin.pause();
  return { input: process.stdin, write: (chunk, callback) => void write(chunk, callback), moved: false };
}
