"""
tests/e2e/clients/python_consul.py PORT: drive a cairn agent with python-consul (Debian's python3-consul)
the way its users do, and print one JSON object of observations for tests/e2e/python_consul.test.ts
to assert on. Exceptions are caught per step and reported, so one failure never hides the others.
Must never: talk to anything but 127.0.0.1:PORT.
"""
import json
import sys
import threading
import time

import consul

port = int(sys.argv[1])
c = consul.Consul(host="127.0.0.1", port=port)
out = {}


def step(name):
    def wrap(fn):
        try:
            out[name] = fn()
        except Exception as e:  # noqa: BLE001 - reported, asserted by the test
            out[name] = {"error": "%s: %s" % (type(e).__name__, e)}
        return fn
    return wrap


@step("kv")
def _():
    r = {}
    r["put"] = c.kv.put("py/a", "one")
    r["put_flags"] = c.kv.put("py/b", "two", flags=7)
    idx, v = c.kv.get("py/a")
    r["index_positive"] = int(idx) > 0
    r["get"] = v["Value"].decode()
    _, b = c.kv.get("py/b")
    r["flags"] = b["Flags"]
    _, keys = c.kv.get("py/", keys=True)
    r["keys"] = keys
    _, rec = c.kv.get("py/", recurse=True)
    r["recurse"] = [e["Key"] for e in rec]
    _, missing = c.kv.get("py/none")
    r["missing"] = missing
    r["cas_bad"] = c.kv.put("py/a", "x", cas=1)
    r["cas_good"] = c.kv.put("py/a", "three", cas=v["ModifyIndex"])
    r["delete"] = c.kv.delete("py/", recurse=True)
    _, gone = c.kv.get("py/", recurse=True)
    r["after_delete"] = gone
    return r


@step("blocking")
def _():
    idx, _ = c.kv.get("blk/k")
    result = {}

    def writer():
        time.sleep(0.3)
        consul.Consul(host="127.0.0.1", port=port).kv.put("blk/k", "woken")

    t = threading.Thread(target=writer)
    t0 = time.time()
    t.start()
    idx2, v = c.kv.get("blk/k", index=idx, wait="5s")
    t.join()
    result["value"] = v["Value"].decode() if v else None
    result["index_grew"] = int(idx2) > int(idx)
    result["woke_early"] = time.time() - t0 < 4.0
    return result


@step("services")
def _():
    r = {}
    r["register_web"] = c.agent.service.register(
        "web", service_id="web-1", address="127.0.0.1", port=8080, tags=["v1", "primary"],
        check=consul.Check.ttl("30s"))
    r["register_db"] = c.agent.service.register("db", service_id="db-1", port=5432)
    r["agent_services"] = sorted(c.agent.services().keys())
    # python-consul 0.7.1 sends these agent calls as GET, which Consul >= 1.0 answers with 405
    # (PUT only): False here, as against Consul. Its own HTTP layer does the PUT.
    r["ttl_pass_get"] = c.agent.check.ttl_pass("service:web-1", "all good")
    r["ttl_pass_put"] = c.http.put(consul.base.CB.bool(), "/v1/agent/check/pass/service:web-1", params=[("note", "all good")])
    _, catalog = c.catalog.services()
    r["catalog_services"] = {k: sorted(v) for k, v in catalog.items()}
    _, nodes = c.catalog.service("web")
    r["catalog_service"] = [(n["ServiceID"], n["ServicePort"], sorted(n["ServiceTags"])) for n in nodes]
    _, healthy = c.health.service("web", passing=True)
    r["healthy"] = [e["Service"]["ID"] for e in healthy]
    r["ttl_fail_put"] = c.http.put(consul.base.CB.bool(), "/v1/agent/check/fail/service:web-1", params=[("note", "broken")])
    _, healthy2 = c.health.service("web", passing=True)
    r["healthy_after_fail"] = [e["Service"]["ID"] for e in healthy2]
    _, crit = c.health.state("critical")
    r["critical_checks"] = sorted(x["CheckID"] for x in crit)
    _, tagged = c.catalog.service("web", tag="primary")
    r["by_tag"] = len(tagged)
    r["deregister_get"] = c.agent.service.deregister("db-1")
    r["deregister_put"] = c.http.put(consul.base.CB.bool(), "/v1/agent/service/deregister/db-1")
    r["agent_services_after"] = sorted(c.agent.services().keys())
    return r


@step("sessions")
def _():
    r = {}
    sid = c.session.create(name="py-lock", ttl=30, behavior="delete")
    r["sid_len"] = len(sid)
    r["acquire"] = c.kv.put("lock/py", "me", acquire=sid)
    r["acquire_again_other"] = c.kv.put("lock/py", "other", acquire=c.session.create(name="other"))
    _, e = c.kv.get("lock/py")
    r["holder_is_sid"] = e.get("Session") == sid
    _, info = c.session.info(sid)
    r["info_name"] = info["Name"]
    _, lst = c.session.list()
    r["listed"] = any(s["ID"] == sid for s in lst)
    r["renew"] = c.session.renew(sid)["ID"] == sid
    r["destroy"] = c.session.destroy(sid)
    _, after = c.kv.get("lock/py")
    r["deleted_with_session"] = after is None
    return r


@step("misc")
def _():
    r = {}
    r["leader"] = c.status.leader()
    r["peers"] = c.status.peers()
    me = c.agent.self()
    r["self_has_config"] = "Config" in me and "NodeName" in me["Config"]
    r["members"] = len(c.agent.members())
    ev = c.event.fire("py-deploy", body="v2")
    r["event_name"] = ev["Name"]
    _, evs = c.event.list(name="py-deploy")
    r["event_listed"] = [e["Name"] for e in evs]
    _, nodes = c.catalog.nodes()
    r["nodes"] = len(nodes)
    r["datacenters"] = c.catalog.datacenters()
    return r


@step("errors")
def _():
    r = {}
    try:
        c.kv.get("x", index="notanumber")
        r["bad_index"] = "no error"
    except consul.ConsulException as e:
        r["bad_index"] = type(e).__name__
    r["deregister_missing"] = c.http.put(consul.base.CB.bool(), "/v1/agent/service/deregister/does-not-exist")
    # Status and body of an oversized value, through the client's HTTP layer (its kv.put would
    # try to parse Consul's plain-text 413 body as JSON).
    r["oversized"] = c.http.put(lambda resp: [resp.code, resp.body], "/v1/kv/big", data="x" * (512 * 1024 + 1))
    try:
        c.http.put(consul.base.CB.json(), "/v1/session/create", data='{"TTL": "5s"}')
        r["bad_ttl"] = "no error"
    except consul.ConsulException as e:
        r["bad_ttl"] = str(e)
    return r


print(json.dumps(out, sort_keys=True))
