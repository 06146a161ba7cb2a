import { TerminalAdapter, type TerminalAdapterConfig } from "./terminal-channel.js";

export { TerminalAdapter, type TerminalAdapterConfig };

/** Creates the local console channel. */
export function createTerminalAdapter(config: TerminalAdapterConfig): TerminalAdapter {
  return new TerminalAdapter(config);
}
