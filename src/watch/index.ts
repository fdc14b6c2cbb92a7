/**
 * watch: Consul watch plans (parse), their runner (blocking queries, back-off, index
 * rules), handlers (script with JSON on stdin, HTTP), the agent's config watches, and the
 * small agent HTTP client they share with remote exec.
 *
 * Must never: be imported by src/state, src/server or src/http.
 */

export { parsePlan, WATCH_TYPES, type HandlerSpec, type ParseResult, type WatchPlan, type WatchQuery, type WatchType } from "./plan.ts";
export { runPlan, retryDelay, realRunnerTime, type HandlerOutcome, type QueryAnswer, type RunnerDeps, type RunStats, type WatchHandler } from "./runner.ts";
export { encodeData, runHttpHandler, runScriptHandler, type HandlerResult } from "./handlers.ts";
export { WatchManager, clientQuery, parseConfigWatches, type WatchManagerDeps } from "./manager.ts";
export { AgentClient, ResponseError, escapePath, parseEndpoint, type AgentEndpoint, type AgentResponse, type ClientConfig } from "./client.ts";
