/**
 * bench/lib/protocol: the configs and messages exchanged between a bench and its helper processes
 * (load-child, watchers-child, probe-child). Types only.
 *
 * Must never: contain logic or import runtime modules.
 */

/** etcd-put: POST /v3/kv/put on etcd's v3 JSON gateway (base64 key and value), for the raft bench's reference. */
export type LoadKind = "hello" | "kv-get" | "kv-put" | "etcd-put";

export interface LoadSpec {
  readonly kind: LoadKind;
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  readonly durationS: number;
  readonly keyPrefix: string;
  readonly keys: number;
  readonly valueBytes: number;
}

export interface LoadResult {
  readonly kind: LoadKind;
  readonly connections: number;
  readonly requests: number;
  readonly reqPerSec: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  readonly statusCodes: Readonly<Record<string, number>>;
  readonly elapsedS: number;
}

export interface LoadProgressMsg {
  readonly type: "progress";
  readonly elapsedMs: number;
  readonly responses: number;
}
export interface LoadDoneMsg {
  readonly type: "done";
  readonly result: LoadResult;
}

export type WatchMode = "distinct" | "one";

export interface WatchersSpec {
  readonly host: string;
  readonly port: number;
  readonly mode: WatchMode;
  readonly n: number;
  /** distinct: keys `${keyPrefix}${i}`; one: the single key itself. */
  readonly keyPrefix: string;
  readonly wait: string;
  readonly settleMs: number;
  readonly window: number;
  readonly wakeTimeoutMs: number;
}

/** parent -> watchers */
export interface ParkMsg {
  readonly type: "park";
}
export interface FireMsg {
  readonly type: "fire";
  readonly value: string;
}
export interface ReleaseMsg {
  readonly type: "release";
}

/** watchers -> parent */
export interface ParkedMsg {
  readonly type: "parked";
  readonly n: number;
  readonly parkMs: number;
  /** responses that arrived before they should have (the watcher was not actually parked). */
  readonly early: number;
  readonly errors: number;
  readonly firstError: string;
}
export interface FiredMsg {
  readonly type: "fired";
  readonly tPutMs: number;
  readonly tEndMs: number;
  readonly putAckMs: number;
  readonly wakeP50Ms: number;
  readonly wakeP99Ms: number;
  readonly wakeAllMs: number;
  readonly woken: number;
  /** woken with status 200 and an index greater than the parked one */
  readonly ok: number;
  readonly timedOut: boolean;
  /** CPU (user + system) the watcher client itself spent from the PUT until the last answer. */
  readonly clientCpuMs: number;
}
export interface ReleasedMsg {
  readonly type: "released";
  readonly early: number;
}

export interface ProbeSpec {
  readonly host: string;
  readonly port: number;
  readonly keyPrefix: string;
  readonly keys: number;
  readonly intervalMs: number;
}
export interface ProbeStartMsg {
  readonly type: "start";
}
export interface ProbeStopMsg {
  readonly type: "stop";
}
/** [send time (monotonic ms), latency ms; -1 = error] */
export interface ProbeSamplesMsg {
  readonly type: "samples";
  readonly samples: ReadonlyArray<readonly [number, number]>;
  readonly errors: number;
}

export interface FatalMsg {
  readonly type: "fatal";
  readonly message: string;
}

/** bench/lib/health-watchers-child: blocking health queries on one service. */
export interface HealthWatchersSpec {
  readonly host: string;
  readonly port: number;
  /** e.g. /v1/health/service/svc-0?passing */
  readonly path: string;
  readonly n: number;
  readonly wait: string;
  readonly settleMs: number;
  readonly wakeTimeoutMs: number;
}
/** parent -> child: `count` sequential GETs of the path on one keep-alive socket */
export interface HealthLatencyMsg {
  readonly type: "latency";
  readonly count: number;
}
export interface HealthLatencyDoneMsg {
  readonly type: "latency-done";
  /** ms, in order */
  readonly samples: readonly number[];
  readonly errors: number;
  /** body size of the last reply */
  readonly bytes: number;
}
/** parent -> child: PUT this /v1/catalog/register body once every watcher is parked */
export interface HealthFireMsg {
  readonly type: "fire";
  readonly body: string;
}
export interface HealthParkedMsg {
  readonly type: "parked";
  readonly index: number;
  readonly parkMs: number;
  readonly early: number;
  readonly errors: number;
  readonly firstError: string;
}
export interface HealthFiredMsg {
  readonly type: "fired";
  /** from sending the PUT until the last watcher's answer */
  readonly wakeAllMs: number;
  readonly putMs: number;
  readonly woken: number;
  readonly ok: number;
  readonly timedOut: boolean;
}
