/**
 * http/ui: serving the built-in web UI (src/ui) when ui_config.enabled is set, as Consul's
 * uiserver does: GET/HEAD <content path>assets/<file> answers that asset, every other path
 * under the content path (and the content path itself) answers the page (the UI routes with
 * #/... on the client), /robots.txt disallows crawling, and "/" redirects to the content
 * path with 301 Moved Permanently (Consul's Index handler). "/ui" without the slash is sent
 * to "/ui/" by the router's subtree redirect. Replies are bare: Consul's UI handler is not
 * wrapped (no ACL-policy header, no gzip), but gets the configured response headers.
 * Client agents and WAN forwarding never forward paths outside /v1/ (isAgentLocal), so
 * every agent serves its own UI.
 *
 * Must never: read files, or answer a path outside the content path (besides "/" and /robots.txt).
 */

import { buildUiBundle, type UiBundle, type UiFile } from "../ui/index.ts";
import type { Handler } from "./context.ts";
import type { Reply } from "./respond.ts";
import type { Route } from "./router.ts";

/** The page may only load same-origin scripts and styles (it has no inline code). */
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

function fileReply(f: UiFile, extra: Record<string, string> = {}): Reply {
  return {
    status: 200,
    headers: { "Cache-Control": f.cacheControl, "X-Content-Type-Options": "nosniff", ...extra },
    body: { kind: "text", data: f.body, contentType: f.contentType },
    bare: true,
  };
}

/** The UI's handler for the content-path subtree. */
export function uiHandler(bundle: UiBundle): Handler {
  const page = fileReply(bundle.index, { "Content-Security-Policy": CSP });
  const assets = new Map<string, Reply>();
  for (const [name, f] of bundle.assets) assets.set(name, fileReply(f));
  const assetPrefix = bundle.contentPath + "assets/";
  return (ctx) => {
    if (ctx.path.startsWith(assetPrefix)) {
      const a = assets.get(ctx.path.slice(assetPrefix.length));
      if (a !== undefined) return a;
    }
    return page; // SPA fallback
  };
}

/** Consul's Index with the UI on: http.Redirect(…, contentPath, 301). */
export function rootRedirect(contentPath: string): Reply {
  const href = contentPath.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  return {
    status: 301,
    headers: { Location: contentPath },
    body: { kind: "text", data: Buffer.from(`<a href="${href}">Moved Permanently</a>.\n\n`, "utf8"), contentType: "text/html; charset=utf-8" },
    bare: true,
  };
}

/** The routes the UI adds to the table (built once per server). */
export function uiRoutes(contentPath: string): Route[] {
  const bundle = buildUiBundle(contentPath);
  const robots = fileReply(bundle.robots);
  return [
    { pattern: bundle.contentPath, methods: ["GET", "HEAD"], handler: uiHandler(bundle) },
    { pattern: "/robots.txt", methods: ["GET", "HEAD"], handler: () => robots },
  ];
}
