// Connect CA configuration: defaults, agent ca_config translation, PUT body checks, and
// Consul's validation texts for bad key types/bits and TTL bounds (all bad-request).
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  caConfigFromAgent,
  defaultCAConfig,
  formatGoDuration,
  parseCAConfigPut,
  parseGoDurationMs,
  parseProviderSettings,
  providerState,
} from "../../src/connect/index.ts";
import { CairnError } from "../../src/shared/errors.ts";

const H = 3_600_000;

function badRequest(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CairnError, `expected CairnError, got ${String(e)}`);
    assert.is((e as CairnError).kind, "bad-request");
    return (e as CairnError).message;
  }
  assert.unreachable("expected a bad-request error");
  return "";
}

test("defaults match Consul (72h / 8760h / 87600h, ec 256, CSRMaxPerSecond 50)", () => {
  const cfg = defaultCAConfig();
  assert.equal(cfg.Provider, "consul");
  assert.equal(cfg.Config, { LeafCertTTL: "72h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h" });
  assert.is(cfg.State, null);
  assert.is(cfg.ForceWithoutCrossSigning, false);
  const s = parseProviderSettings(cfg.Config);
  assert.is(s.leafCertTTLMs, 72 * H);
  assert.is(s.intermediateCertTTLMs, 8760 * H);
  assert.is(s.rootCertTTLMs, 87600 * H);
  assert.is(s.privateKeyType, "ec");
  assert.is(s.privateKeyBits, 256);
  assert.is(s.csrMaxPerSecond, 50);
});

test("agent ca_config: snake_case keys translated, cluster_id taken out, values weakly typed", () => {
  const r = caConfigFromAgent({
    ca_provider: "consul",
    ca_config: {
      cluster_id: "11111111-2222-3333-4444-555555555555",
      private_key_type: "rsa",
      private_key_bits: "2048",
      leaf_cert_ttl: "24h",
      intermediate_cert_ttl: "720h",
      root_cert_ttl: "8760h",
      csr_max_per_second: 10,
    },
  });
  assert.is(r.clusterId, "11111111-2222-3333-4444-555555555555");
  assert.equal(r.config.Config, {
    LeafCertTTL: "24h",
    IntermediateCertTTL: "720h",
    RootCertTTL: "8760h",
    PrivateKeyType: "rsa",
    PrivateKeyBits: "2048",
    CSRMaxPerSecond: 10,
  });
  assert.is(r.settings.privateKeyType, "rsa");
  assert.is(r.settings.privateKeyBits, 2048);
  assert.is(r.settings.leafCertTTLMs, 24 * H);
  assert.is(r.settings.rootCertTTLMs, 8760 * H);
  assert.is(r.settings.csrMaxPerSecond, 10);
  assert.is(caConfigFromAgent({}).clusterId, undefined);
});

test("bad private key type and bits give Consul's texts", () => {
  assert.is(
    badRequest(() => caConfigFromAgent({ ca_config: { private_key_type: "dsa" } })),
    "private key type must be either 'ec' or 'rsa'",
  );
  assert.is(
    badRequest(() => caConfigFromAgent({ ca_config: { private_key_bits: 512 } })),
    "EC key length must be one of (224, 256, 384, 521) bits",
  );
  assert.is(
    badRequest(() => caConfigFromAgent({ ca_config: { private_key_type: "rsa", private_key_bits: 1024 } })),
    "RSA key length must be 2048 or 4096 bits",
  );
  assert.is(
    badRequest(() => caConfigFromAgent({ ca_config: { private_key_type: "rsa" } })),
    "RSA key length must be 2048 or 4096 bits",
    "rsa with the default 256 bits",
  );
  assert.match(badRequest(() => caConfigFromAgent({ ca_config: { private_key_bits: 224 } })), /P-224/);
  for (const bits of [256, 384, 521]) {
    assert.is(caConfigFromAgent({ ca_config: { private_key_bits: bits } }).settings.privateKeyBits, bits);
  }
});

