/**
 * ui/assets: the web UI's files (one HTML page, one script, one style sheet) as string
 * constants, so the Node bundle, the single executable and Deno carry them without file reads.
 * The page is vanilla JavaScript without a build step; it only talks to this agent's own
 * HTTP API (same origin) and loads nothing from other hosts.
 *
 * Must never: reference an external URL, or put API data into the page as markup (the script
 * writes data with textContent only).
 */

/** Replaced by the UI's content path (e.g. "/ui/") when the page is served. */
export const BASE_PLACEHOLDER = "__CAIRN_UI_BASE__";
/** Replaced by a short hash of the assets (cache busting). */
export const VERSION_PLACEHOLDER = "__CAIRN_UI_VERSION__";

export const INDEX_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cairn</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${BASE_PLACEHOLDER}assets/style.css?v=${VERSION_PLACEHOLDER}">
</head>
<body>
<header>
<a class="brand" href="#/services">cairn</a>
<span id="dc" class="dc"></span>
<nav>
<a href="#/services" data-nav="services">Services</a>
<a href="#/nodes" data-nav="nodes">Nodes</a>
<a href="#/kv/" data-nav="kv">Key/Value</a>
</nav>
</header>
<main id="main"><p class="muted">Loading...</p></main>
<noscript><p>This UI needs JavaScript.</p></noscript>
<script src="${BASE_PLACEHOLDER}assets/app.js?v=${VERSION_PLACEHOLDER}"></script>
</body>
</html>
`;

export const STYLE_CSS = `* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2328; background: #f6f8fa; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 20px; background: #1f2328; color: #fff; }
header a { color: #d0d7de; text-decoration: none; }
header a.brand { color: #fff; font-weight: 700; font-size: 16px; }
header nav { display: flex; gap: 14px; }
header nav a.active { color: #fff; border-bottom: 2px solid #fff; }
.dc { padding: 1px 8px; border-radius: 10px; background: #444c56; font-size: 12px; }
main { max-width: 1100px; margin: 0 auto; padding: 16px 20px; }
h1 { font-size: 20px; margin: 8px 0 12px; }
h2 { font-size: 16px; margin: 18px 0 8px; }
table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid #d0d7de; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #eaeef2; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
a { color: #0969da; }
.muted { color: #656d76; }
.error { color: #cf222e; background: #ffebe9; padding: 8px 10px; border: 1px solid #ff818266; }
.tag { display: inline-block; margin: 0 4px 2px 0; padding: 0 6px; border-radius: 8px; background: #ddf4ff; font-size: 12px; }
.count { display: inline-block; min-width: 22px; margin-right: 4px; padding: 0 6px; border-radius: 8px; text-align: center; font-size: 12px; }
.passing { background: #dafbe1; color: #116329; }
.warning { background: #fff8c5; color: #7d4e00; }
.critical { background: #ffebe9; color: #a40e26; }
pre { margin: 4px 0 0; padding: 6px 8px; max-height: 200px; overflow: auto; background: #f6f8fa; border: 1px solid #eaeef2; white-space: pre-wrap; word-break: break-all; }
textarea { width: 100%; min-height: 160px; font: 13px ui-monospace, monospace; }
input[type=text] { width: 100%; padding: 4px 6px; }
form { margin: 12px 0; padding: 10px; background: #fff; border: 1px solid #d0d7de; }
button { margin: 6px 6px 0 0; padding: 4px 12px; cursor: pointer; }
button.danger { color: #cf222e; }
.crumbs a { margin-right: 2px; }
`;

/*
 * The script: a hash router (#/services, #/services/<name>, #/nodes, #/nodes/<name>,
 * #/kv/<prefix or key>) over this agent's HTTP API. It has no backticks and no "${" so it
 * can live in a template literal; String.raw keeps its backslashes as written.
 */
export const APP_JS = String.raw`(function () {
  "use strict";
  var main = document.getElementById("main");
  var dcEl = document.getElementById("dc");
  var renderToken = 0;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === undefined || v === null) return;
        if (k === "text") e.textContent = String(v);
        else if (k === "class") e.className = v;
        else if (k.slice(0, 2) === "on") e.addEventListener(k.slice(2), v);
        else e.setAttribute(k, String(v));
      });
    }
    (children || []).forEach(function (c) {
      if (c === undefined || c === null) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }

  function encPath(p) {
    return p.split("/").map(encodeURIComponent).join("/");
  }

  function ApiError(status, text) {
    this.status = status;
    this.message = "HTTP " + status + (text ? ": " + text : "");
  }

  function api(method, path, body) {
    var init = { method: method, headers: {} };
    if (body !== undefined) init.body = body;
    return fetch(path, init).then(function (res) {
      return res.text().then(function (text) {
        if (!res.ok) throw new ApiError(res.status, text.trim());
        if (text === "") return null;
        var ct = res.headers.get("Content-Type") || "";
        return ct.indexOf("application/json") >= 0 ? JSON.parse(text) : text;
      });
    });
  }
  function get(path) { return api("GET", path); }

  function b64decode(v) {
    if (v === null || v === undefined) return "";
    var bin = atob(v);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new TextDecoder().decode(bytes);
  }

  function statusCounts(checks) {
    var c = { passing: 0, warning: 0, critical: 0 };
    checks.forEach(function (ch) {
      if (ch.Status === "passing" || ch.Status === "warning" || ch.Status === "critical") c[ch.Status]++;
      else c.critical++;
    });
    return c;
  }

  function countBadges(c) {
    return el("span", null, ["passing", "warning", "critical"].map(function (s) {
      return el("span", { class: "count " + (c[s] > 0 ? s : ""), title: s, text: c[s] });
    }));
  }

  function tags(list) {
    return el("span", null, (list || []).map(function (t) { return el("span", { class: "tag", text: t }); }));
  }

  function table(headers, rows) {
    return el("table", null, [
      el("thead", null, [el("tr", null, headers.map(function (h) { return el("th", { text: h }); }))]),
      el("tbody", null, rows.map(function (cells) {
        return el("tr", null, cells.map(function (c) {
          return el("td", null, [typeof c === "string" || typeof c === "number" ? String(c) : c]);
        }));
      })),
    ]);
  }

  function checkList(checks) {
    if (checks.length === 0) return el("span", { class: "muted", text: "no checks" });
    return el("div", null, checks.map(function (ch) {
      return el("div", null, [
        el("span", { class: "count " + ch.Status, text: ch.Status }),
        " ",
        el("strong", { text: ch.Name || ch.CheckID }),
        ch.Output ? el("pre", { text: ch.Output }) : null,
      ]);
    }));
  }

  function show(nodes) {
    main.textContent = "";
    nodes.forEach(function (n) { if (n) main.appendChild(n); });
  }

  // ---- views: each returns a promise of the nodes to show

  function viewServices() {
    return Promise.all([get("/v1/catalog/services"), get("/v1/health/state/any")]).then(function (r) {
      var services = r[0] || {};
      var checks = r[1] || [];
      var byService = {};
      checks.forEach(function (ch) {
        if (!ch.ServiceName) return;
        (byService[ch.ServiceName] = byService[ch.ServiceName] || []).push(ch);
      });
      var names = Object.keys(services).sort();
      return [
        el("h1", { text: "Services (" + names.length + ")" }),
        table(["Service", "Service checks", "Tags"], names.map(function (n) {
          return [
            el("a", { href: "#/services/" + encodeURIComponent(n), text: n }),
            countBadges(statusCounts(byService[n] || [])),
            tags(services[n]),
          ];
        })),
      ];
    });
  }

  function viewService(name) {
    return get("/v1/health/service/" + encodeURIComponent(name)).then(function (list) {
      list = list || [];
      return [
        el("p", { class: "crumbs" }, [el("a", { href: "#/services", text: "Services" }), " / "]),
        el("h1", { text: name }),
        list.length === 0 ? el("p", { class: "muted", text: "No instances." }) : null,
        table(["Instance", "Node", "Address", "Tags", "Checks"], list.map(function (e) {
          var svc = e.Service || {};
          var node = e.Node || {};
          var addr = (svc.Address || node.Address || "") + (svc.Port ? ":" + svc.Port : "");
          return [
            svc.ID || "",
            el("a", { href: "#/nodes/" + encodeURIComponent(node.Node || ""), text: node.Node || "" }),
            addr,
            tags(svc.Tags),
            checkList(e.Checks || []),
          ];
        })),
      ];
    });
  }

  function viewNodes() {
    return Promise.all([get("/v1/catalog/nodes"), get("/v1/health/state/any")]).then(function (r) {
      var nodes = r[0] || [];
      var checks = r[1] || [];
      var byNode = {};
      checks.forEach(function (ch) { (byNode[ch.Node] = byNode[ch.Node] || []).push(ch); });
      return [
        el("h1", { text: "Nodes (" + nodes.length + ")" }),
        table(["Node", "Address", "Health checks"], nodes.map(function (n) {
          return [
            el("a", { href: "#/nodes/" + encodeURIComponent(n.Node), text: n.Node }),
            n.Address || "",
            countBadges(statusCounts(byNode[n.Node] || [])),
          ];
        })),
      ];
    });
  }

  function viewNode(name) {
    var enc = encodeURIComponent(name);
    return Promise.all([get("/v1/catalog/node/" + enc), get("/v1/health/node/" + enc)]).then(function (r) {
      var info = r[0];
      var checks = r[1] || [];
      if (!info || !info.Node) return [el("h1", { text: name }), el("p", { class: "muted", text: "No such node." })];
      var services = info.Services || {};
      var ids = Object.keys(services).sort();
      return [
        el("p", { class: "crumbs" }, [el("a", { href: "#/nodes", text: "Nodes" }), " / "]),
        el("h1", { text: name }),
        el("p", { class: "muted", text: "Address " + (info.Node.Address || "") }),
        el("h2", { text: "Health checks" }),
        checkList(checks),
        el("h2", { text: "Services (" + ids.length + ")" }),
        table(["Service", "ID", "Port", "Tags"], ids.map(function (id) {
          var s = services[id];
          return [
            el("a", { href: "#/services/" + encodeURIComponent(s.Service), text: s.Service }),
            s.ID,
            s.Port ? String(s.Port) : "",
            tags(s.Tags),
          ];
        })),
      ];
    });
  }

  function kvCrumbs(path) {
    var parts = path.split("/");
    var out = [el("a", { href: "#/kv/", text: "Key/Value" }), " / "];
    var acc = "";
    for (var i = 0; i < parts.length - 1; i++) {
      acc += parts[i] + "/";
      out.push(el("a", { href: "#/kv/" + encPath(acc), text: parts[i] }), " / ");
    }
    return el("p", { class: "crumbs" }, out);
  }

  function parentOf(key) {
    var trimmed = key.charAt(key.length - 1) === "/" ? key.slice(0, -1) : key;
    var i = trimmed.lastIndexOf("/");
    return i < 0 ? "" : trimmed.slice(0, i + 1);
  }

  function viewKvFolder(prefix) {
    return api("GET", "/v1/kv/" + encPath(prefix) + "?keys&separator=/").catch(function (e) {
      if (e instanceof ApiError && e.status === 404) return [];
      throw e;
    }).then(function (keys) {
      keys = (keys || []).filter(function (k) { return k !== prefix; });
      var nameIn = el("input", { type: "text", placeholder: "key, or folder/ to create a folder", required: "required" });
      var valueIn = el("textarea", { placeholder: "value" });
      var form = el("form", {
        onsubmit: function (ev) {
          ev.preventDefault();
          var key = prefix + nameIn.value;
          var isFolder = key.charAt(key.length - 1) === "/";
          api("PUT", "/v1/kv/" + encPath(key), isFolder ? "" : valueIn.value).then(function () {
            location.hash = "#/kv/" + encPath(isFolder ? key : prefix);
            route();
          }, showError);
        },
      }, [el("h2", { text: "Create" }), nameIn, valueIn, el("button", { type: "submit", text: "Save" })]);
      var nodes = [
        kvCrumbs(prefix),
        el("h1", { text: prefix === "" ? "Key/Value" : prefix }),
        keys.length === 0 ? el("p", { class: "muted", text: "No keys." }) : table(["Key"], keys.map(function (k) {
          return [el("a", { href: "#/kv/" + encPath(k), text: k.slice(prefix.length) })];
        })),
        form,
      ];
      if (prefix !== "") {
        nodes.push(el("button", {
          class: "danger", type: "button", text: "Delete folder " + prefix,
          onclick: function () {
            if (!confirm("Delete " + prefix + " and every key under it?")) return;
            api("DELETE", "/v1/kv/" + encPath(prefix) + "?recurse").then(function () {
              location.hash = "#/kv/" + encPath(parentOf(prefix));
            }, showError);
          },
        }));
      }
      return nodes;
    });
  }

  function viewKvKey(key) {
    return api("GET", "/v1/kv/" + encPath(key)).catch(function (e) {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    }).then(function (list) {
      var entry = list && list[0];
      if (!entry) return [kvCrumbs(key), el("h1", { text: key }), el("p", { class: "muted", text: "No such key." })];
      var valueIn = el("textarea", null);
      valueIn.value = b64decode(entry.Value);
      var form = el("form", {
        onsubmit: function (ev) {
          ev.preventDefault();
          api("PUT", "/v1/kv/" + encPath(key) + "?cas=" + entry.ModifyIndex, valueIn.value).then(function (ok) {
            if (ok === false) showError(new Error("The key changed since it was loaded; reload to see the new value."));
            else route();
          }, showError);
        },
      }, [
        valueIn,
        el("button", { type: "submit", text: "Save" }),
        el("button", {
          class: "danger", type: "button", text: "Delete",
          onclick: function () {
            if (!confirm("Delete " + key + "?")) return;
            api("DELETE", "/v1/kv/" + encPath(key)).then(function () {
              location.hash = "#/kv/" + encPath(parentOf(key));
            }, showError);
          },
        }),
      ]);
      return [
        kvCrumbs(key),
        el("h1", { text: key }),
        el("p", { class: "muted", text: "Flags " + entry.Flags + ", ModifyIndex " + entry.ModifyIndex + (entry.Session ? ", locked by session " + entry.Session : "") }),
        form,
      ];
    });
  }

  function showError(e) {
    var msg = e && e.message ? e.message : String(e);
    var box = el("p", { class: "error", text: msg });
    main.insertBefore(box, main.firstChild);
  }

  function decodeSeg(s) {
    try { return decodeURIComponent(s); } catch (e) { return s; }
  }

  function route() {
    var hash = location.hash.replace(/^#/, "");
    if (hash === "" || hash === "/") { location.replace("#/services"); return; }
    var parts = hash.split("/").slice(1);
    var section = parts[0];
    var rest = parts.slice(1).map(decodeSeg).join("/");
    var nav = document.querySelectorAll("header nav a");
    for (var i = 0; i < nav.length; i++) {
      nav[i].className = nav[i].getAttribute("data-nav") === section ? "active" : "";
    }
    var p;
    if (section === "services") p = rest === "" ? viewServices() : viewService(rest);
    else if (section === "nodes") p = rest === "" ? viewNodes() : viewNode(rest);
    else if (section === "kv") p = rest === "" || rest.charAt(rest.length - 1) === "/" ? viewKvFolder(rest) : viewKvKey(rest);
    else p = Promise.resolve([el("h1", { text: "Not found" }), el("p", { class: "muted", text: "No page " + hash })]);
    var token = ++renderToken;
    p.then(function (nodes) {
      if (token === renderToken) show(nodes);
    }, function (e) {
      if (token !== renderToken) return;
      show([]);
      showError(e);
    });
  }

  get("/v1/agent/self").then(function (self) {
    var cfg = (self && self.Config) || {};
    dcEl.textContent = cfg.Datacenter || "";
    document.title = "cairn - " + (cfg.Datacenter || "") + (cfg.NodeName ? " - " + cfg.NodeName : "");
  }, function () { /* the views show API errors */ });

  window.addEventListener("hashchange", route);
  route();
})();
`;
