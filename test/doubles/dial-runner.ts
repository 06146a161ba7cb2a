import { type DialedHost, dialHost } from "../../container/agent-runner/src/dial.js";
import { FrameWriter } from "../../container/agent-runner/src/frame-writer.js";
import type { RunnerAgent } from "../../container/agent-runner/src/runner-agent.js";
import { ServeLoop } from "../../container/agent-runner/src/serve.js";
import type { PipeContainer } from "./pipe-runtime.js";

/** What a dialling "container" did, for the tests: its link to the host once it dialled in. */
export interface DialingRunner {
  container: PipeContainer;
  host: DialedHost | null;
}

/**
 * An `onStart` for PipeRuntime that runs the real runner's dial path inside each "container", as
 * main.ts does with NESTBOX_DIAL_ADDRESS set: the real dial client (dial.ts) connects to the address
 * in the container's env with its token, then `ready` and the runner's ServeLoop over the dialled
 * link, with the agent `agentFor` gives. The stdio pipes stay unused. A runner that loses its host
 * exits 3; a container ended from outside closes its connection, as a dead process would.
 */
export function runnerDialing(
  agentFor: (container: PipeContainer) => RunnerAgent,
  runners: DialingRunner[] = [],
  options: { offlineMs?: number } = {},
): (c: PipeContainer) => void {
  return (container) => {
    const runner: DialingRunner = { container, host: null };
    runners.push(runner);
    let dead = false;
    void (async () => {
      const env = { ...container.spec.env };
      const address = env.NESTBOX_DIAL_ADDRESS;
      const token = env.NESTBOX_DIAL_TOKEN ?? "";
      if (!address) {
        container.stderr.write("no NESTBOX_DIAL_ADDRESS\n");
        return container.exit(2);
      }
      let host: DialedHost;
      try {
        host = await dialHost({
          address,
          token,
          offlineMs: options.offlineMs,
          onLost: () => container.exit(3),
        });
      } catch {
        return container.exit(2);
      }
      runner.host = host;
      void container.exited.then(() => {
        dead = true;
        host.close();
      });
      const writer = new FrameWriter(host.key, (chunk, callback) => {
        if (!dead) host.write(chunk, callback);
        else callback?.();
      });
      writer.send({ type: "ready", version: "dial-double" });
      const loop = new ServeLoop({
        input: host.input,
        key: host.key,
        writer,
        agent: Promise.resolve(agentFor(container)),
      });
      void loop.closed.then((code) => container.exit(code));
      void container.exited.then(() => loop.shutdown(0));
      loop.start();
    })();
  };
}
