/**
 * tests/server/apply_decoded: the single server applies each write decoded from the bytes it
 * logged, as replay after a restart does, never the caller's object: so the store holds
 * nothing that aliases a request (V8 keeps a whole JSON text alive behind a string sliced
 * from it), and its state is what replay would build.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { SingleServer } from "../../src/server/single.ts";
import { MemoryLog } from "../../src/wal/memory_log.ts";
import { Store, decodeCommand, encodeCommand } from "../../src/state/index.ts";
import type { ApplyResult, Command } from "../../src/state/types.ts";

class RecordingStore extends Store {
  readonly seen: Command[] = [];
  override apply(index: number, cmd: Command): ApplyResult {
    this.seen.push(cmd);
    return super.apply(index, cmd);
  }
}

test("a write reaches the store decoded from the log, not as the caller's object", async () => {
  const store = new RecordingStore();
  const s = new SingleServer({
    log: new MemoryLog(), store, encode: encodeCommand, decode: decodeCommand, advertiseAddr: "127.0.0.1:8300",
    snapshotThreshold: 1000, trailingLogs: 10, logger: () => undefined, now: () => performance.now(),
  });
  await s.start();
  try {
    const value = new TextEncoder().encode("v1");
    const cmd: Command = { type: "kv-set", key: "a/key/longer/than/13", value, flags: 7n };
    await s.apply(cmd);
    const got = store.seen[store.seen.length - 1]!;
    assert.ok(got !== cmd, "the store got a decoded copy");
    assert.equal(got, decodeCommand(encodeCommand(cmd)));
    assert.ok(got.type === "kv-set" && got.value !== value && got.value.buffer !== value.buffer, "value bytes are not the caller's");
    assert.is(new TextDecoder().decode(store.kvGet("a/key/longer/than/13").value?.value), "v1");
  } finally {
    await s.close({ snapshot: false });
  }
});

test.run();
