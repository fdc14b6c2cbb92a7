/**
 * tests/snapshot/go_interop: the archive container against Go's own archive/tar,
 * compress/gzip and crypto/sha256 (a small Go program written here, laid out as Consul's
 * snapshot/archive.go does): cairn verifies what Go writes, Go verifies what cairn
 * writes (Sscanf "%x  %s" sums, no trailing bytes), and Go catches a tampered state.bin.
 * Skipped (with a passing assertion) when no `go` toolchain is installed.
 */

import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { inspectState, readArchive, writeArchive } from "../../src/snapshot/index.ts";
import { readTar, writeTar } from "../../src/snapshot/tar.ts";
import { H, enc } from "../state/session_helpers.ts";

const GO_SRC = `package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"
)

type server struct {
	Suffrage int
	ID       string
	Address  string
}
type meta struct {
	Version            int
	ID                 string
	Index              uint64
	Term               uint64
	Peers              []byte
	Configuration      struct{ Servers []server }
	ConfigurationIndex uint64
	Size               int64
}

func write(path string, state []byte) {
	var m meta
	m.Version, m.ID, m.Index, m.Term, m.Size = 1, "3-42-1700000000000", 42, 3, int64(len(state))
	m.Configuration.Servers = []server{{0, "id1", "127.0.0.1:8300"}}
	var mb bytes.Buffer
	json.NewEncoder(&mb).Encode(&m)
	f, _ := os.Create(path)
	gz := gzip.NewWriter(f)
	tw := tar.NewWriter(gz)
	now := time.Now()
	sums := ""
	for _, e := range []struct {
		n string
		b []byte
	}{{"meta.json", mb.Bytes()}, {"state.bin", state}} {
		tw.WriteHeader(&tar.Header{Name: e.n, Mode: 0600, Size: int64(len(e.b)), ModTime: now})
		tw.Write(e.b)
		sums += fmt.Sprintf("%x  %s\\n", sha256.Sum256(e.b), e.n)
	}
	tw.WriteHeader(&tar.Header{Name: "SHA256SUMS", Mode: 0600, Size: int64(len(sums)), ModTime: now})
	tw.Write([]byte(sums))
	tw.Close()
	gz.Close()
	f.Close()
}

func verify(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(gz)
	hashes := map[string][]byte{}
	var sums []byte
	var m meta
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return err
		}
		switch h.Name {
		case "SHA256SUMS":
			sums = b
		case "meta.json":
			if err := json.Unmarshal(b, &m); err != nil {
				return err
			}
			fallthrough
		default:
			s := sha256.Sum256(b)
			hashes[h.Name] = s[:]
		}
	}
	rest, err := io.ReadAll(gz)
	if err != nil || len(rest) != 0 {
		return fmt.Errorf("trailing %d %v", len(rest), err)
	}
	sc := bufio.NewScanner(bytes.NewReader(sums))
	n := 0
	for sc.Scan() {
		sha := make([]byte, 32)
		var file string
		if _, err := fmt.Sscanf(sc.Text(), "%x  %s", &sha, &file); err != nil {
			return err
		}
		if !bytes.Equal(sha, hashes[file]) {
			return fmt.Errorf("hash check failed for %q", file)
		}
		n++
	}
	if n != 2 {
		return fmt.Errorf("%d sums", n)
	}
	fmt.Printf("ok index=%d size=%d servers=%d\\n", m.Index, m.Size, len(m.Configuration.Servers))
	return nil
}

func main() {
	switch os.Args[1] {
	case "write":
		st, _ := os.ReadFile(os.Args[3])
		write(os.Args[2], st)
	case "verify":
		if err := verify(os.Args[2]); err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
	}
}
`;

function goAvailable(): boolean {
  return spawnSync("go", ["version"], { encoding: "utf8" }).status === 0;
}

test("Go writes, cairn verifies; cairn writes, Go verifies; Go catches a tampered state.bin", async () => {
  if (!goAvailable()) {
    assert.ok(true, "no go toolchain");
    return;
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), "cairn-snap-go-"));
  try {
    writeFileSync(path.join(dir, "main.go"), GO_SRC);
    const build = spawnSync("go", ["build", "-o", "snaptool", "main.go"], {
      cwd: dir,
      encoding: "utf8",
      timeout: 120_000,
      env: { ...process.env, GO111MODULE: "off", GOFLAGS: "" },
    });
    assert.is(build.status, 0, build.stderr);
    const tool = path.join(dir, "snaptool");
    const h = new H();
    h.world("n1");
    h.apply({ type: "kv-set", key: "k", value: enc("v"), flags: 0n });
    const state = h.s.snapshot();
    writeFileSync(path.join(dir, "state.bin"), state);
    // Go -> cairn
    const w = spawnSync(tool, ["write", path.join(dir, "go.snap"), path.join(dir, "state.bin")], { encoding: "utf8", timeout: 10_000 });
    assert.is(w.status, 0, w.stderr);
    const a = await readArchive(new Uint8Array(readFileSync(path.join(dir, "go.snap"))), { maxStateBytes: 1 << 20 });
    assert.is(a.meta.index, 42);
    assert.is(a.meta.term, 3);
    assert.is(a.meta.id, "3-42-1700000000000");
    assert.equal(a.meta.servers, [{ suffrage: 0, id: "id1", address: "127.0.0.1:8300" }]);
    assert.equal(Buffer.from(a.state), Buffer.from(state));
    assert.is(inspectState(a.meta, a.state, { kvDetails: false, kvDepth: 2, kvFilter: "" }).stats.find((s) => s.name === "KVS")?.count, 1);
    // cairn -> Go
    const meta = { ...a.meta, id: "1-7-1", index: 7, term: 1 };
    const ours = path.join(dir, "cairn.snap");
    writeFileSync(ours, await writeArchive(meta, state, Date.now()));
    const v = spawnSync(tool, ["verify", ours], { encoding: "utf8", timeout: 10_000 });
    assert.is(v.status, 0, v.stdout + v.stderr);
    assert.is(v.stdout, `ok index=7 size=${state.length} servers=1\n`);
    // a tampered cairn archive: Go's check fails as Consul's would
    const ms = readTar(new Uint8Array(gunzipSync(readFileSync(ours))), { maxMemberBytes: 1 << 20, maxMembers: 8 }).members.map((m) => ({ name: m.name, data: m.data.slice() }));
    ms[1]!.data[0] = ms[1]!.data[0]! ^ 1;
    writeFileSync(path.join(dir, "bad.snap"), gzipSync(writeTar(ms, 1)));
    const bad = spawnSync(tool, ["verify", path.join(dir, "bad.snap")], { encoding: "utf8", timeout: 10_000 });
    assert.is(bad.status, 1);
    assert.is(bad.stdout, 'error: hash check failed for "state.bin"\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
