// SPIFFE URI building/parsing and the /v1/agent/connect/authorize decision
// (default allow with ACLs disabled; Consul's 400 texts for bad requests).
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  authorize,
  parseAuthorizeRequest,
  parseSpiffeURI,
  serviceURI,
  signingURI,
  trustDomainFor,
} from "../../src/connect/index.ts";
import { CairnError } from "../../src/shared/errors.ts";

const TD = trustDomainFor("11111111-2222-3333-4444-555555555555");

test("SPIFFE URIs: signing, service (default and partitioned), agent; junk rejected", () => {
  assert.is(TD, "11111111-2222-3333-4444-555555555555.consul");
  assert.is(signingURI(TD), `spiffe://${TD}`);
  assert.is(serviceURI(TD, "dc1", "web"), `spiffe://${TD}/ns/default/dc/dc1/svc/web`);
  assert.is(serviceURI(TD, "dc1", "web", "team", "part"), `spiffe://${TD}/ap/part/ns/team/dc/dc1/svc/web`);
  assert.equal(parseSpiffeURI(`spiffe://${TD}/ns/default/dc/dc1/svc/web`), {
    kind: "service",
    trustDomain: TD,
    partition: "default",
    namespace: "default",
    datacenter: "dc1",
    service: "web",
  });
  assert.equal(parseSpiffeURI(`spiffe://${TD}`), { kind: "signing", trustDomain: TD });
  assert.is(parseSpiffeURI(`spiffe://${TD}/agent/client/dc/dc1/id/node1`)?.kind, "agent");
  assert.is(parseSpiffeURI(`spiffe://${TD}/ap/p1/ns/n/dc/d/svc/s`)?.kind, "service");
  assert.is(parseSpiffeURI("https://example.com/ns/default/dc/dc1/svc/web"), undefined);
  assert.is(parseSpiffeURI(`spiffe://${TD}/ns/default/svc/web`), undefined);
});

test("authorize: default allow while ACLs are disabled", () => {
  const r = authorize(
    parseAuthorizeRequest({ Target: "db", ClientCertURI: `spiffe://${TD}/ns/default/dc/dc1/svc/web`, ClientCertSerial: "01" }),
    { aclsEnabled: false },
  );
  assert.equal(r, { Authorized: true, Reason: "ACLs disabled, access is allowed by default" });
  const deny = authorize(
    { Target: "db", ClientCertURI: `spiffe://${TD}/ns/default/dc/dc1/svc/web` },
    { aclsEnabled: true, aclDefaultAllow: false },
  );
  assert.equal(deny, { Authorized: false, Reason: "Default behavior configured by ACLs" });
  const matched = authorize(
    { Target: "db", ClientCertURI: `spiffe://${TD}/ns/default/dc/dc1/svc/web` },
    {
      aclsEnabled: false,
      matchIntention: (src, target) =>
        src.service === "web" && target === "db" ? { Authorized: false, Reason: "Matched L4 intention: web => db (deny)" } : undefined,
    },
  );
  assert.is(matched.Authorized, false);
});

test("authorize: Consul's 400 texts", () => {
  const bad = (body: unknown): string => {
    try {
      authorize(parseAuthorizeRequest(body), { aclsEnabled: false });
    } catch (e) {
      assert.ok(e instanceof CairnError && e.kind === "bad-request");
      return (e as Error).message;
    }
    return "no error";
  };
  assert.is(bad(null), "Invalid request");
  assert.is(bad({ ClientCertURI: `spiffe://${TD}/ns/default/dc/dc1/svc/web` }), "Target service must be specified");
  assert.is(bad({ Target: "db", ClientCertURI: "nope" }), "ClientCertURI not a valid Connect identifier");
  assert.is(
    bad({ Target: "db", ClientCertURI: `spiffe://${TD}/agent/client/dc/dc1/id/n1` }),
    "ClientCertURI not a valid Service identifier",
  );
});

test.run();
