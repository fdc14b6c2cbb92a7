/**
 * tests/cli/operator: `operator raft list-peers` rows as Consul prints them (state,
 * voter, protocol, commit index, "Trails Leader By" with 1 commit / N commits / -).
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { listPeersRows } from "../../src/cli/operator.ts";
import { columnize } from "../../src/cli/services_common.ts";

test("list-peers rows: leader '-', followers trail by commits, empty protocol is <=1", () => {
  const rows = listPeersRows([
    { ID: "id1", Node: "s1", Address: "10.0.0.1:8300", Leader: true, Voter: true, ProtocolVersion: "3", LastIndex: 42 },
    { ID: "id2", Node: "s2", Address: "10.0.0.2:8300", Leader: false, Voter: true, ProtocolVersion: "3", LastIndex: 41 },
    { ID: "id3", Node: "s3", Address: "10.0.0.3:8300", Leader: false, Voter: false, ProtocolVersion: "", LastIndex: 30 },
  ]);
  assert.equal(rows, [
    ["Node", "ID", "Address", "State", "Voter", "RaftProtocol", "Commit Index", "Trails Leader By"],
    ["s1", "id1", "10.0.0.1:8300", "leader", "true", "3", "42", "-"],
    ["s2", "id2", "10.0.0.2:8300", "follower", "true", "3", "41", "1 commit"],
    ["s3", "id3", "10.0.0.3:8300", "follower", "false", "<=1", "30", "12 commits"],
  ]);
  const out = columnize(rows).split("\n");
  assert.is(out[0], "Node  ID   Address        State     Voter  RaftProtocol  Commit Index  Trails Leader By");
  assert.is(out[1], "s1    id1  10.0.0.1:8300  leader    true   3             42            -");
});

test.run();
