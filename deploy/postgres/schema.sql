-- PostgreSQL schema for flowsink --postgres (PostgreSQL 11 or later; tested
-- on Debian's PostgreSQL 15). Run it once with psql before starting
-- flowsink:  psql "CONNINFO" -v ON_ERROR_STOP=1 -f schema.sql
--
-- flows: one row per flow, partitioned by day of `time` (UTC days); the
-- partitions (flows_YYYYMMDD) are created ahead by flowsink through
-- flows_partition_create() and dropped by flows_partitions_drop() when it
-- runs with --postgres-retention DAYS. Where the TimescaleDB extension is
-- available the table is a hypertable with 1-day chunks and compression
-- instead, and the same two functions hand over to TimescaleDB (documented,
-- not tested here: the tests use plain PostgreSQL 15).
--
-- Types: addresses inet; times timestamptz; the 64-bit unsigned counters
-- numeric(20,0) (bigint stops at 2^63-1; a u64 never overflows numeric);
-- every other unsigned 32-bit field bigint, so no value from the wire can
-- make a COPY fail. bytes and packets are the volumes multiplied by the
-- sampling rate (the collector's bytes_scaled/packets_scaled).
--
-- flowsink_offsets: the last Kafka offset applied per (topic, partition),
-- written in the same transaction as the rows of its batch; flowsink
-- resumes after it, so a crash neither loses nor duplicates a row.

DO $schema$
DECLARE
    cols text := $cols$
        time timestamptz NOT NULL,          -- flow end, else time received
        exporter inet,                      -- sampler address
        exporter_name text,
        src_addr inet,
        dst_addr inet,
        proto bigint,
        src_port bigint,
        dst_port bigint,
        src_as bigint,
        dst_as bigint,
        src_as_name text,
        dst_as_name text,
        src_country text,                   -- ISO 3166 alpha-2
        dst_country text,
        bytes numeric(20, 0) NOT NULL,
        packets numeric(20, 0) NOT NULL
    $cols$;
BEGIN
    IF to_regclass('flows') IS NOT NULL THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb') THEN
        CREATE EXTENSION IF NOT EXISTS timescaledb;
        EXECUTE format('CREATE TABLE flows (%s)', cols);
        PERFORM create_hypertable('flows', 'time', chunk_time_interval => interval '1 day');
        ALTER TABLE flows SET (timescaledb.compress, timescaledb.compress_segmentby = 'exporter',
                               timescaledb.compress_orderby = 'time');
        PERFORM add_compression_policy('flows', interval '2 days');
    ELSE
        EXECUTE format('CREATE TABLE flows (%s) PARTITION BY RANGE (time)', cols);
    END IF;
END
$schema$;

CREATE INDEX IF NOT EXISTS flows_time_idx ON flows (time);

-- The partition of one UTC day, created if missing (no-op on TimescaleDB,
-- which makes its chunks itself). Returns true when it was created.
CREATE OR REPLACE FUNCTION flows_partition_create(day date) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    name text := 'flows_' || to_char(day, 'YYYYMMDD');
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb')
       OR to_regclass(name) IS NOT NULL THEN
        RETURN false;
    END IF;
    EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF flows FOR VALUES FROM (%L) TO (%L)',
                   name, day::text || ' 00:00:00+00', (day + 1)::text || ' 00:00:00+00');
    RETURN true;
END
$$;

-- Drops the day partitions that end before the start of the UTC day
-- keep_days ago (drop_chunks on TimescaleDB). Returns how many it dropped.
CREATE OR REPLACE FUNCTION flows_partitions_drop(keep_days integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cutoff date := (now() AT TIME ZONE 'UTC')::date - keep_days;
    part record;
    n integer := 0;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'timescaledb') THEN
        EXECUTE 'SELECT count(*) FROM drop_chunks(''flows'', older_than => $1)'
            INTO n USING cutoff::timestamptz;
        RETURN n;
    END IF;
    FOR part IN
        SELECT c.relname FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'flows'::regclass AND c.relname ~ '^flows_[0-9]{8}$'
          AND to_date(substr(c.relname, 7), 'YYYYMMDD') < cutoff
    LOOP
        EXECUTE format('DROP TABLE %I', part.relname);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

CREATE TABLE IF NOT EXISTS flowsink_offsets
(
    topic text NOT NULL,
    partition integer NOT NULL,
    last_offset bigint NOT NULL,        -- last Kafka offset applied, -1 none
    updated timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, partition)
);

-- 5-minute sums per AS pair, as flows_5m in ClickHouse (a plain view here:
-- computed at query time from flows).
CREATE OR REPLACE VIEW flows_5m AS
SELECT date_bin('5 minutes', time, timestamptz '2000-01-01 00:00:00+00') AS window_start,
       src_as, dst_as, src_as_name, dst_as_name,
       sum(bytes) AS bytes, sum(packets) AS packets, count(*) AS flows
FROM flows
GROUP BY 1, 2, 3, 4, 5;
