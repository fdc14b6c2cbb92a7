/**
 * x509: the one place that loads the X.509 library (@peculiar/x509) and points it at
 * the runtime's WebCrypto (globalThis.crypto on Node 20 and Deno).
 *
 * @peculiar/x509 resolves its algorithms through tsyringe, which needs the Reflect
 * metadata polyfill loaded first; the import order below is load-bearing.
 *
 * Must never: hold keys or state; other modules import the library only through here.
 */

import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export { x509 };
