/**
 * agent/config/schema: every key Consul CE's config file format accepts
 * (agent/config/config.go + deprecated.go), with its type.
 *
 * The loader rejects keys not listed here ("invalid config key") and values of
 * the wrong type; it keeps what it accepted in a normalized tree keyed by the
 * names below. Enterprise-only keys are listed too (Consul CE warns about them).
 *
 * Must never: hold defaults or semantics (see defaults.ts and build.ts).
 */

export type ScalarKind = "string" | "bool" | "int" | "uint" | "float" | "duration";

export type Schema =
  | { readonly t: "scalar"; readonly s: ScalarKind }
  /** []string */
  | { readonly t: "strings" }
  /** map[string]string */
  | { readonly t: "smap" }
  /** map[string]interface{} or interface{}: kept as written. */
  | { readonly t: "raw" }
  /** []map[string]interface{} */
  | { readonly t: "rawlist" }
  | { readonly t: "obj"; readonly f: Readonly<Record<string, Schema>>; readonly aliases?: Readonly<Record<string, string>> }
  /** []Struct */
  | { readonly t: "list"; readonly e: Schema }
  /** map[string]X */
  | { readonly t: "map"; readonly e: Schema };

export const STR: Schema = { t: "scalar", s: "string" };
export const BOOL: Schema = { t: "scalar", s: "bool" };
export const INT: Schema = { t: "scalar", s: "int" };
export const UINT: Schema = { t: "scalar", s: "uint" };
export const FLOAT: Schema = { t: "scalar", s: "float" };
export const DUR: Schema = { t: "scalar", s: "duration" };
export const STRS: Schema = { t: "strings" };
export const SMAP: Schema = { t: "smap" };
export const RAW: Schema = { t: "raw" };
export const RAWLIST: Schema = { t: "rawlist" };

export function obj(f: Record<string, Schema>, aliases?: Record<string, string>): Schema {
  return aliases ? { t: "obj", f, aliases } : { t: "obj", f };
}
export function list(e: Schema): Schema {
  return { t: "list", e };
}
export function map(e: Schema): Schema {
  return { t: "map", e };
}

const ENTERPRISE_META = { namespace: STR, partition: STR };

export const CHECK_SCHEMA: Schema = obj(
  {
    id: STR,
    name: STR,
    notes: STR,
    service_id: STR,
    token: STR,
    status: STR,
    args: STRS,
    http: STR,
    header: map(STRS),
    method: STR,
    body: STR,
    disable_redirects: BOOL,
    output_max_size: INT,
    tcp: STR,
    tcp_use_tls: BOOL,
    udp: STR,
    interval: DUR,
    docker_container_id: STR,
    shell: STR,
    grpc: STR,
    grpc_use_tls: BOOL,
    tls_server_name: STR,
    tls_skip_verify: BOOL,
    alias_node: STR,
    alias_service: STR,
    timeout: DUR,
    ttl: DUR,
    h2ping: STR,
    h2ping_use_tls: BOOL,
    os_service: STR,
    success_before_passing: INT,
    failures_before_warning: INT,
    failures_before_critical: INT,
    deregister_critical_service_after: DUR,
    ...ENTERPRISE_META,
  },
  {
    serviceid: "service_id",
    scriptargs: "args",
    dockercontainerid: "docker_container_id",
    tlsskipverify: "tls_skip_verify",
    tlsservername: "tls_server_name",
    deregistercriticalserviceafter: "deregister_critical_service_after",
  },
);

const MESH_GATEWAY = obj({ mode: STR });

const UPSTREAM = obj({
  destination_type: STR,
  destination_namespace: STR,
  destination_partition: STR,
  destination_peer: STR,
  destination_name: STR,
  datacenter: STR,
  local_bind_address: STR,
  local_bind_port: INT,
  local_bind_socket_path: STR,
  local_bind_socket_mode: STR,
  config: RAW,
  mesh_gateway: MESH_GATEWAY,
});

const PROXY = obj({
  destination_service_name: STR,
  destination_service_id: STR,
  local_service_address: STR,
  local_service_port: INT,
  local_service_socket_path: STR,
  transparent_proxy: obj({ outbound_listener_port: INT, dialed_directly: BOOL }),
  mode: STR,
  config: RAW,
  upstreams: list(UPSTREAM),
  mesh_gateway: MESH_GATEWAY,
  expose: obj({
    checks: BOOL,
    port: INT,
    paths: list(obj({ listener_port: INT, path: STR, protocol: STR, local_path_port: INT })),
  }),
});

