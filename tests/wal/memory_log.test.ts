// MemoryLog honours the same LogStore contract as the WAL (reopening the same instance).
import { test } from "uvu";
import { MemoryLog } from "../../src/wal/index.ts";
import { logContract } from "./contract.ts";

logContract(test, () => {
  const log = new MemoryLog();
  return { name: "memory", make: () => log, cleanup: () => {} };
});

test.run();
