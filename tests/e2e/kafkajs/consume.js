// Reads a flow topic with kafkajs (a Kafka client written in JavaScript, not
// librdkafka) and counts the flows: every record is walked as a
// length-delimited stream (varint length + FlowMessage, DESIGN §3) and every
// message must carry a goflow2 flow type (field 1, varint 1..4). Prints
// "kafkajs: N records, M flows" and exits 0 once `want` flows have arrived,
// 1 on a bad record or when `timeout_ms` passes first.
//
//   node consume.js BROKER TOPIC WANT TIMEOUT_MS
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const [broker, topic, wantArg, timeoutArg] = process.argv.slice(2);
const want = Number(wantArg);
const timeoutMs = Number(timeoutArg || 30000);

function varint(buf, off) {
  let v = 0;
  let mul = 1;
  for (let i = 0; i < 10 && off + i < buf.length; i++) {
    const b = buf[off + i];
    v += (b & 0x7f) * mul;
    mul *= 128;
    if (!(b & 0x80)) return [v, i + 1];
  }
  return [null, 0];
}

// The FlowType of one FlowMessage (field 1), or 0 when absent. Other
// fields are skipped by wire type; a malformed message throws.
function flowType(msg) {
  let off = 0;
  let type = 0;
  while (off < msg.length) {
    const [tag, n] = varint(msg, off);
    if (tag === null) throw new Error('bad tag');
    off += n;
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (wire === 0) {
      const [v, m] = varint(msg, off);
      if (v === null) throw new Error('bad varint');
      if (field === 1) type = v;
      off += m;
    } else if (wire === 2) {
      const [len, m] = varint(msg, off);
      if (len === null || len > msg.length - off - m) throw new Error('bad length');
      off += m + len;
    } else if (wire === 1) {
      off += 8;
    } else if (wire === 5) {
      off += 4;
    } else {
      throw new Error('wire type ' + wire);
    }
  }
  if (off !== msg.length) throw new Error('field runs past the message');
  return type;
}

async function main() {
  const kafka = new Kafka({ clientId: 'flowcollector-kafkajs-test', brokers: [broker],
                            logLevel: logLevel.ERROR, retry: { retries: 3 } });
  const consumer = kafka.consumer({ groupId: 'kafkajs-test-' + process.pid });
  let records = 0;
  let flows = 0;
  let failed = null;
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  const timer = setTimeout(() => done('timeout'), timeoutMs);

  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      const buf = message.value;
      records++;
      try {
        let off = 0;
        while (off < buf.length) {
          const [len, n] = varint(buf, off);
          if (len === null || len > buf.length - off - n) throw new Error('bad frame');
          const t = flowType(buf.subarray(off + n, off + n + len));
          if (t < 1 || t > 4) throw new Error('not a flow (type ' + t + ')');
          flows++;
          off += n + len;
        }
      } catch (e) {
        failed = 'record ' + records + ': ' + e.message;
        done('bad');
      }
      if (flows >= want) done('ok');
    },
  });
  const why = await finished;
  clearTimeout(timer);
  await consumer.disconnect();
  console.log('kafkajs: ' + records + ' records, ' + flows + ' flows' +
              (failed ? ', ' + failed : '') + (why === 'timeout' ? ', timed out' : ''));
  process.exit(why === 'ok' && flows === want ? 0 : 1);
}

main().catch((e) => {
  console.log('kafkajs: ' + e.message);
  process.exit(1);
});
