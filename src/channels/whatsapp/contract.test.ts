import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { channelContract } from "../../../test/contracts/channel-contract.js";
import { FakeWhatsApp, waMessage, writeLinkedCreds } from "../../../test/whatsapp/fake-socket.js";
import { silentLogger } from "../../log.js";
import { createWhatsAppAdapter } from "./index.js";

const CHAT = "4917612345678@s.whatsapp.net";

channelContract("whatsapp", async () => {
  const root = await mkdtemp(path.join(tmpdir(), "nestbox-wa-contract-"));
  const authDir = path.join(root, "auth", "whatsapp");
  await writeLinkedCreds(authDir);
  const world = new FakeWhatsApp();
  world.autoOpen = true;
  const channel = createWhatsAppAdapter({
    authDir,
    assistantName: "Andy",
    log: silentLogger(),
    socketFactory: world.factory,
  });
  return {
    channel,
    chatId: CHAT,
    foreignChatId: "tg:12345",
    async deliverInbound(text) {
      world.current.deliver([waMessage(CHAT, { conversation: text })]);
    },
    async sentTexts() {
      return world.sent.filter((s) => s.jid === CHAT).map((s) => s.text);
    },
    async close() {
      await rm(root, { recursive: true, force: true });
    },
  };
});
