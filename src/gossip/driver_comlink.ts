/**
 * gossip/driver_comlink: comlink's ~20-line node adapter, kept locally (deep-importing
 * comlink/dist/esm/node-adapter.mjs breaks tsc and deno check; see runtime-notes). It maps
 * a worker_threads port's on/off("message") to the addEventListener/removeEventListener
 * pair comlink expects.
 *
 * Must never: hold logic beyond the mapping.
 */

import type { Endpoint } from "comlink";

/** The part of a worker_threads Worker / MessagePort the adapter uses. */
export interface NodePort {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  on(event: "message", listener: (data: unknown) => void): unknown;
  off(event: "message", listener: (data: unknown) => void): unknown;
  start?: () => void;
}

type Handler = EventListenerOrEventListenerObject;

export function nodeEndpoint(port: NodePort): Endpoint {
  const listeners = new WeakMap<Handler, (data: unknown) => void>();
  const ep: Endpoint = {
    postMessage: (message: unknown, transfer?: Transferable[]) => port.postMessage(message, transfer),
    addEventListener: (_type: string, handler: Handler | null) => {
      if (handler === null) return;
      const l = (data: unknown): void => {
        const ev = { data } as MessageEvent;
        if (typeof handler === "function") handler(ev);
        else handler.handleEvent(ev);
      };
      port.on("message", l);
      listeners.set(handler, l);
    },
    removeEventListener: (_type: string, handler: Handler | null) => {
      if (handler === null) return;
      const l = listeners.get(handler);
      if (l === undefined) return;
      port.off("message", l);
      listeners.delete(handler);
    },
  };
  if (port.start) ep.start = port.start.bind(port);
  return ep;
}