test("TTL bounds give Consul's texts, in Consul's order", () => {
  const t = (c: Record<string, unknown>): string => badRequest(() => caConfigFromAgent({ ca_config: c }));
  assert.is(t({ leaf_cert_ttl: "30m" }), "leaf cert TTL must be greater or equal than 1h0m0s");
  assert.is(t({ leaf_cert_ttl: "8761h" }), "leaf cert TTL must be less than 8760h0m0s");
  assert.is(
    t({ root_cert_ttl: "1000h" }),
    "root cert TTL is set and is not greater than intermediate cert ttl. root cert ttl: 1000h0m0s, intermediate cert ttl: 8760h0m0s",
  );
  assert.is(t({ intermediate_cert_ttl: "2h", leaf_cert_ttl: "1h" }), "Intermediate Cert TTL must be greater or equal than 3h");
  assert.is(
    t({ intermediate_cert_ttl: "100h" }),
    "Intermediate Cert TTL must be greater or equal than 3 * LeafCertTTL (>=216h0m0s).",
  );
  // Exactly at the bounds is fine.
  assert.is(caConfigFromAgent({ ca_config: { leaf_cert_ttl: "1h" } }).settings.leafCertTTLMs, H);
  assert.is(
    caConfigFromAgent({ ca_config: { leaf_cert_ttl: "8760h", intermediate_cert_ttl: "26280h" } }).settings.leafCertTTLMs,
    8760 * H,
  );
});

test("undecodable values give mapstructure-style decode errors", () => {
  assert.is(
    badRequest(() => caConfigFromAgent({ ca_config: { leaf_cert_ttl: "abc" } })),
    "error decoding config: 1 error(s) decoding:\n\n* error decoding 'LeafCertTTL': time: invalid duration \"abc\"",
  );
  assert.match(
    badRequest(() => caConfigFromAgent({ ca_config: { private_key_bits: "lots" } })),
    "cannot parse 'PrivateKeyBits' as int",
  );
  assert.match(badRequest(() => caConfigFromAgent({ ca_config: { leaf_cert_ttl: "3d" } })), 'unknown unit "d"');
});

test("cluster_id and provider checks", () => {
  assert.is(
    badRequest(() => caConfigFromAgent({ ca_config: { cluster_id: "not-a-uuid" } })),
    "cluster_id was supplied but was not a valid UUID",
  );
  assert.is(
    badRequest(() => caConfigFromAgent({ ca_config: { cluster_id: 7 } })),
    "cluster_id was supplied but was not a string",
  );
  assert.is(badRequest(() => caConfigFromAgent({ ca_provider: "acme" })), "acme is not a valid CA provider");
  assert.match(badRequest(() => caConfigFromAgent({ ca_provider: "vault" })), "not supported by cairn");
});

test("PUT: same config is a no-op; TTL change keeps the root; key change rotates", () => {
  const cur = defaultCAConfig();
  const same = parseCAConfigPut({ Provider: "consul", Config: { ...cur.Config } }, cur);
  assert.is(same.noop, true);
  const ttl = parseCAConfigPut({ Provider: "consul", Config: { LeafCertTTL: "24h" } }, cur);
  assert.is(ttl.noop, false);
  assert.is(ttl.rotate, false);
  assert.is(ttl.settings.leafCertTTLMs, 24 * H);
  assert.is(ttl.settings.rootCertTTLMs, 87600 * H, "missing keys fall back to defaults");
  const rsa = parseCAConfigPut(
    { Provider: "consul", Config: { PrivateKeyType: "rsa", PrivateKeyBits: 2048 }, ForceWithoutCrossSigning: true },
    cur,
  );
  assert.is(rsa.rotate, true);
  assert.is(rsa.config.ForceWithoutCrossSigning, true);
  // mapstructure matches field names case-insensitively.
  const lower = parseCAConfigPut({ Provider: "consul", Config: { privatekeybits: 384 } }, cur);
  assert.is(lower.settings.privateKeyBits, 384);
  assert.is(lower.rotate, true);
});

