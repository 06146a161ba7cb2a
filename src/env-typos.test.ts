import { describe, expect, it } from "vitest";
import { describeTypo, envTypos } from "./env-typos.js";

describe("unknown variables that look like nestbox's", () => {
  it("suggests the known name for typos, by edit distance", () => {
    const typos = envTypos({
      OPENAI_BASEURL: "http://localhost:11434/v1",
      TELEGRAM_TOKEN: "123:abc",
      NESTBOX_DATADIR: "/srv/data",
      AGENT_IMAGES: "x",
    });
    expect(typos.map(describeTypo)).toEqual([
      "OPENAI_BASEURL (did you mean OPENAI_BASE_URL?)",
      "TELEGRAM_TOKEN (did you mean TELEGRAM_BOT_TOKEN?)",
      "NESTBOX_DATADIR (did you mean NESTBOX_DATA_DIR?)",
      "AGENT_IMAGES (did you mean AGENT_IMAGE?)",
    ]);
  });

  it("leaves known names, other programs' variables and test knobs alone", () => {
    expect(
      envTypos({
        OPENAI_BASE_URL: "x",
        https_proxy: "http://proxy:3128",
        PATH: "/usr/bin",
        HOSTNAME: "box",
        TERM: "xterm",
        XDG_CONFIG_DIRS: "/etc/xdg",
        npm_config_cache: "/root/.npm",
        NESTBOX_TEST_AGENT_IMAGE: "nestbox-agent:test",
        NODE_EXTRA_CA_CERTS: "/ca.pem",
      }),
    ).toEqual([]);
  });
});
