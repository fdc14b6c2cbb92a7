/**
 * tests/gossip/merge: Consul's serf merge delegates (gossip/merge.ts) — the WAN pool takes only
 * Consul servers; the LAN pool refuses another datacenter's servers and client agents, another
 * segment, this agent's node ID under another name and two members with one node ID, and
 * takes everything else (members without Consul tags, this agent itself).
 */
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mergeRejection, type ConsulLanMerge } from "../../src/gossip/merge.ts";
import { encodeTags } from "../../src/gossip/serf/messages.ts";

const LAN: ConsulLanMerge = { kind: "consul-lan", datacenter: "dc1", segment: "", nodeId: "11111111-1111-4111-8111-111111111111", nodeName: "me" };
const tags = (t: Record<string, string>): Uint8Array => encodeTags(t);

test("consul-wan: servers with a datacenter only", () => {
  assert.is(mergeRejection("consul-wan", "s1.dc1", tags({ role: "consul", dc: "dc1" })), null);
  assert.is(mergeRejection("consul-wan", "c1", tags({ role: "node", dc: "dc1" })), "Member 'c1' is not a server");
  assert.is(mergeRejection("consul-wan", "x", tags({ role: "consul" })), "Member 'x' is not a server");
  assert.is(mergeRejection("consul-wan", "junk", new Uint8Array([0xff, 0x00, 0x13])), "Member 'junk' is not a server");
});

test("consul-lan: this datacenter's servers and clients, members without Consul tags", () => {
  assert.is(mergeRejection(LAN, "s1", tags({ role: "consul", dc: "dc1", segment: "", id: "22222222-2222-4222-8222-222222222222" })), null);
  assert.is(mergeRejection(LAN, "c1", tags({ role: "node", dc: "dc1", segment: "" })), null);
  assert.is(mergeRejection(LAN, "plain", null), null);
  assert.is(mergeRejection(LAN, "ME", tags({ role: "node", dc: "dc1", id: LAN.nodeId })), null, "this agent (names compare case-insensitively)");
});

test("consul-lan: another datacenter, a client without a datacenter, another segment", () => {
  assert.is(mergeRejection(LAN, "s9", tags({ role: "consul", dc: "dc9" })), "Member 's9' part of wrong datacenter 'dc9'");
  assert.is(mergeRejection(LAN, "c9", tags({ role: "node", dc: "dc9" })), "Member 'c9' part of wrong datacenter 'dc9'");
  assert.is(mergeRejection(LAN, "c0", tags({ role: "node" })), "Member 'c0' part of wrong datacenter ''");
  assert.is(mergeRejection(LAN, "seg", tags({ role: "node", dc: "dc1", segment: "alpha" })), "Member 'seg' part of wrong segment 'alpha' (expected '')");
});

test("consul-lan: node-ID conflicts with this agent and within one merge", () => {
  assert.is(
    mergeRejection(LAN, "impostor", tags({ role: "node", dc: "dc1", id: LAN.nodeId })),
    `Member 'impostor' has conflicting node ID '${LAN.nodeId}' with this agent's ID`,
  );
  const seen = new Map<string, string>();
  const id = "33333333-3333-4333-8333-333333333333";
  assert.is(mergeRejection(LAN, "a", tags({ role: "node", dc: "dc1", id }), seen), null);
  assert.is(mergeRejection(LAN, "b", tags({ role: "node", dc: "dc1", id }), seen), `Member 'b' has conflicting node ID '${id}' with member 'a'`);
  // Without a merge context (one alive message) only the conflict with this agent is checked.
  assert.is(mergeRejection(LAN, "b", tags({ role: "node", dc: "dc1", id })), null);
});

test.run();
