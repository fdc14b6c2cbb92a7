// WalLog honours the LogStore contract (each reopen is a fresh WalLog on the same directory).
import { test } from "uvu";
import { WalLog } from "../../src/wal/index.ts";
import { logContract } from "./contract.ts";
import { removeDir, tempDir } from "./helpers.ts";

logContract(test, () => {
  const dir = tempDir();
  return { name: "wal", make: () => new WalLog(dir), cleanup: () => removeDir(dir) };
});

test.run();
