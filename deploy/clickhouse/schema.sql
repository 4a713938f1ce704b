-- ClickHouse schema for the flows topic: a Kafka engine table that decodes
-- the collector's length-delimited FlowMessages with proto/flow.proto
-- (format Protobuf; the .proto must be in ClickHouse's format_schemas
-- directory, docker-compose.yml mounts it there), a MergeTree table for
-- storage, and a materialized view that moves rows from one to the other,
-- turning address bytes (4 bytes IPv4, 16 bytes IPv6) into IPv6 columns
-- (IPv4 as ::ffff:a.b.c.d) and nanoseconds into DateTime64.
-- Columns are matched to message fields by name; fields not listed are
-- skipped, so the schema may grow without touching this file.
--
-- Volumes: bytes/packets are as exported (sampled); bytes_scaled and
-- packets_scaled are present on every flow, multiplied by the sampling rate,
-- and equal to bytes/packets where the rate is 1 or unknown. Sum
-- bytes_scaled for traffic volume across all exporters, e.g.
--   SELECT src_as, sum(bytes_scaled) FROM flows.flows GROUP BY src_as;
-- sampling_rate_unknown = 1 marks flows whose exporter announced no rate
-- (and none was configured): their scaled volume may be an undercount.

CREATE DATABASE IF NOT EXISTS flows;

CREATE TABLE IF NOT EXISTS flows.flows_kafka
(
    type Enum8('FLOWUNKNOWN' = 0, 'SFLOW_5' = 1, 'NETFLOW_V5' = 2, 'NETFLOW_V9' = 3, 'IPFIX' = 4),
    time_received_ns UInt64,
    sequence_num UInt32,
    sampling_rate UInt64,
    sampler_address String,
    time_flow_start_ns UInt64,
    time_flow_end_ns UInt64,
    bytes UInt64,
    packets UInt64,
    src_addr String,
    dst_addr String,
    etype UInt32,
    proto UInt32,
    src_port UInt32,
    dst_port UInt32,
    in_if UInt32,
    out_if UInt32,
    src_mac UInt64,
    dst_mac UInt64,
    vlan_id UInt32,
    ip_tos UInt32,
    tcp_flags UInt32,
    icmp_type UInt32,
    icmp_code UInt32,
    src_as UInt32,
    dst_as UInt32,
    next_hop String,
    src_net UInt32,
    dst_net UInt32,
    observation_domain_id UInt32,
    src_country String,
    dst_country String,
    src_city String,
    dst_city String,
    src_as_name String,
    dst_as_name String,
    src_net_name String,
    dst_net_name String,
    exporter_name String,
    exporter_port UInt32,
    bytes_scaled UInt64,
    packets_scaled UInt64,
    sampling_rate_unknown Bool,
    flow_direction Enum8('DIRECTION_UNKNOWN' = 0, 'INGRESS' = 1, 'EGRESS' = 2),
    in_if_name String,
    out_if_name String
)
ENGINE = Kafka
SETTINGS
    kafka_broker_list = 'kafka:9092',
    kafka_topic_list = 'flows',
    kafka_group_name = 'clickhouse-flows',
    kafka_format = 'Protobuf',
    kafka_schema = 'flow.proto:FlowMessage',
    kafka_num_consumers = 1,
    kafka_handle_error_mode = 'stream';

CREATE TABLE IF NOT EXISTS flows.flows
(
    date Date DEFAULT toDate(time_received),
    time_received DateTime64(9),
    time_flow_start DateTime64(9),
    time_flow_end DateTime64(9),
    type LowCardinality(String),
    sequence_num UInt32,
    sampling_rate UInt64,
    sampler_address IPv6,
    exporter_port UInt16,
    exporter_name LowCardinality(String),
    bytes UInt64,
    packets UInt64,
    bytes_scaled UInt64,
    packets_scaled UInt64,
    sampling_rate_unknown Bool,
    src_addr IPv6,
    dst_addr IPv6,
    etype UInt16,
    proto UInt8,
    src_port UInt16,
    dst_port UInt16,
    in_if UInt32,
    out_if UInt32,
    in_if_name LowCardinality(String),
    out_if_name LowCardinality(String),
    src_mac UInt64,
    dst_mac UInt64,
    vlan_id UInt16,
    ip_tos UInt8,
    tcp_flags UInt16,
    icmp_type UInt8,
    icmp_code UInt8,
    src_as UInt32,
    dst_as UInt32,
    src_as_name LowCardinality(String),
    dst_as_name LowCardinality(String),
    next_hop IPv6,
    src_net UInt8,
    dst_net UInt8,
    src_net_name LowCardinality(String),
    dst_net_name LowCardinality(String),
    src_country LowCardinality(String),
    dst_country LowCardinality(String),
    src_city LowCardinality(String),
    dst_city LowCardinality(String),
    observation_domain_id UInt32,
    flow_direction LowCardinality(String)
)
ENGINE = MergeTree
PARTITION BY date
ORDER BY (time_received, sampler_address, src_addr, dst_addr)
TTL date + INTERVAL 30 DAY;

