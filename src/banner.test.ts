import { expect, it } from "vitest";
import { endpointOrigin, startBanner } from "./banner.js";

it("names the version, the model and its endpoint's origin, each channel's state and the data folder", () => {
  const text = startBanner({
    version: "0.1.0",
    model: {
      provider: "openai",
      name: "llama3.1:8b",
      baseUrl: "http://user:secret@localhost:11434/v1",
      apiKey: "sk-real-key",
    },
    channels: [
      { name: "telegram", state: "connected as @andy_bot" },
      { name: "whatsapp", state: "not linked (nestbox auth whatsapp)" },
      { name: "terminal", state: "here" },
    ],
    dataDir: "/srv/nestbox/data",
  });
  expect(text).toBe(
    [
      "nestbox 0.1.0",
      "  model     openai llama3.1:8b at http://localhost:11434",
      "  channels  telegram  connected as @andy_bot",
      "            whatsapp  not linked (nestbox auth whatsapp)",
      "            terminal  here",
      "  data      /srv/nestbox/data",
      "",
    ].join("\n"),
  );
  expect(text).not.toContain("secret");
  expect(text).not.toContain("sk-real-key");
});

it("says so when no channel runs, and never prints a path of the endpoint", () => {
  const text = startBanner({
    version: "1.2.3",
    model: { provider: "anthropic", name: "claude", baseUrl: "https://api.example.test/v1/x", apiKey: "" },
    channels: [],
    dataDir: "/d",
  });
  expect(text).toContain("  channels  none\n");
  expect(endpointOrigin("https://api.example.test/v1/x")).toBe("https://api.example.test");
});
