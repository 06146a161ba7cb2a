export {
  type DetectionSources,
  detectOwnContainer,
  detectSandbox,
  type ProxySettings,
  readProxy,
  type SandboxEnvironment,
} from "./detect.js";
export {
  agentProxyEnv,
  buildProxyArgs,
  type CaFiles,
  daemonPath,
  extraCaPem,
  type HostGateway,
  writeCaFiles,
} from "./forward.js";
export { agentFor, bypassesProxy, proxyFor } from "./proxy-agent.js";
