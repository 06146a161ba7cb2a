/**
 * The host for the chaos suite's WhatsApp scenario: `nestbox start`'s own wiring (context, config,
 * the composition root, real agent containers), with the WhatsApp adapter's socket factory pointed
 * at the driver's server (WA_BRIDGE_PORT). Prints "READY" on stderr once the channels started.
 */
import path from "node:path";
import { createWhatsAppAdapter } from "../../src/channels/whatsapp/index.js";
import { processIO } from "../../src/cli/io.js";
import { requireModel } from "../../src/config.js";
import { loadContext } from "../../src/context.js";
import { createNestbox } from "../../src/nestbox.js";
import { bridgeSocketFactory } from "./whatsapp-socket.js";

const { config, sandbox, docker, log } = loadContext(processIO(), { interactive: false });
const nestbox = await createNestbox({
  config,
  model: requireModel(config),
  sandbox,
  docker,
  log,
  channels: (store) => [
    createWhatsAppAdapter({
      authDir: path.join(config.dataDir, "auth", "whatsapp"),
      assistantName: config.assistantName,
      log,
      socketFactory: bridgeSocketFactory(Number(process.env.WA_BRIDGE_PORT)),
      selfChatIsMain: (jid) => store.chats.get(jid)?.isMain === true,
      backoff: { baseMs: 200, maxMs: 1_000 },
    }),
  ],
});
await nestbox.start();
process.stderr.write("READY\n");
process.once("SIGTERM", () => void nestbox.stop(5_000).then(() => process.exit(0)));
await new Promise(() => {});
