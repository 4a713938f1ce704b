// Runs deploy/clickhouse/schema.sql on the ClickHouse that chdb embeds, fed
// in one of two ways:
//
// file:DATA   the Kafka engine table becomes a Null engine table with the
//             same columns (plus the Kafka virtual columns the views read,
//             empty), so an INSERT into it drives the materialized views
//             exactly as a consumed batch would; the length-delimited
//             FlowMessages of DATA (the topic's framing, format Protobuf
//             with proto/flow.proto) are inserted into it.
// kafka:BROKER:WANT
//             the Kafka engine table as the file has it, only its
//             kafka_broker_list pointed at BROKER (the collector's
//             embedded Kafka); prints "ready" on stderr once the tables
//             exist, then waits until flows.flows holds WANT rows (60 s at
//             most) while ClickHouse consumes the topic.
//
// Every other statement runs as the file has it. Then each named query of
// QUERIES (a JSON object name -> SQL) is run; the results are printed as
// one JSON object on stdout for e2e_clickhouse.py to check.
//
//   node load.js SCHEMA_SQL PROTO_DIR (file:DATA | kafka:BROKER:WANT) QUERIES_JSON
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Session } = require('chdb');

const [schemaPath, protoDir, input, queriesPath] = process.argv.slice(2);

// Statements end with ';' at the end of a line; comments are whole lines.
// Good enough for our schema file, which is checked to hold the expected
// number of statements below.
function statements(sql) {
  const body = sql.split('\n').filter((l) => !/^\s*--/.test(l)).join('\n');
  return body.split(/;\s*(?:\n|$)/).map((s) => s.trim()).filter((s) => s.length);
}

// The Kafka engine table with ENGINE = Kafka SETTINGS ... replaced by
// ENGINE = Null; the virtual columns the views use become real columns
// holding what a successfully decoded message would carry.
function swapKafka(stmt) {
  const m = /^([\s\S]*\))\s*ENGINE\s*=\s*Kafka\b[\s\S]*$/.exec(stmt);
  if (!m) throw new Error('no ENGINE = Kafka in: ' + stmt.slice(0, 80));
  const cols = m[1].replace(/\)\s*$/, ',\n    _topic String DEFAULT \'flows\', ' +
    '_partition UInt64 DEFAULT 0, _offset UInt64 DEFAULT 0, _error String DEFAULT \'\', ' +
    '_raw_message String DEFAULT \'\'\n)');
  return cols + '\nENGINE = Null';
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main() {
  const schema = fs.readFileSync(schemaPath, 'utf8');
  const queries = JSON.parse(fs.readFileSync(queriesPath, 'utf8'));
  const km = /^kafka:(.+):(\d+)$/.exec(input);
  const dataPath = km ? null : input.replace(/^file:/, '');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fc-chdb-'));
  const out = { version: null, statements: 0, kafka_tables: 0, kafka_columns: [], results: {} };
  // Embedded ClickHouse resolves the Kafka table's kafka_schema against
  // the working directory (a server: against format_schema_path, which
  // chdb's --format_schema_path does not change); the file() path below is
  // absolute.
  fs.copyFileSync(path.join(protoDir, 'flow.proto'), path.join(dir, 'flow.proto'));
  process.chdir(dir);
  // 64-bit results quoted: JSON.parse would round them past 2^53.
  const s = new Session(path.join(dir, 'db'),
    { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
  try {
    out.version = s.query('SELECT version()', 'TSVRaw').trim();
    let kafkaTable = null;
    for (const st of statements(schema)) {
      let run = st;
      if (/ENGINE\s*=\s*Kafka\b/.test(st)) {
        kafkaTable = /CREATE TABLE (?:IF NOT EXISTS )?(\S+)/.exec(st)[1];
        out.kafka_tables++;
        if (km) {
          run = st.replace(/kafka_broker_list\s*=\s*'[^']*'/, "kafka_broker_list = '" + km[1] + "'");
          if (run === st) throw new Error('no kafka_broker_list in the Kafka table');
        } else {
          run = swapKafka(st);
        }
      }
      s.query(run);
      out.statements++;
    }
    if (!kafkaTable) throw new Error('schema has no Kafka engine table');
    const desc = JSON.parse(s.query('DESCRIBE TABLE ' + kafkaTable, 'JSON')).data;
    const cols = desc.filter((c) => !c.name.startsWith('_'));
    out.kafka_columns = cols.map((c) => c.name);
    const lit = (v) => "'" + v.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
    if (km) {
      process.stderr.write('ready\n');
      const want = Number(km[2]);
      const t0 = Date.now();
      let n = 0;
      while (Date.now() - t0 < 60000) {
        n = Number(s.query('SELECT count() FROM flows.flows', 'TSVRaw').trim());
        if (n >= want) break;
        await sleep(200);
      }
      out.consumed_ms = Date.now() - t0;
      if (n < want) {
        out.kafka_consumers = s.query('SELECT num_messages_read, exceptions.text FROM system.kafka_consumers', 'TSV');
      }
      // a moment more: anything beyond WANT would be a duplicate
      await sleep(1000);
    } else {
      // The columns of the Kafka table as schema.sql declares them, read
      // back from the engine; Protobuf decodes the same list by name.
      const structure = cols.map((c) => c.name + ' ' + c.type).join(', ');
      s.query('INSERT INTO ' + kafkaTable + ' (' + out.kafka_columns.join(', ') + ') ' +
        'SELECT * FROM file(' + lit(path.resolve(dataPath)) + ", 'Protobuf', " + lit(structure) + ') ' +
        'SETTINGS format_schema = ' + lit(path.resolve(protoDir, 'flow.proto') + ':FlowMessage'));
    }
    for (const [name, sql] of Object.entries(queries)) {
      out.results[name] = JSON.parse(s.query(sql, 'JSONCompact')).data;
    }
  } finally {
    s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write('load.js: ' + (e && e.message ? e.message : String(e)) + '\n');
  process.exit(1);
});
