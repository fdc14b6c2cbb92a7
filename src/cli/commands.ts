/**
 * cli/commands: the table of every CLI command. To add one, add an entry whose
 * key is the command path ("catalog services") and whose `load` imports the
 * module lazily, so `cairn version` never loads the agent.
 *
 * Must never: import command modules eagerly.
 */

import type { CommandTable } from "./command.ts";

export const COMMANDS: CommandTable = {
  agent: {
    synopsis: "Runs a Consul agent",
    load: async () => (await import("./agent.ts")).agentCommand,
  },
  configtest: {
    synopsis: "Validate config files/directories",
    load: async () => (await import("./configtest.ts")).configtestCommand,
  },
  validate: {
    synopsis: "Validate config files/directories",
    load: async () => (await import("./configtest.ts")).configtestCommand,
  },
  version: {
    synopsis: "Prints the Consul version",
    load: async () => (await import("./version.ts")).versionCommand,
  },
  kv: {
    synopsis: "Interact with the key-value store",
    load: async () => (await import("./kv.ts")).kvCommand,
  },
  "kv get": {
    synopsis: "Retrieves or lists data from the KV store",
    load: async () => (await import("./kv_get.ts")).kvGetCommand,
  },
  "kv put": {
    synopsis: "Sets or updates data in the KV store",
    load: async () => (await import("./kv_put.ts")).kvPutCommand,
  },
  "kv delete": {
    synopsis: "Removes data from the KV store",
    load: async () => (await import("./kv_delete.ts")).kvDeleteCommand,
  },
  "kv export": {
    synopsis: "Exports a tree from the KV store as JSON",
    load: async () => (await import("./kv_export.ts")).kvExportCommand,
  },
  "kv import": {
    synopsis: "Imports a tree stored as JSON to the KV store",
    load: async () => (await import("./kv_import.ts")).kvImportCommand,
  },
  // services, catalog and maint (cli/services.ts, cli/catalog.ts, cli/maint.ts)
  services: {
    synopsis: "Interact with services",
    load: async () => (await import("./services.ts")).servicesCommand,
  },
  "services register": {
    synopsis: "Register services with the local agent",
    load: async () => (await import("./services.ts")).servicesRegisterCommand,
  },
  "services deregister": {
    synopsis: "Deregister services with the local agent",
    load: async () => (await import("./services.ts")).servicesDeregisterCommand,
  },
  catalog: {
    synopsis: "Interact with the catalog",
    load: async () => (await import("./catalog.ts")).catalogCommand,
  },
  "catalog datacenters": {
    synopsis: "Lists all known datacenters",
    load: async () => (await import("./catalog.ts")).catalogDatacentersCommand,
  },
  "catalog nodes": {
    synopsis: "Lists all nodes in the given datacenter",
    load: async () => (await import("./catalog.ts")).catalogNodesCommand,
  },
  "catalog services": {
    synopsis: "Lists all registered services in a datacenter",
    load: async () => (await import("./catalog.ts")).catalogServicesCommand,
  },
  // lock (cli/lock.ts, cli/lock_api.ts)
  lock: {
    synopsis: "Execute a command holding a lock",
    load: async () => (await import("./lock.ts")).lockCommand,
  },
  maint: {
    synopsis: "Controls node or service maintenance mode",
    load: async () => (await import("./maint.ts")).maintCommand,
  },
  // watch, exec, event, info, reload, monitor (cli/watch.ts, exec.ts, event.ts, info.ts, reload.ts, monitor.ts)
  watch: {
    synopsis: "Watch for changes in Consul",
    load: async () => (await import("./watch.ts")).watchCommand,
  },
  exec: {
    synopsis: "Executes a command on Consul nodes",
    load: async () => (await import("./exec.ts")).execCommand,
  },
  event: {
    synopsis: "Fire a new event",
    load: async () => (await import("./event.ts")).eventCommand,
  },
  info: {
    synopsis: "Provides debugging information for operators.",
    load: async () => (await import("./info.ts")).infoCommand,
  },
  reload: {
    synopsis: "Triggers the agent to reload configuration files",
    load: async () => (await import("./reload.ts")).reloadCommand,
  },
  monitor: {
    synopsis: "Stream logs from a Consul agent",
    load: async () => (await import("./monitor.ts")).monitorCommand,
  },
  // network coordinates (cli/rtt.ts)
  rtt: {
    synopsis: "Estimates network round trip time between nodes",
    load: async () => (await import("./rtt.ts")).rttCommand,
  },
  // LAN membership (cli/members.ts)
  members: {
    synopsis: "Lists the members of a Consul cluster",
    load: async () => (await import("./members.ts")).membersCommand,
  },
  join: {
    synopsis: "Tell Consul agent to join cluster",
    load: async () => (await import("./members.ts")).joinCommand,
  },
  leave: {
    synopsis: "Gracefully leaves the Consul cluster and shuts down",
    load: async () => (await import("./members.ts")).leaveCommand,
  },
  "force-leave": {
    synopsis: "Forces a member of the cluster to enter the \"left\" state",
    load: async () => (await import("./members.ts")).forceLeaveCommand,
  },
  // gossip keys (cli/keyring.ts)
  keygen: {
    synopsis: "Generates a new encryption key",
    load: async () => (await import("./keyring.ts")).keygenCommand,
  },
  keyring: {
    synopsis: "Manages gossip layer encryption keys",
    load: async () => (await import("./keyring.ts")).keyringCommand,
  },
  connect: {
    synopsis: "Interact with Consul Connect",
    load: async () => (await import("./connect.ts")).connectCommand,
  },
  "connect ca": {
    synopsis: "Interact with the Consul Connect Certificate Authority (CA)",
    load: async () => (await import("./connect.ts")).connectCACommand,
  },
  "connect ca get-config": {
    synopsis: "Display the current Connect Certificate Authority (CA) configuration",
    load: async () => (await import("./connect_ca.ts")).connectCAGetCommand,
  },
  "connect ca set-config": {
    synopsis: "Modify the current Connect CA configuration",
    load: async () => (await import("./connect_ca.ts")).connectCASetCommand,
  },
  // snapshots (cli/snapshot.ts)
  snapshot: {
    synopsis: "Saves, restores and inspects snapshots of Consul server state",
    load: async () => (await import("./snapshot.ts")).snapshotCommand,
  },
  "snapshot save": {
    synopsis: "Saves snapshot of Consul server state",
    load: async () => (await import("./snapshot.ts")).snapshotSaveCommand,
  },
  "snapshot restore": {
    synopsis: "Restores snapshot of Consul server state",
    load: async () => (await import("./snapshot.ts")).snapshotRestoreCommand,
  },
  "snapshot inspect": {
    synopsis: "Displays information about a Consul snapshot file",
    load: async () => (await import("./snapshot.ts")).snapshotInspectCommand,
  },
  // Raft operator (cli/operator.ts)
  operator: {
    synopsis: "Provides cluster-level tools for Consul operators",
    load: async () => (await import("./operator.ts")).operatorCommand,
  },
  "operator raft": {
    synopsis: "Provides cluster-level tools for Consul operators",
    load: async () => (await import("./operator.ts")).operatorRaftCommand,
  },
  "operator raft list-peers": {
    synopsis: "Display the current Raft peer configuration",
    load: async () => (await import("./operator.ts")).listPeersCommand,
  },
  "operator raft remove-peer": {
    synopsis: "Remove a Consul server from the Raft configuration",
    load: async () => (await import("./operator.ts")).removePeerCommand,
  },
  "operator raft transfer-leader": {
    synopsis: "Transfer raft leadership to another node",
    load: async () => (await import("./operator.ts")).transferLeaderCommand,
  },
  // Autopilot operator (cli/operator_autopilot.ts)
  "operator autopilot": {
    synopsis: "Provides tools for modifying Autopilot configuration",
    load: async () => (await import("./operator_autopilot.ts")).operatorAutopilotCommand,
  },
  "operator autopilot get-config": {
    synopsis: "Display the current Autopilot configuration",
    load: async () => (await import("./operator_autopilot.ts")).autopilotGetCommand,
  },
  "operator autopilot set-config": {
    synopsis: "Modify the current Autopilot configuration",
    load: async () => (await import("./operator_autopilot.ts")).autopilotSetCommand,
  },
  "operator autopilot state": {
    synopsis: "Display the current Autopilot state",
    load: async () => (await import("./operator_autopilot.ts")).autopilotStateCommand,
  },
};
