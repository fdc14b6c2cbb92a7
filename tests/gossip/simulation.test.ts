/**
 * Simulation: 100 SwimCores on a simulated network with 5% UDP loss and 1-10 ms delay
 * (packets go through the real codec). Proves: a staggered join wave converges; a
 * killed member is suspected within SWIM's expected window and declared dead after
 * memberlist's suspicion timeout (between min and max), by every live member soon
 * after; no live member is ever declared dead (zero false positives); a graceful
 * leave is seen as "left". Seeds are fixed so failures replay exactly.
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { lanConfig, suspicionTimeoutMs } from "../../src/gossip/index.ts";
import { bootCluster, falsePositives, measureFailure, nodeName, seededRng, SimCluster } from "./sim_network.ts";

const N = 100;

for (const seed of [1, 2]) {
  test(`100 members, 5% loss (SEED=${seed}): convergence, detection, dissemination, no false positives`, () => {
    const cfg = lanConfig();
    const sim = new SimCluster({ n: N, seed, config: cfg, loss: 0.05, delayMinMs: 1, delayMaxMs: 10, tickMs: 10 });
    bootCluster(sim, 10, seededRng(seed + 100));
    const joinedAt = sim.nowMs;
    assert.ok(sim.run(joinedAt + 30_000, () => sim.converged(N)), `SEED=${seed}: join wave converged`);
    const convergeMs = sim.nowMs - joinedAt;
    sim.run(sim.nowMs + 5000);
    const f = measureFailure(sim, 42, 60_000);
    const min = suspicionTimeoutMs(cfg.suspicionMult, N, cfg.probeIntervalMs); // 8 s at n = 100
    const max = cfg.suspicionMaxTimeoutMult * min;
    console.log(`  SEED=${seed} converge ${convergeMs} ms after last join; suspect ${f.firstSuspectMs} ms, dead ${f.firstDeadMs} ms, all dead ${f.allDeadMs} ms; lost ${sim.packetsLost}/${sim.packetsSent}`);
    assert.ok(f.firstSuspectMs !== null && f.firstSuspectMs <= 6 * cfg.probeIntervalMs, `SEED=${seed}: suspected within 6 probe intervals`);
    assert.ok(f.firstDeadMs !== null && f.firstDeadMs - f.firstSuspectMs >= min - cfg.probeIntervalMs, `SEED=${seed}: not dead before the minimum suspicion timeout`);
    assert.ok(f.firstDeadMs - f.firstSuspectMs <= max, `SEED=${seed}: dead by the maximum suspicion timeout`);
    assert.ok(f.allDeadMs !== null && f.allDeadMs - f.firstDeadMs <= 5000, `SEED=${seed}: every live member knows within 5 s`);
    assert.is(f.falseDead, 0, `SEED=${seed}: no live member declared dead`);
    // graceful leave
    const from = sim.states.length;
    sim.leave(7);
    sim.run(sim.nowMs + 5000, () => sim.cores.every((c, i) => c === null || i === 7 || c.member(nodeName(7))?.state === "left"));
    assert.ok(sim.cores.every((c, i) => c === null || i === 7 || c.member(nodeName(7))?.state === "left"), "leave seen as left");
    assert.is(falsePositives(sim, from).falseDead, 0);
  });
}

test.run();