function serviceSchema(depth: number): Schema {
  const fields: Record<string, Schema> = {
    kind: STR,
    id: STR,
    name: STR,
    tags: STRS,
    address: STR,
    tagged_addresses: map(obj({ address: STR, port: INT })),
    meta: SMAP,
    port: INT,
    socket_path: STR,
    check: CHECK_SCHEMA,
    checks: list(CHECK_SCHEMA),
    token: STR,
    weights: obj({ passing: INT, warning: INT }),
    enable_tag_override: BOOL,
    proxy: PROXY,
    locality: obj({ region: STR, zone: STR }),
    ...ENTERPRISE_META,
  };
  // A sidecar_service is a nested service definition (one level is enough).
  fields["connect"] =
    depth > 0 ? obj({ native: BOOL, sidecar_service: serviceSchema(depth - 1) }) : obj({ native: BOOL });
  return obj(fields, { enabletagoverride: "enable_tag_override" });
}

export const SERVICE_SCHEMA: Schema = serviceSchema(1);

const GOSSIP = obj({
  gossip_nodes: INT,
  gossip_interval: DUR,
  probe_interval: DUR,
  probe_timeout: DUR,
  suspicion_mult: INT,
  retransmit_mult: INT,
});

const TLS_PROTOCOL = obj({
  ca_file: STR,
  ca_path: STR,
  cert_file: STR,
  key_file: STR,
  tls_min_version: STR,
  tls_cipher_suites: STR,
  verify_incoming: BOOL,
  verify_outgoing: BOOL,
  verify_server_hostname: BOOL,
  use_auto_cert: BOOL,
});

const AUTO_CONFIG_AUTHORIZER = obj({
  claim_assertions: STRS,
  allow_reuse: BOOL,
  jwt_supported_algs: STRS,
  bound_audiences: STRS,
  claim_mappings: SMAP,
  list_claim_mappings: SMAP,
  oidc_discovery_url: STR,
  oidc_discovery_ca_cert: STR,
  jwks_url: STR,
  jwks_ca_cert: STR,
  jwt_validation_pub_keys: STRS,
  bound_issuer: STR,
  expiration_leeway: DUR,
  not_before_leeway: DUR,
  clock_skew_leeway: DUR,
});

