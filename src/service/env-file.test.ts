import { describe, expect, it } from "vitest";
import { envFileMismatches, systemdEnvironment } from "./env-file.js";

describe(".env under systemd's EnvironmentFile", () => {
  it("reads plain and quoted values as nestbox does", () => {
    const text = "# comment\nMODEL=qwen\nOPENAI_BASE_URL=\"http://host:11434/v1\"\nNAME='Andy'\n\n; other\n";
    expect(systemdEnvironment(text)).toEqual({
      MODEL: "qwen",
      OPENAI_BASE_URL: "http://host:11434/v1",
      NAME: "Andy",
    });
    expect(envFileMismatches(text)).toEqual([]);
  });

  it("names the variables an inline comment would change, never their values", () => {
    const text = "LOG_LEVEL=info # quieter later\nTELEGRAM_BOT_TOKEN=123:secret\n";
    expect(systemdEnvironment(text).LOG_LEVEL).toBe("info # quieter later");
    expect(envFileMismatches(text)).toEqual(["LOG_LEVEL"]);
  });
});