test("PUT as the Go api test sends it: ns durations, empty PrivateKey, test_state passed through to State", () => {
  const cur = defaultCAConfig();
  const NS_PER_H = 3_600_000_000_000;
  // api TestAPI_ConnectCAConfig_get_set: Go's json encodes time.Duration values as integer nanoseconds.
  const body = {
    Provider: "consul",
    Config: { ...cur.Config, PrivateKey: "", IntermediateCertTTL: 300 * 24 * NS_PER_H, RootCertTTL: 11 * 365 * 24 * NS_PER_H, test_state: { foo: "bar" } },
    State: null,
  };
  const r = parseCAConfigPut(body, cur);
  assert.is(r.noop, false);
  assert.is(r.rotate, false, "an empty PrivateKey keeps the key identity");
  assert.is(r.settings.intermediateCertTTLMs, 300 * 24 * H);
  assert.is(r.settings.rootCertTTLMs, 11 * 365 * 24 * H);
  assert.equal(r.config.State, { foo: "bar" });
  // Without test_state the provider reports no state, unless it was handed one.
  assert.is(parseCAConfigPut({ Provider: "consul", Config: { LeafCertTTL: "24h" } }, cur).config.State, null);
  const withState = { ...cur, State: { foo: "bar" } };
  const kept = parseCAConfigPut({ Provider: "consul", Config: { LeafCertTTL: "24h" }, State: { foo: "bar" } }, withState);
  assert.equal(kept.config.State, { foo: "bar" });
  assert.equal(providerState({ test_state: { a: "1", n: 2 } }, null), { a: "1" }, "only string values, like Consul");
});

test("PUT: bad values are 400 with Consul's 'error configuring provider' prefix", () => {
  const cur = defaultCAConfig();
  assert.is(
    badRequest(() => parseCAConfigPut({ Provider: "consul", Config: { PrivateKeyType: "dsa" } }, cur)),
    "error configuring provider: private key type must be either 'ec' or 'rsa'",
  );
  assert.is(
    badRequest(() => parseCAConfigPut({ Provider: "consul", Config: { LeafCertTTL: "10m" } }, cur)),
    "error configuring provider: leaf cert TTL must be greater or equal than 1h0m0s",
  );
  assert.is(
    badRequest(() => parseCAConfigPut({ Provider: "consul", Config: {}, State: { foo: "bar" } }, cur)),
    "Provider State is read-only. It must be omitted or identical to the current value",
  );
  assert.match(badRequest(() => parseCAConfigPut("nope", cur)), /^Request decode failed/);
  assert.match(badRequest(() => parseCAConfigPut({ Provider: "nope", Config: {} }, cur)), 'unknown CA provider "nope"');
});

test("Go durations parse and print like Go", () => {
  assert.is(parseGoDurationMs("72h"), 72 * H);
  assert.is(parseGoDurationMs("1h30m"), 1.5 * H);
  assert.is(parseGoDurationMs("1.5h"), 1.5 * H);
  assert.is(parseGoDurationMs("250ms"), 250);
  assert.is(parseGoDurationMs("0"), 0);
  assert.is(formatGoDuration(H), "1h0m0s");
  assert.is(formatGoDuration(8760 * H), "8760h0m0s");
  assert.is(formatGoDuration(90_000), "1m30s");
  assert.is(formatGoDuration(1500), "1.5s");
  assert.is(formatGoDuration(250), "250ms");
  assert.is(formatGoDuration(0), "0s");
  assert.throws(() => parseGoDurationMs("10"), /missing unit/);
  assert.throws(() => parseGoDurationMs(""), /invalid duration/);
});

test.run();
