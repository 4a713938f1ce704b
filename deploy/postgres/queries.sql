-- The queries deploy/README.md shows, for the tables of schema.sql (the
-- same questions as clickhouse/queries.sql). tests/flowsink_pg runs each
-- one on PostgreSQL and checks its result, and checks that README.md shows
-- them verbatim.

-- name: top-talkers-last-hour
-- Top 10 source addresses over the last hour, by traffic volume (sampled
-- volumes multiplied by the sampling rate).
SELECT src_addr, sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM flows
WHERE time >= now() - interval '1 hour'
GROUP BY src_addr
ORDER BY bytes DESC, src_addr
LIMIT 10;

-- name: bytes-per-as-pair
-- Traffic per AS pair over the last day, from the 5-minute sums.
SELECT src_as, src_as_name, dst_as, dst_as_name,
       sum(bytes) AS bytes, sum(packets) AS packets, sum(flows) AS flows
FROM flows_5m
WHERE window_start >= now() - interval '1 day'
GROUP BY src_as, src_as_name, dst_as, dst_as_name
ORDER BY bytes DESC, src_as, dst_as
LIMIT 20;
