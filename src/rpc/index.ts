/**
 * rpc: public face of the server-port RPC layer (framing, multiplexed
 * connections, client with reconnect, server with method dispatch).
 *
 * Must never: export the connection internals or the frame codec's packer.
 */

export { RpcClient, parseAddr, type ClientFaults, type RpcClientOptions } from "./client.ts";
export { RpcServer, type RpcServerOptions, type ServerFaults } from "./server.ts";
export { RpcError, isRpcError, type RpcErrorCode } from "./errors.ts";
export type { CallContext, ConnLimits, Handler } from "./conn.ts";
export { PROTOCOL_CAIRN, FrameDecoder, encodeFrame, parseFrame, type Frame } from "./frame.ts";
