// Runs deploy/clickhouse/schema.sql on the ClickHouse that chdb embeds, with
// one change: the Kafka engine table becomes a Null engine table with the
// same columns (plus the Kafka virtual columns the views read, empty), so
// an INSERT into it drives the materialized views exactly as a consumed
// batch would. Every other statement runs as the file has it. Then the
// length-delimited FlowMessages of DATA (the topic's framing, format
// Protobuf with proto/flow.proto) are inserted, and each named query of
// QUERIES (a JSON object name -> SQL) is run; the results are printed as
// one JSON object on stdout for e2e_clickhouse.py to check.
//
//   node load.js SCHEMA_SQL PROTO_DIR DATA QUERIES_JSON
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { Session } = require('chdb');

const [schemaPath, protoDir, dataPath, queriesPath] = process.argv.slice(2);

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

function main() {
  const schema = fs.readFileSync(schemaPath, 'utf8');
  const queries = JSON.parse(fs.readFileSync(queriesPath, 'utf8'));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fc-chdb-'));
  const out = { version: null, statements: 0, kafka_tables: 0, kafka_columns: [], results: {} };
  // 64-bit results quoted: JSON.parse would round them past 2^53.
  const s = new Session(dir, { connectionArgs: ['--output_format_json_quote_64bit_integers=1'] });
  try {
    out.version = s.query('SELECT version()', 'TSVRaw').trim();
    let kafkaTable = null;
    for (const st of statements(schema)) {
      let run = st;
      if (/ENGINE\s*=\s*Kafka\b/.test(st)) {
        run = swapKafka(st);
        out.kafka_tables++;
        kafkaTable = /CREATE TABLE (?:IF NOT EXISTS )?(\S+)/.exec(st)[1];
      }
      s.query(run);
      out.statements++;
    }
    if (!kafkaTable) throw new Error('schema has no Kafka engine table');
    // The columns of the Kafka table as schema.sql declares them, read back
    // from the engine; the same list is what Protobuf decodes by name.
    const desc = JSON.parse(s.query('DESCRIBE TABLE ' + kafkaTable, 'JSON')).data;
    const cols = desc.filter((c) => !c.name.startsWith('_'));
    out.kafka_columns = cols.map((c) => c.name);
    const structure = cols.map((c) => c.name + ' ' + c.type).join(', ');
    const lit = (v) => "'" + v.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
    s.query('INSERT INTO ' + kafkaTable + ' (' + out.kafka_columns.join(', ') + ') ' +
      'SELECT * FROM file(' + lit(path.resolve(dataPath)) + ", 'Protobuf', " + lit(structure) + ') ' +
      'SETTINGS format_schema = ' + lit(path.resolve(protoDir, 'flow.proto') + ':FlowMessage'));
    for (const [name, sql] of Object.entries(queries)) {
      out.results[name] = JSON.parse(s.query(sql, 'JSONCompact')).data;
    }
  } finally {
    s.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

try {
  main();
} catch (e) {
  process.stderr.write('load.js: ' + (e && e.message ? e.message : String(e)) + '\n');
  process.exit(1);
}
