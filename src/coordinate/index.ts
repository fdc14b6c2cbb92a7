/**
 * coordinate: Vivaldi network coordinates (serf's algorithm) and RTT sorting helpers.
 *
 * Must never: do I/O or read clocks.
 */

export type { Coordinate, VivaldiConfig } from "./coord.ts";
export { DEFAULT_VIVALDI, newCoordinate, distanceSeconds, isValid, isCompatible } from "./coord.ts";
export { VivaldiClient } from "./client.ts";
export type { VivaldiDeps } from "./client.ts";
export { parseCoordinate, sortByDistance } from "./sort.ts";
