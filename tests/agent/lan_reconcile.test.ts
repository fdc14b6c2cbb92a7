/**
 * agent/lan reconcileCommand: what the leader writes for a LAN member, checked against a real
 * store. The case that matters most: a member whose name is a prefix of another node's ID
 * (`cb` and a server whose ID starts with "cb") must get its own node and serfHealth and must
 * never touch the other node. Before the fix the lookup matched the server by ID prefix and
 * the write renamed the server's node to `cb` (an intermittent CI failure for three sessions).
 */
import { suite } from "../shared/suite.ts";
import * as assert from "uvu/assert";
import { reconcileCommand } from "../../src/agent/lan.ts";
import type { SerfMember } from "../../src/gossip/serf/core_types.ts";
import { H, reg } from "../state/session_helpers.ts";

const t = suite("lan reconcile");

const SRV_ID = "cb005d6c-593f-4e0d-8114-405ae6d6dabc";
const CB_ID = "91d2283e-0089-4400-b27f-d8b4a8ee3fd6";

function member(name: string, id: string, status: SerfMember["status"], addr = "127.0.0.2"): SerfMember {
  return { name, addr, port: 8301, tags: { role: "node", dc: "dc1", id }, status, vsn: [1, 5, 2, 2, 5, 4] };
}

function withServer(): H {
  const h = new H();
  h.apply(reg("srv", { node: { id: SRV_ID, node: "srv", address: "127.0.0.1", datacenter: "dc1", taggedAddresses: {}, meta: {} } }));
  return h;
}

function serfStatus(h: H, node: string): string | undefined {
  return h.s.healthNode(node).value.find((c) => c.checkId === "serfHealth")?.status;
}

t("an alive member named like a prefix of the server's ID gets its own node; the server's node stays", () => {
  const h = withServer();
  const cmd = reconcileCommand(member("cb", CB_ID, "alive"), h.s, "srv", "dc1", false);
  assert.ok(cmd !== null && cmd.type === "catalog-register");
  assert.is(cmd.req.node.id, CB_ID);
  assert.is(cmd.req.node.node, "cb");
  const r = h.apply(cmd);
  assert.is.not(r.type, "error", JSON.stringify(r));
  assert.is(h.s.catalogNode("srv").value?.node.id, SRV_ID);
  assert.is(h.s.catalogNode("cb").value?.node.id, CB_ID);
  assert.is(serfStatus(h, "cb"), "passing");
  // Reconciled: nothing more to write.
  assert.is(reconcileCommand(member("cb", CB_ID, "alive"), h.s, "srv", "dc1", false), null);
});

t("a failed member named like an ID prefix is registered critical under its own name", () => {
  const h = withServer();
  const cmd = reconcileCommand(member("cb", CB_ID, "failed"), h.s, "srv", "dc1", false);
  assert.ok(cmd !== null);
  assert.is.not(h.apply(cmd).type, "error");
  assert.is(serfStatus(h, "cb"), "critical");
  assert.is(h.s.catalogNode("srv").value?.node.id, SRV_ID);
});

t("a left or reaped member that has no node of its own deregisters nothing", () => {
  const h = withServer();
  assert.is(reconcileCommand(member("cb", CB_ID, "left"), h.s, "srv", "dc1", false), null);
  assert.is(reconcileCommand(member("cb", CB_ID, "alive"), h.s, "srv", "dc1", true), null);
  assert.is(h.s.catalogNode("srv").value?.node.id, SRV_ID);
});

t("catalogNode is by name only; catalogNodeByNameOrId keeps Consul's ID-prefix lookup", () => {
  const h = withServer();
  assert.is(h.s.catalogNode("cb").value, undefined);
  assert.is(h.s.catalogNode("SRV").value?.node.node, "srv");
  assert.is(h.s.catalogNodeByNameOrId("cb").value?.node.node, "srv");
  assert.is(h.s.catalogNodeByNameOrId(SRV_ID).value?.node.node, "srv");
});

t.run();
