/**
 * http/router: the route table and Consul's wrap() rules around every handler.
 *
 * Patterns behave like Go's ServeMux: a pattern ending in "/" matches a subtree (longest
 * wins), "/v1/kv" redirects to "/v1/kv/", and unclean paths ("//", "/./", "/../") redirect
 * to their clean form. Per route: OPTIONS -> 200 with Allow (OPTIONS + methods); other
 * methods -> 405 "method X not allowed" with the same Allow header; unknown paths go to
 * Consul's Index handler: 404 "Invalid URL path: ..." (one text for paths containing
 * "/v1/", another for the rest), "/" answers that the UI is disabled (or, with the UI on,
 * the `index` reply the server passes: a redirect to the UI, see ui.ts).
 *
 * Must never: run a handler for a method its route does not allow.
 */

import { CairnError, isCairnError } from "../shared/errors.ts";
import type { Env, Handler, RequestCtx } from "./context.ts";
import { errorReply, NO_BODY, type Reply, textReply } from "./respond.ts";

export interface Route {
  /** Exact path, or a subtree when it ends with "/". */
  readonly pattern: string;
  readonly methods: readonly string[];
  readonly handler: Handler;
}

/** Consul's Index handler texts (written with Fprintln, hence the newline). */
export const INVALID_URL_PATH_V1 = "Invalid URL path: not a recognized HTTP API endpoint\n";
export const INVALID_URL_PATH =
  "Invalid URL path: if attempting to use the HTTP API, ensure the path starts with '/v1/'\n";
export const INDEX_NO_UI =
  "Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.";

/** Go's path.Clean, keeping a trailing slash as ServeMux does. */
export function cleanPath(p: string): string {
  if (p === "") return "/";
  const rooted = p.startsWith("/");
  const parts: string[] = [];
  for (const seg of p.split("/")) {
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (parts.length > 0) parts.pop();
      continue;
    }
    parts.push(seg);
  }
  let out = (rooted ? "/" : "") + parts.join("/");
  if (out === "") out = "/";
  if (p.endsWith("/") && out !== "/") out += "/";
  return out;
}

/** Whether cleanPath could change `p` (most paths are clean: skip the split). */
export function needsClean(p: string): boolean {
  if (p.charCodeAt(0) !== 47) return true;
  return p.includes("//") || p.includes("/./") || p.includes("/../") || p.endsWith("/.") || p.endsWith("/..");
}

/** Escape a decoded path for a Location header (keeps "/"). */
function escapePath(p: string): string {
  return p
    .split("/")
    .map((s) => encodeURIComponent(s).replace(/%2C/g, ",").replace(/%3A/g, ":").replace(/%40/g, "@"))
    .join("/");
}

export class Router {
  private readonly exact = new Map<string, Route>();
  private readonly subtrees: Route[] = [];
  private readonly index: Reply;

  constructor(routes: readonly Route[], opts: { readonly index?: Reply | undefined } = {}) {
    this.index = opts.index ?? { ...textReply(200, INDEX_NO_UI), bare: true };
    for (const r of routes) {
      if (r.pattern.endsWith("/")) this.subtrees.push(r);
      else this.exact.set(r.pattern, r);
    }
    this.subtrees.sort((a, b) => b.pattern.length - a.pattern.length);
  }

  match(path: string): Route | undefined {
    const e = this.exact.get(path);
    if (e) return e;
    for (const r of this.subtrees) if (path.startsWith(r.pattern)) return r;
    return undefined;
  }

  /**
   * Route a request to a reply (undefined: nothing to send, the client left). Synchronous
   * when the handler is: a promise only when the handler returned one (its CairnErrors are
   * the caller's to answer with errorReply). `route` is this.match(ctx.path), if known.
   */
  dispatch(
    ctx: RequestCtx,
    env: Env,
    rawQuery: string,
    route: Route | undefined = this.match(ctx.path),
  ): Reply | undefined | Promise<Reply | undefined> {
    if (needsClean(ctx.path)) {
      const clean = cleanPath(ctx.path);
      if (clean !== ctx.path) return redirect(clean, rawQuery);
    }
    if (!route) {
      // ServeMux sends "/v1/kv" to the "/v1/kv/" subtree with a redirect.
      const sub = this.subtrees.find((r) => r.pattern === ctx.path + "/");
      if (sub) return redirect(ctx.path + "/", rawQuery);
      if (ctx.path === "/") return this.index;
      return { ...textReply(404, ctx.path.includes("/v1/") ? INVALID_URL_PATH_V1 : INVALID_URL_PATH), bare: true };
    }
    if (ctx.method === "OPTIONS") {
      return { status: 200, headers: { Allow: ["OPTIONS", ...route.methods].join(",") }, body: NO_BODY };
    }
    if (!route.methods.includes(ctx.method)) {
      return errorReply(new CairnError("method-not-allowed", `method ${ctx.method} not allowed`), {
        Allow: ["OPTIONS", ...route.methods].join(","),
      });
    }
    try {
      return route.handler(ctx, env);
    } catch (e) {
      if (isCairnError(e)) return errorReply(e);
      throw e;
    }
  }
}

function redirect(path: string, rawQuery: string): Reply {
  const loc = escapePath(path) + (rawQuery !== "" ? "?" + rawQuery : "");
  return { status: 301, headers: { Location: loc }, body: NO_BODY, bare: true };
}
