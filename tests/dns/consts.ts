/**
 * tests/dns/consts: DNS type codes for tests (the wire module's, plus MX).
 *
 * Must never: hold logic.
 */
export { T_A, T_AAAA, T_ANY, T_AXFR, T_NS, T_PTR, T_SOA, T_SRV, T_TXT } from "../../src/dns/wire.ts";
export const T_MX = 15;
