import { channelContract } from "../../../test/contracts/channel-contract.js";
import { TelegramFixture } from "../../../test/telegram/harness.js";

const CHAT = 4242;

channelContract("telegram", async () => {
  const fx = await TelegramFixture.create();
  return {
    channel: fx.adapter(),
    chatId: `tg:${CHAT}`,
    foreignChatId: "local:console",
    deliverInbound: async (text) => {
      fx.api.pushMessage({ chatId: CHAT, text });
    },
    sentTexts: async () => fx.api.sent(CHAT),
    close: () => fx.close(),
  };
});
