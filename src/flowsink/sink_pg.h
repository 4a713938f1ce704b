/*
 * The PostgreSQL sink of flowsink (sink_pg.c): --postgres CONNINFO, rows
 * of table flows of deploy/postgres/schema.sql written with COPY, the
 * Kafka offsets of each batch in the same transaction (exactly-once
 * effect), day partitions created ahead, --postgres-retention DAYS.
 * Implements struct fc_sink_ops (sink.h); reads o->postgres and
 * o->postgres_retention.
 */
#ifndef FC_FLOWSINK_SINK_PG_H
#define FC_FLOWSINK_SINK_PG_H

#include "flowsink/sink.h"

extern const struct fc_sink_ops fc_sink_postgres;

#endif
