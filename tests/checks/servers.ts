/**
 * tests/checks/servers: small real servers on 127.0.0.1:0 for check runner tests
 * (HTTP with scripted answers, a TCP listener, a UDP echo, a gRPC health server on node:http2).
 */

import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import dgram from "node:dgram";
import type { AddressInfo } from "node:net";

export interface Srv {
  readonly port: number;
  close(): Promise<void>;
}

export async function httpServer(handler: http.RequestListener): Promise<Srv> {
  const s = http.createServer(handler);
  const sockets = new Set<net.Socket>();
  s.on("connection", (c) => {
    sockets.add(c);
    c.on("close", () => sockets.delete(c));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    port: (s.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const c of sockets) c.destroy();
        s.close(() => r());
      }),
  };
}

export async function tcpServer(): Promise<Srv> {
  const s = net.createServer((c) => c.end());
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return { port: (s.address() as AddressInfo).port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** A port nothing listens on (TCP). */
export async function closedPort(): Promise<number> {
  const s = await tcpServer();
  await s.close();
  return s.port;
}

export async function udpEcho(): Promise<Srv> {
  const s = dgram.createSocket("udp4");
  s.on("message", (m, rinfo) => s.send(Buffer.from("pong"), rinfo.port, rinfo.address));
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  return { port: s.address().port, close: () => new Promise<void>((r) => s.close(() => r())) };
}

/** grpc.health.v1 over HTTP/2: status per service name (1 SERVING, 2 NOT_SERVING); unknown -> NOT_FOUND. */
export async function grpcHealthServer(statuses: Map<string, number>): Promise<Srv> {
  const s = http2.createServer();
  s.on("stream", (stream, headers) => {
    if (headers[":path"] !== "/grpc.health.v1.Health/Check") {
      stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "12", "grpc-message": "unknown method" }, { endStream: true });
      return;
    }
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const all = Buffer.concat(chunks);
      const msg = all.subarray(5);
      let service = "";
      if (msg.length > 2 && msg[0] === 0x0a) service = msg.subarray(2, 2 + msg[1]!).toString("utf8");
      const st = statuses.get(service);
      if (st === undefined) {
        stream.respond({ ":status": 200, "content-type": "application/grpc", "grpc-status": "5", "grpc-message": "unknown service" }, { endStream: true });
        return;
      }
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.on("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      const body = Buffer.from([0x08, st]);
      const head = Buffer.alloc(5);
      head.writeUInt32BE(body.length, 1);
      stream.end(Buffer.concat([head, body]));
    });
  });
  const sessions = new Set<http2.ServerHttp2Session>();
  s.on("session", (x) => {
    sessions.add(x);
    x.on("close", () => sessions.delete(x));
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  return {
    port: (s.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((r) => {
        for (const x of sessions) x.destroy();
        s.close(() => r());
      }),
  };
}
