-- The queries deploy/README.md shows, for the tables of schema.sql.
-- tests/e2e/e2e_clickhouse.py runs each one on a real ClickHouse and checks
-- its result, and checks that README.md shows them verbatim.

-- name: top-talkers-last-hour
-- Top 10 source addresses over the last hour, by traffic volume (sampled
-- volumes multiplied by the sampling rate).
SELECT src_addr, sum(bytes_scaled) AS bytes, sum(packets_scaled) AS packets, count() AS flows
FROM flows.flows
WHERE time_received >= now() - INTERVAL 1 HOUR
GROUP BY src_addr
ORDER BY bytes DESC, src_addr
LIMIT 10;

-- name: bytes-per-as-pair
-- Traffic per AS pair over the last day, from the 5-minute aggregates.
SELECT src_as, src_as_name, dst_as, dst_as_name,
       sum(bytes_scaled) AS bytes, sum(packets_scaled) AS packets, sum(flows) AS flows
FROM flows.flows_5m
WHERE window_start >= now() - INTERVAL 1 DAY
GROUP BY src_as, src_as_name, dst_as, dst_as_name
ORDER BY bytes DESC, src_as, dst_as
LIMIT 20;
