/**
 * watch: who wants to hear about a change to a KV key or prefix.
 *
 * Registrations are grouped in one Set per watched key and per watched
 * prefix. A write to key k wakes the set of k and the sets of the registered
 * prefixes of k: only prefix lengths that are registered are looked up, so the
 * cost is O(min(len k, distinct prefix lengths)) map lookups, never a loop
 * over all watchers. A tree delete of p also wakes key sets and prefix sets
 * under p, found through sorted indexes (O(log n + matches)). A woken set is
 * removed whole, so each registration fires at most once.
 *
 * collect*() only gathers; fire() calls the callbacks. The store gathers after
 * a write is fully applied and fires last, so a callback never sees
 * half-applied state.
 *
 * Must never: call a callback from collect*, or iterate over every watcher.
 */

import type { CancelWatch, WatchCallback } from "./types.ts";
import { BTree } from "./btree.ts";

class Reg {
  readonly cb: WatchCallback;
  group: Group | undefined;
  constructor(cb: WatchCallback, group: Group) {
    this.cb = cb;
    this.group = group;
  }
}

class Group {
  readonly name: string;
  readonly prefix: boolean;
  readonly regs = new Set<Reg>();
  constructor(name: string, prefix: boolean) {
    this.name = name;
    this.prefix = prefix;
  }
}

/** Groups woken by one write, to be fired after it is applied. */
export type Wakeups = Group[];

export class WatchIndex {
  private readonly keys = new Map<string, Group>();
  private readonly keysSorted = new BTree<Group>();
  private readonly prefixes = new Map<string, Group>();
  private readonly prefixesSorted = new BTree<Group>();
  /** Registered prefix lengths -> number of prefixes of that length. */
  private readonly lenCount = new Map<number, number>();
  private lens: number[] = [];
  private total = 0;

  count(): number {
    return this.total;
  }

  watchKey(key: string, cb: WatchCallback): CancelWatch {
    return this.add(key, false, cb);
  }

  watchPrefix(prefix: string, cb: WatchCallback): CancelWatch {
    return this.add(prefix, true, cb);
  }

  /** Gathers the groups a change to `key` wakes. */
  collectKey(key: string, out: Wakeups): void {
    const g = this.keys.get(key);
    if (g !== undefined) this.take(g, out);
    this.collectPrefixesOf(key, out);
  }

  /** Gathers the groups a tree delete of `prefix` wakes. */
  collectTree(prefix: string, out: Wakeups): void {
    const found: Group[] = [];
    this.keysSorted.forEachPrefix(prefix, (_k, g) => void found.push(g));
    this.prefixesSorted.forEachPrefix(prefix, (_k, g) => void found.push(g));
    for (const g of found) this.take(g, out);
    this.collectPrefixesOf(prefix, out);
  }

  /** Calls every callback of the gathered groups; a throwing callback does not stop the others. */
  fire(groups: Wakeups): void {
    let firstError: unknown;
    let failed = false;
    for (const g of groups) {
      for (const r of g.regs) {
        try {
          r.cb();
        } catch (e) {
          if (!failed) firstError = e;
          failed = true;
        }
      }
    }
    if (failed) {
      queueMicrotask(() => {
        throw firstError;
      });
    }
  }

  private collectPrefixesOf(key: string, out: Wakeups): void {
    const lens = this.lens;
    for (let i = 0; i < lens.length; i++) {
      const n = lens[i]!;
      if (n > key.length) break;
      const g = this.prefixes.get(n === key.length ? key : key.slice(0, n));
      if (g !== undefined) this.take(g, out);
    }
  }

  private add(name: string, prefix: boolean, cb: WatchCallback): CancelWatch {
    const map = prefix ? this.prefixes : this.keys;
    let g = map.get(name);
    if (g === undefined) {
      g = new Group(name, true === prefix);
      map.set(name, g);
      (prefix ? this.prefixesSorted : this.keysSorted).set(name, g);
      if (prefix) this.addLen(name.length);
    }
    const reg = new Reg(cb, g);
    g.regs.add(reg);
    this.total++;
    return () => {
      const grp = reg.group;
      if (grp === undefined) return;
      reg.group = undefined;
      grp.regs.delete(reg);
      this.total--;
      if (grp.regs.size === 0) this.unlink(grp);
    };
  }

  /** Removes a woken group from the indexes; its registrations become inert. */
  private take(g: Group, out: Wakeups): void {
    this.unlink(g);
    for (const r of g.regs) r.group = undefined;
    this.total -= g.regs.size;
    out.push(g);
  }

  private unlink(g: Group): void {
    if (g.prefix) {
      if (this.prefixes.get(g.name) !== g) return;
      this.prefixes.delete(g.name);
      this.prefixesSorted.delete(g.name);
      this.removeLen(g.name.length);
    } else {
      if (this.keys.get(g.name) !== g) return;
      this.keys.delete(g.name);
      this.keysSorted.delete(g.name);
    }
  }

  private addLen(n: number): void {
    const c = this.lenCount.get(n) ?? 0;
    this.lenCount.set(n, c + 1);
    if (c === 0) {
      this.lens.push(n);
      this.lens.sort((a, b) => a - b);
    }
  }

  private removeLen(n: number): void {
    const c = this.lenCount.get(n) ?? 0;
    if (c <= 1) {
      this.lenCount.delete(n);
      this.lens = this.lens.filter((x) => x !== n);
    } else {
      this.lenCount.set(n, c - 1);
    }
  }
}
