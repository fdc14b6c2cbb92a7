// Child process for the crash test (not a test file): appends to a WAL as fast as
// it can and prints every durable index it is told about, until it is SIGKILLed.
import { openWal } from "../../src/wal/index.ts";
import { entry } from "./helpers.ts";

const dir = process.env["CAIRN_WAL_CHILD_DIR"];
if (dir === undefined) throw new Error("crash_child.ts is run by crash.test.ts (CAIRN_WAL_CHILD_DIR unset)");
const { log, recovered } = await openWal(dir, { segmentBytes: 256 * 1024 });
let next = (recovered.entries[recovered.entries.length - 1]?.index ?? 0) + 1;
log.onDurable((i) => process.stdout.write(`durable ${i}\n`));
process.stdout.write(`ready ${next - 1}\n`);
function pump(): void {
  if (next - log.durableIndex() < 2000) {
    for (let k = 0; k < 50; k++, next++) log.append([entry(next)]);
  }
  setTimeout(pump, 0);
}
pump();
