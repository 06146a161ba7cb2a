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
import { parseKeyLine } from "./wire.js";

/**
 * @typedef {object} ProtocolStreams
 * @property {import("node:stream").Readable} input  frames from the host (paused)
 * @property {(chunk: string, callback?: () => void) => boolean} write  frames to the host
 * @property {boolean} moved  false when the pipes could not be moved (not pipes: left on fds 0 and 1)
 */

/** Moves the protocol off fds 0 and 1 when both are pipes; call before anything touches process.stdout. */
export function openProtocolStreams() {
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
    write: (chunk, callback) => output.write(chunk, callback),
    moved: true,
  };
}

/**
 * Reads the first input line, the frame key, before anything else. Resolves with the key, or null
 * when the input ends or its first line is not a key line. Leaves the rest of the input unread.
 * @param {import("node:stream").Readable} input
 */
export function readKeyLine(input) {
  return new Promise((resolve) => {
    let head = Buffer.alloc(0);
    const done = (key, rest) => {
      input.off("data", onData);
      input.off("end", onEnd);
      input.pause();
      if (rest?.length) input.unshift(rest);
      resolve(key);
    };
    const onData = (chunk) => {
      head = Buffer.concat([head, chunk]);
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

function isPipe(fd) {
  try {
    return fstatSync(fd).isFIFO();
  } catch {
    return false;
  }
}

function replaceLowFd(fd, open) {
  closeSync(fd);
  const got = open();
  if (got !== fd) throw new Error(`protocol fds: expected fd ${fd} after reopening, got ${got}`);
}

/** Outside a container (pipes missing): stdio as it is, stdout writes still kept for frames only. */
function fallback() {
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = /** @type {typeof process.stdout.write} */ (
    (chunk, encoding, callback) => process.stderr.write(chunk, /** @type {any} */ (encoding), callback)
  );
  process.stdin.pause();
  return { input: process.stdin, write: (chunk, callback) => write(chunk, callback), moved: false };
}
