// The credential proxy's public face; the gateway and its parts live in ./credential-proxy/.
export { upstreamFailure } from "./credential-proxy/answers.js";
export {
  CredentialProxy,
  type CredentialProxyOptions,
  type ProxyStats,
} from "./credential-proxy/gateway.js";
export { DEFAULT_LIMITS, type ProxyLimits } from "./credential-proxy/limits.js";
export { parseUpstream, type Upstream } from "./credential-proxy/routes.js";
