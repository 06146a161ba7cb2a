import type { ModelConfig } from "./config.js";

/** One channel as the banner shows it: its name and what state it is in, in words. */
export interface ChannelLine {
  name: string;
  state: string;
}

/** What {@link startBanner} says. */
export interface BannerInfo {
  version: string;
  model: ModelConfig;
  channels: ChannelLine[];
  dataDir: string;
}

/** `https://api.example.com` from a base URL: the origin only, never a path, user or password. */
export function endpointOrigin(baseUrl: string): string {
  try {
    return new URL(baseUrl).origin;
  } catch {
    return "(invalid URL)";
  }
}

/**
 * The lines `nestbox start` prints once at a terminal: version, model (provider, name, endpoint
 * origin), each channel and its state, and the data folder.
 */
export function startBanner(info: BannerInfo): string {
  const width = Math.max(...info.channels.map((c) => c.name.length), 0);
  const rows = [
    `nestbox ${info.version}`,
    `  model     ${info.model.provider} ${info.model.name} at ${endpointOrigin(info.model.baseUrl)}`,
    ...info.channels.map(
      (c, i) => `  ${i === 0 ? "channels" : "        "}  ${c.name.padEnd(width)}  ${c.state}`,
    ),
    `  data      ${info.dataDir}`,
  ];
  if (info.channels.length === 0) rows.splice(2, 0, "  channels  none");
  return `${rows.join("\n")}\n`;
}