/** Top-level keys of a Consul CE config file, including deprecated and Enterprise-only ones. */
export const CONFIG_SCHEMA: Schema = obj({
  acl: obj({
    enabled: BOOL,
    enable_token_replication: BOOL,
    policy_ttl: DUR,
    role_ttl: DUR,
    token_ttl: DUR,
    down_policy: STR,
    default_policy: STR,
    enable_key_list_policy: BOOL,
    tokens: obj({
      initial_management: STR,
      replication: STR,
      agent_recovery: STR,
      default: STR,
      agent: STR,
      config_file_service_registration: STR,
      dns: STR,
      managed_service_provider: list(obj({ accessor_id: STR, secret_id: STR })),
      master: STR,
      agent_master: STR,
    }),
    disabled_ttl: DUR,
    enable_token_persistence: BOOL,
    msp_disable_bootstrap: BOOL,
  }),
  addresses: obj({ dns: STR, http: STR, https: STR, grpc: STR, grpc_tls: STR }),
  advertise_addr: STR,
  advertise_addr_ipv4: STR,
  advertise_addr_ipv6: STR,
  advertise_addr_wan: STR,
  advertise_addr_wan_ipv4: STR,
  advertise_addr_wan_ipv6: STR,
  advertise_reconnect_timeout: DUR,
  auto_config: obj({
    enabled: BOOL,
    intro_token: STR,
    intro_token_file: STR,
    server_addresses: STRS,
    dns_sans: STRS,
    ip_sans: STRS,
    authorization: obj({ enabled: BOOL, static: AUTO_CONFIG_AUTHORIZER }),
  }),
  autopilot: obj({
    cleanup_dead_servers: BOOL,
    last_contact_threshold: DUR,
    max_trailing_logs: INT,
    min_quorum: UINT,
    server_stabilization_time: DUR,
    disable_upgrade_migration: BOOL,
    redundancy_zone_tag: STR,
    upgrade_version_tag: STR,
  }),
  bind_addr: STR,
  bootstrap: BOOL,
  bootstrap_expect: INT,
  cache: obj({ entry_fetch_max_burst: INT, entry_fetch_rate: FLOAT }),
  check: CHECK_SCHEMA,
  check_output_max_size: INT,
  check_update_interval: DUR,
  checks: list(CHECK_SCHEMA),
  client_addr: STR,
  cloud: obj({
    resource_id: STR,
    client_id: STR,
    client_secret: STR,
    hostname: STR,
    auth_url: STR,
    scada_address: STR,
    management_token: STR,
  }),
  config_entries: obj({ bootstrap: RAWLIST }),
  auto_encrypt: obj({ tls: BOOL, dns_san: STRS, ip_san: STRS, allow_tls: BOOL }),
  connect: obj({
    enabled: BOOL,
    ca_provider: STR,
    ca_config: RAW,
    enable_mesh_gateway_wan_federation: BOOL,
    test_ca_leaf_root_change_spread: DUR,
  }),
  dns_config: obj({
    allow_stale: BOOL,
    a_record_limit: INT,
    disable_compression: BOOL,
    enable_truncate: BOOL,
    max_stale: DUR,
    node_ttl: DUR,
    only_passing: BOOL,
    recursor_strategy: STR,
    recursor_timeout: DUR,
    service_ttl: SMAP,
    udp_answer_limit: INT,
    enable_additional_node_meta_txt: BOOL,
    soa: obj({ refresh: UINT, retry: UINT, expire: UINT, min_ttl: UINT }),
    use_cache: BOOL,
    cache_max_age: DUR,
    prefer_namespace: BOOL,
  }),
  domain: STR,
  alt_domain: STR,
  recursors: STRS,
  data_dir: STR,
  datacenter: STR,
  default_query_time: DUR,
  disable_anonymous_signature: BOOL,
  disable_coordinates: BOOL,
  disable_host_node_id: BOOL,
  disable_http_unprintable_char_filter: BOOL,
  disable_keyring_file: BOOL,
  disable_kv_key_validation: BOOL,
  disable_remote_exec: BOOL,
  disable_update_check: BOOL,
  discard_check_output: BOOL,
  discovery_max_stale: DUR,
  enable_agent_tls_for_checks: BOOL,
  enable_central_service_config: BOOL,
  enable_debug: BOOL,
  enable_script_checks: BOOL,
  enable_local_script_checks: BOOL,
  enable_syslog: BOOL,
  encrypt: STR,
  encrypt_verify_incoming: BOOL,
  encrypt_verify_outgoing: BOOL,
  experiments: STRS,
  gossip_lan: GOSSIP,
  gossip_wan: GOSSIP,
  http_config: obj({
    block_endpoints: STRS,
    allow_write_http_from: STRS,
    response_headers: SMAP,
    use_cache: BOOL,
    max_header_bytes: INT,
  }),
  leave_on_terminate: BOOL,
  license_path: STR,
  limits: obj({
    http_max_conns_per_client: INT,
    https_handshake_timeout: DUR,
    request_limits: obj({ mode: STR, read_rate: FLOAT, write_rate: FLOAT }),
    rpc_client_timeout: DUR,
    rpc_handshake_timeout: DUR,
    rpc_max_burst: INT,
    rpc_max_conns_per_client: INT,
    rpc_rate: FLOAT,
    kv_max_value_size: UINT,
    txn_max_req_len: UINT,
  }),
  locality: obj({ region: STR, zone: STR }),
  log_level: STR,
  log_sublevels: SMAP,
  log_json: BOOL,
  log_file: STR,
  log_rotate_duration: DUR,
  log_rotate_bytes: INT,
  log_rotate_max_files: INT,
  max_query_time: DUR,
  node_id: STR,
  node_meta: SMAP,
  node_name: STR,
  peering: obj({ enabled: BOOL, test_allow_peer_registrations: BOOL }),
  performance: obj({ leave_drain_time: DUR, raft_multiplier: INT, rpc_hold_timeout: DUR }),
  pid_file: STR,
  ports: obj({
    dns: INT,
    http: INT,
    https: INT,
    serf_lan: INT,
    serf_wan: INT,
    server: INT,
    grpc: INT,
    grpc_tls: INT,
    proxy_min_port: INT,
    proxy_max_port: INT,
    sidecar_min_port: INT,
    sidecar_max_port: INT,
    expose_min_port: INT,
    expose_max_port: INT,
  }),
  primary_datacenter: STR,
  primary_gateways: STRS,
  primary_gateways_interval: DUR,
  protocol: INT,
  raft_protocol: INT,
  raft_snapshot_threshold: INT,
  raft_snapshot_interval: DUR,
  raft_trailing_logs: INT,
  raft_logstore: obj({
    backend: STR,
    disable_log_cache: BOOL,
    verification: obj({ enabled: BOOL, interval: DUR }),
    boltdb: obj({ no_freelist_sync: BOOL }),
    wal: obj({ segment_size_mb: INT }),
  }),
  reconnect_timeout: DUR,
  reconnect_timeout_wan: DUR,
  rejoin_after_leave: BOOL,
  auto_reload_config: BOOL,
  retry_interval: DUR,
  retry_interval_wan: DUR,
  retry_join: STRS,
  retry_max: INT,
  retry_max_wan: INT,
  retry_join_wan: STRS,
  serf_lan_allowed_cidrs: STRS,
  serf_wan_allowed_cidrs: STRS,
  serf_lan: STR,
  serf_wan: STR,
  server: BOOL,
  server_name: STR,
  server_rejoin_age_max: DUR,
  service: SERVICE_SCHEMA,
  services: list(SERVICE_SCHEMA),
  session_ttl_min: DUR,
  skip_leave_on_interrupt: BOOL,
  syslog_facility: STR,
  tls: obj({ defaults: TLS_PROTOCOL, internal_rpc: TLS_PROTOCOL, https: TLS_PROTOCOL, grpc: TLS_PROTOCOL }),
  tagged_addresses: SMAP,
  telemetry: obj({
    circonus_api_app: STR,
    circonus_api_token: STR,
    circonus_api_url: STR,
    circonus_broker_id: STR,
    circonus_broker_select_tag: STR,
    circonus_check_display_name: STR,
    circonus_check_force_metric_activation: STR,
    circonus_check_id: STR,
    circonus_check_instance_id: STR,
    circonus_check_search_tag: STR,
    circonus_check_tags: STR,
    circonus_submission_interval: STR,
    circonus_submission_url: STR,
    disable_hostname: BOOL,
    disable_per_tenancy_usage_metrics: BOOL,
    dogstatsd_addr: STR,
    dogstatsd_tags: STRS,
    enable_host_metrics: BOOL,
    retry_failed_connection: BOOL,
    filter_default: BOOL,
    prefix_filter: STRS,
    metrics_prefix: STR,
    prometheus_retention_time: DUR,
    statsd_address: STR,
    statsite_address: STR,
  }),
  translate_wan_addrs: BOOL,
  xds: obj({ update_max_per_second: FLOAT }),
  ui: BOOL,
  ui_content_path: STR,
  ui_dir: STR,
  ui_config: obj({
    enabled: BOOL,
    dir: STR,
    content_path: STR,
    metrics_provider: STR,
    metrics_provider_files: STRS,
    metrics_provider_options_json: STR,
    metrics_proxy: obj({
      base_url: STR,
      add_headers: list(obj({ name: STR, value: STR })),
      path_allowlist: STRS,
    }),
    dashboard_url_templates: SMAP,
  }),
  unix_sockets: obj({ group: STR, mode: STR, user: STR }),
  watches: RAWLIST,
  rpc: obj({ enable_streaming: BOOL }),
  use_streaming_backend: BOOL,
  snapshot_agent: RAW,
  // Not user-configurable in Consul, but accepted by its parser.
  ae_interval: DUR,
  check_deregister_interval_min: DUR,
  check_reap_interval: DUR,
  consul: obj({
    coordinate: obj({ update_batch_size: INT, update_max_batches: INT, update_period: DUR }),
    raft: obj({ election_timeout: DUR, heartbeat_timeout: DUR, leader_lease_timeout: DUR }),
    server: obj({ health_interval: DUR }),
  }),
  revision: STR,
  segment_limit: INT,
  segment_name_limit: INT,
  sync_coordinate_interval_min: DUR,
  sync_coordinate_rate_target: FLOAT,
  version: STR,
  version_prerelease: STR,
  version_metadata: STR,
  build_date: STR,
  // Enterprise only (Consul CE warns that they have no effect).
  audit: obj({
    enabled: BOOL,
    sink: map(
      obj({
        name: STR,
        type: STR,
        format: STR,
        path: STR,
        delivery_guarantee: STR,
        mode: STR,
        rotate_bytes: INT,
        rotate_duration: DUR,
        rotate_max_files: INT,
      }),
    ),
  }),
  read_replica: BOOL,
  non_voting_server: BOOL,
  segment: STR,
  segments: list(obj({ advertise: STR, bind: STR, name: STR, port: INT, rpc_listener: BOOL })),
  partition: STR,
  license_poll_base_time: DUR,
  license_poll_max_time: DUR,
  license_update_base_time: DUR,
  license_update_max_time: DUR,
  reporting: obj({ license: obj({ enabled: BOOL }) }),
  // Deprecated top-level keys (agent/config/deprecated.go), translated by build.ts.
  acl_agent_master_token: STR,
  acl_agent_token: STR,
  acl_token: STR,
  acl_enable_key_list_policy: BOOL,
  acl_master_token: STR,
  acl_replication_token: STR,
  enable_acl_replication: BOOL,
  acl_datacenter: STR,
  acl_default_policy: STR,
  acl_down_policy: STR,
  acl_ttl: DUR,
  ca_file: STR,
  ca_path: STR,
  cert_file: STR,
  key_file: STR,
  tls_cipher_suites: STR,
  tls_min_version: STR,
  verify_incoming: BOOL,
  verify_incoming_https: BOOL,
  verify_incoming_rpc: BOOL,
  verify_outgoing: BOOL,
  verify_server_hostname: BOOL,
  tls_prefer_server_cipher_suites: BOOL,
  start_join: STRS,
  start_join_wan: STRS,
  raft_boltdb: obj({ NoFreelistSync: BOOL }),
});
