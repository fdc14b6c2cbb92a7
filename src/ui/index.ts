/**
 * ui: the public face of the built-in web UI. buildUiBundle(contentPath) renders the files
 * once for a content path ("/ui/" by default): the page (with its asset URLs under that
 * path and a content hash for cache busting), the assets by file name, and robots.txt, each
 * with its Content-Type and Cache-Control. src/http/ui.ts serves them.
 *
 * Must never: read files at run time (the assets are constants), or accept a content path
 * that could break out of an HTML attribute.
 */

import { createHash } from "node:crypto";
import { UI_ASSET_MAX_AGE_S } from "../shared/limits.ts";
import { APP_JS, BASE_PLACEHOLDER, INDEX_HTML, STYLE_CSS, VERSION_PLACEHOLDER } from "./assets.ts";

export interface UiFile {
  readonly contentType: string;
  readonly cacheControl: string;
  readonly body: Buffer;
}

export interface UiBundle {
  /** The content path the page was rendered for (leading and trailing "/"). */
  readonly contentPath: string;
  /** The single page (served for the content path and every path under it that is no asset). */
  readonly index: UiFile;
  /** Files under <contentPath>assets/, by name. */
  readonly assets: ReadonlyMap<string, UiFile>;
  readonly robots: UiFile;
}

/** What config allows in ui_config.content_path (builder.validate): no quotes or markup. */
const SAFE_CONTENT_PATH = /^\/([A-Za-z0-9/_-]*\/)?$/;

export function buildUiBundle(contentPath = "/ui/"): UiBundle {
  if (!SAFE_CONTENT_PATH.test(contentPath)) throw new Error(`ui: invalid content path ${JSON.stringify(contentPath)}`);
  const version = createHash("sha256").update(APP_JS).update(STYLE_CSS).digest("hex").slice(0, 12);
  const assetCache = `public, max-age=${UI_ASSET_MAX_AGE_S}`;
  const html = INDEX_HTML.split(BASE_PLACEHOLDER).join(contentPath).split(VERSION_PLACEHOLDER).join(version);
  return {
    contentPath,
    index: { contentType: "text/html; charset=utf-8", cacheControl: "no-cache", body: Buffer.from(html, "utf8") },
    assets: new Map<string, UiFile>([
      ["app.js", { contentType: "text/javascript; charset=utf-8", cacheControl: assetCache, body: Buffer.from(APP_JS, "utf8") }],
      ["style.css", { contentType: "text/css; charset=utf-8", cacheControl: assetCache, body: Buffer.from(STYLE_CSS, "utf8") }],
    ]),
    robots: { contentType: "text/plain; charset=utf-8", cacheControl: "no-cache", body: Buffer.from("User-agent: *\nDisallow: /\n", "utf8") },
  };
}

export { APP_JS, INDEX_HTML, STYLE_CSS } from "./assets.ts";