-- Bytes from the wire to an IPv6 column: 4 bytes -> ::ffff:a.b.c.d,
-- 16 bytes as they are, anything else (field absent) -> ::.
CREATE FUNCTION IF NOT EXISTS fc_bytes_to_ipv6 AS (b) ->
    multiIf(length(b) = 4, toIPv6(IPv4NumToString(reinterpretAsUInt32(reverse(b)))),
            length(b) = 16, toIPv6(IPv6NumToString(toFixedString(b, 16))),
            toIPv6('::'));

CREATE MATERIALIZED VIEW IF NOT EXISTS flows.flows_mv TO flows.flows AS
SELECT
    fromUnixTimestamp64Nano(toInt64(time_received_ns)) AS time_received,
    fromUnixTimestamp64Nano(toInt64(time_flow_start_ns)) AS time_flow_start,
    fromUnixTimestamp64Nano(toInt64(time_flow_end_ns)) AS time_flow_end,
    toString(type) AS type,
    sequence_num,
    sampling_rate,
    fc_bytes_to_ipv6(sampler_address) AS sampler_address,
    exporter_port,
    exporter_name,
    bytes,
    packets,
    bytes_scaled,
    packets_scaled,
    sampling_rate_unknown,
    fc_bytes_to_ipv6(src_addr) AS src_addr,
    fc_bytes_to_ipv6(dst_addr) AS dst_addr,
    etype,
    proto,
    src_port,
    dst_port,
    in_if,
    out_if,
    in_if_name,
    out_if_name,
    src_mac,
    dst_mac,
    vlan_id,
    ip_tos,
    tcp_flags,
    icmp_type,
    icmp_code,
    src_as,
    dst_as,
    src_as_name,
    dst_as_name,
    fc_bytes_to_ipv6(next_hop) AS next_hop,
    src_net,
    dst_net,
    src_net_name,
    dst_net_name,
    src_country,
    dst_country,
    src_city,
    dst_city,
    observation_domain_id,
    toString(flow_direction) AS flow_direction
FROM flows.flows_kafka
WHERE length(_error) = 0;

-- 5-minute aggregates per AS pair, for dashboards over long ranges: one row
-- per (window, src/dst AS, their names) and insert block, summed further by
-- SummingMergeTree in the background. Merges are eventual, so queries always
-- sum() with GROUP BY (deploy/clickhouse/queries.sql). Fed from flows.flows
-- (a view on a view's target table runs on every block written there), so
-- it holds exactly what the raw table received.
CREATE TABLE IF NOT EXISTS flows.flows_5m
(
    window_start DateTime,
    src_as UInt32,
    dst_as UInt32,
    src_as_name LowCardinality(String),
    dst_as_name LowCardinality(String),
    bytes UInt64,
    packets UInt64,
    bytes_scaled UInt64,
    packets_scaled UInt64,
    flows UInt64
)
ENGINE = SummingMergeTree((bytes, packets, bytes_scaled, packets_scaled, flows))
PARTITION BY toDate(window_start)
ORDER BY (window_start, src_as, dst_as, src_as_name, dst_as_name)
TTL toDate(window_start) + INTERVAL 400 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows.flows_5m_mv TO flows.flows_5m AS
SELECT
    toStartOfFiveMinutes(time_received) AS window_start,
    src_as,
    dst_as,
    src_as_name,
    dst_as_name,
    sum(bytes) AS bytes,
    sum(packets) AS packets,
    sum(bytes_scaled) AS bytes_scaled,
    sum(packets_scaled) AS packets_scaled,
    count() AS flows
FROM flows.flows
GROUP BY window_start, src_as, dst_as, src_as_name, dst_as_name;

-- Records ClickHouse could not decode (kafka_handle_error_mode = 'stream'),
-- kept for inspection instead of stalling the consumer.
CREATE TABLE IF NOT EXISTS flows.flows_kafka_errors
(
    time DateTime DEFAULT now(),
    topic String,
    partition Int64,
    offset Int64,
    error String,
    raw String
)
ENGINE = MergeTree
ORDER BY time
TTL time + INTERVAL 7 DAY;

CREATE MATERIALIZED VIEW IF NOT EXISTS flows.flows_kafka_errors_mv TO flows.flows_kafka_errors AS
SELECT _topic AS topic, _partition AS partition, _offset AS offset, _error AS error,
       _raw_message AS raw
FROM flows.flows_kafka
WHERE length(_error) > 0;
