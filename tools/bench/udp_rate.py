#!/usr/bin/env python3
"""Loss-free rate and CPU per flow of the collector, measured the way the
peers (nfcapd, nfacctd) are: real UDP over loopback, the collector pinned
to one core with taskset and tools/flowgen sending from another, one fixed
burst per rate.

For each protocol (v5, v9, IPFIX, sFlow), each output (kafka: a broker;
file: a length-delimited protobuf file in a temporary folder) and each
rate of the list, it starts a fresh collector on a free loopback port,
sends rate x --seconds flows with flowgen --rate, waits until the
collector is idle, reads its CPU time (utime + stime of /proc/PID/stat,
all threads; also split into the collector's own threads and
librdkafka's "rdk:" threads), stops it with SIGTERM and reads the final
counters it prints on exit.

The broker (--broker): "external" (default) is librdkafka's mock cluster
in a process of its own (BUILD/tests/e2e/mock_kafka), pinned to the
sender's core, as a real broker runs on another machine: the collector
pays for producing, not for being the broker. "embedded" is the
collector's own in-memory cluster (no --kafka-brokers), whose broker
thread (rdk:mock) then counts in the collector's CPU.

A run is loss-free when flows sent (flowgen) == flows_published_total ==
flows delivered (kafka_delivered_total minus counter samples, or the file
output's output_messages_total) and udp_kernel_drops_total is 0 and
flowgen had no send errors. The rate reported is the one flowgen achieved
(it can fall short of the target on a busy sender core). CPU per flow is
CPU seconds / flows published.

Bounded: every process is started by this script, waited for with a
timeout and stopped by PID, also on failure; loopback only. Example:

  tools/bench/udp_rate.py --build build --protos nf9 --outputs kafka \\
      --rates 250000,500000,1000000,1500000 --seconds 2

Extra collector arguments go after --, e.g. -- -X linger.ms=20
"""
import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

CLK_TCK = os.sysconf('SC_CLK_TCK')


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def proc_cpu(pid):
    """utime + stime of the whole process, seconds."""
    with open('/proc/%d/stat' % pid) as f:
        rest = f.read().rsplit(')', 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / CLK_TCK


def thread_cpu(pid):
    """cpu seconds by thread group: 'mock' for the embedded broker's own
    thread (rdk:mock), 'rdk' for librdkafka's other threads (rdk:*: the
    producer's and the mock cluster's clients), 'collector' for the rest."""
    out = {'collector': 0.0, 'rdk': 0.0, 'mock': 0.0}
    try:
        tids = os.listdir('/proc/%d/task' % pid)
    except OSError:
        return out
    for tid in tids:
        try:
            with open('/proc/%d/task/%s/stat' % (pid, tid)) as f:
                data = f.read()
        except OSError:
            continue
        name = data[data.index('(') + 1:data.rindex(')')]
        rest = data.rsplit(')', 1)[1].split()
        cpu = (int(rest[11]) + int(rest[12])) / CLK_TCK
        out['mock' if name == 'rdk:mock' else 'rdk' if name.startswith('rdk:')
            else 'collector'] += cpu
    return out


def udp_errors():
    """Host-wide UDP InErrors (socket buffer and checksum drops) from
    /proc/net/snmp: shown next to the collector's own kernel-drop counter,
    since other programs on the host add to it too."""
    with open('/proc/net/snmp') as f:
        rows = [line.split() for line in f if line.startswith('Udp:')]
    return int(dict(zip(rows[0][1:], rows[1][1:]))['InErrors'])


def counters(text):
    """Final Prometheus-style counters -> {name{labels}: value}."""
    vals = {}
    for line in text.splitlines():
        m = re.match(r'^flowcollector_(\S+) (\d+(?:\.\d+)?)$', line)
        if m:
            vals[m.group(1)] = float(m.group(2))
    return vals


def total(vals, name):
    return sum(v for k, v in vals.items() if k == name or k.startswith(name + '{'))


def wait_listening(logpath, proc, timeout):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            return False
        with open(logpath) as f:
            if 'listening on udp' in f.read():
                return True
        time.sleep(0.05)
    return False


def wait_idle(pid, timeout, quiet=0.3):
    """Until the process's CPU time stops moving for `quiet` seconds."""
    end = time.monotonic() + timeout
    last = proc_cpu(pid)
    while time.monotonic() < end:
        time.sleep(quiet)
        now = proc_cpu(pid)
        if now - last < 0.01:
            return
        last = now


def stop(proc, timeout=60):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_broker(a):
    """mock_kafka on the sender's core; returns (process, bootstrap list)."""
    proc = subprocess.Popen(['taskset', '-c', a.sender_cpu, a.mock_kafka, '4', 'flows',
                             'flow-counters'], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith('bootstraps='):
        proc.kill()
        proc.wait()
        raise RuntimeError('mock_kafka printed %r' % line)
    return proc, line.split('=', 1)[1]


def stop_broker(proc):
    if proc is None:
        return
    try:
        proc.stdin.close()
        proc.wait(timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        proc.kill()
        proc.wait()


def run_floor(a):
    """kafka_floor against a fresh mock_kafka: librdkafka's own CPU per
    record, with nothing of the collector in front of it."""
    for mode in ('produce', 'batch-partition'):
        broker = None
        try:
            broker, bootstraps = start_broker(a)
            g = subprocess.run(['taskset', '-c', a.collector_cpu, a.kafka_floor, '--brokers',
                                bootstraps, '--records', '1000000', '--size',
                                str(a.floor_size), '--mode', mode],
                               capture_output=True, text=True, timeout=180)
            print((g.stdout + g.stderr).strip(), flush=True)
        finally:
            stop_broker(broker)


def run_one(a, proto, output, rate, tmp):
    broker = None
    try:
        if output == 'kafka' and a.broker == 'external':
            broker, bootstraps = start_broker(a)
            return run_one_(a, proto, output, rate, tmp, ['--kafka-brokers', bootstraps])
        return run_one_(a, proto, output, rate, tmp, [])
    finally:
        stop_broker(broker)


def run_one_(a, proto, output, rate, tmp, broker_args):
    port = free_port()
    log = os.path.join(tmp, 'collector-%s-%s-%d.log' % (proto, output, rate))
    cmd = ['taskset', '-c', a.collector_cpu, a.collector, '--http-listen', 'off',
           '--listen', '127.0.0.1:%d' % port]
    if output == 'file':
        cmd += ['--output', 'file:' + os.path.join(tmp, 'flows.bin')]
    else:
        cmd += ['--output', 'kafka', '--kafka-flush-ms', '20000'] + broker_args
    cmd += a.extra
    count = min(int(rate * a.seconds), a.max_flows)
    res = {'proto': proto, 'output': output, 'target': rate}
    fpd = ['--flows-per-datagram', str(a.flows_per_datagram)] if a.flows_per_datagram else []
    with open(log, 'w') as lf:
        proc = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
    try:
        if not wait_listening(log, proc, 15):
            raise RuntimeError('collector did not start: see ' + log)
        time.sleep(0.3)  # the embedded broker settles
        cpu0, th0, snmp0 = proc_cpu(proc.pid), thread_cpu(proc.pid), udp_errors()
        g = subprocess.run(['taskset', '-c', a.sender_cpu, a.flowgen, '--proto', proto,
                            '--to', '127.0.0.1:%d' % port, '--count', str(count),
                            '--rate', str(rate), '--seed', '1'] + fpd,
                           capture_output=True, text=True, timeout=a.seconds * 5 + 30)
        m = re.search(r'flows=(\d+) .*counter_samples=(\d+) send_errors=(\d+) '
                      r'elapsed=([\d.]+)s', g.stderr + g.stdout)
        if g.returncode != 0 or not m:
            raise RuntimeError('flowgen failed: ' + g.stderr.strip())
        sent, sent_counters, send_errors, elapsed = (int(m.group(1)), int(m.group(2)),
                                                     int(m.group(3)), float(m.group(4)))
        wait_idle(proc.pid, 30)
        cpu1, th1, snmp1 = proc_cpu(proc.pid), thread_cpu(proc.pid), udp_errors()
    finally:
        stop(proc)
    with open(log) as f:
        vals = counters(f.read())
    published = total(vals, 'flows_published_total')
    if output == 'file':
        delivered = vals.get('output_messages_total{output="file"}', 0)
    else:
        delivered = (total(vals, 'kafka_delivered_total') -
                     total(vals, 'counters_published_total'))
    kdrops = total(vals, 'udp_kernel_drops_total')
    cpu = cpu1 - cpu0
    res.update(sent=sent, achieved=sent / elapsed if elapsed > 0 else 0.0,
               published=int(published), delivered=int(delivered), kdrops=int(kdrops),
               send_errors=send_errors, cpu=cpu,
               cpu_main=th1['collector'] - th0['collector'], cpu_rdk=th1['rdk'] - th0['rdk'],
               cpu_mock=th1['mock'] - th0['mock'],
               sent_counters=sent_counters, sys_udp_errors=snmp1 - snmp0)
    res['lossfree'] = (sent == published == delivered and kdrops == 0 and send_errors == 0)
    res['us_per_flow'] = cpu * 1e6 / published if published else float('nan')
    res['us_main'] = res['cpu_main'] * 1e6 / published if published else float('nan')
    return res


def fmt(r):
    return ('%-5s %-5s target %8d  achieved %9.0f  sent %8d  published %8d  delivered %8d  '
            'kdrops %6d (host udp errors %d)  %-9s  cpu %6.3fs  %.3f us/flow '
            '(collector threads %.3f; rdk threads %.3fs, rdk:mock %.3fs)' %
            (r['proto'], r['output'], r['target'], r['achieved'], r['sent'], r['published'],
             r['delivered'], r['kdrops'], r['sys_udp_errors'],
             'LOSS-FREE' if r['lossfree'] else 'LOSS',
             r['cpu'], r['us_per_flow'], r['us_main'], r['cpu_rdk'], r['cpu_mock']))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(os.path.dirname(here))
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--build', default=os.path.join(root, 'build'), help='meson build dir')
    ap.add_argument('--collector', help='collector binary (default BUILD/src/collector)')
    ap.add_argument('--flowgen', help='flowgen binary (default BUILD/tools/flowgen/flowgen)')
    ap.add_argument('--mock-kafka', help='broker binary (default BUILD/tests/e2e/mock_kafka)')
    ap.add_argument('--broker', choices=['external', 'embedded'], default='external',
                    help='kafka output: a mock broker process of its own (default) or the '
                    "collector's embedded one")
    ap.add_argument('--floor', action='store_true',
                    help='first measure librdkafka alone (tools/bench/kafka_floor: 1 M records '
                    'of --floor-size bytes, one produce call each, then in batches)')
    ap.add_argument('--floor-size', type=int, default=160, help='bytes per record (a flow)')
    ap.add_argument('--protos', default='nf5,nf9,ipfix,sflow')
    ap.add_argument('--outputs', default='kafka,file')
    ap.add_argument('--rates', default='100000,250000,500000,750000,1000000,1500000,2000000',
                    help='flows/s, ascending')
    ap.add_argument('--seconds', type=float, default=2.0, help='burst length per rate')
    ap.add_argument('--max-flows', type=int, default=1500000,
                    help='cap on flows per burst, for rates the sender cannot reach')
    ap.add_argument('--flows-per-datagram', type=int, default=0,
                    help="flowgen's --flows-per-datagram (default: flowgen's)")
    ap.add_argument('--collector-cpu', default='0')
    ap.add_argument('--sender-cpu', default='1')
    ap.add_argument('--keep-going', action='store_true',
                    help='try higher rates after two lossy ones (default: stop)')
    ap.add_argument('extra', nargs='*', help='after --: more collector arguments')
    a = ap.parse_args()
    a.collector = a.collector or os.path.join(a.build, 'src', 'collector')
    a.flowgen = a.flowgen or os.path.join(a.build, 'tools', 'flowgen', 'flowgen')
    a.mock_kafka = a.mock_kafka or os.path.join(a.build, 'tests', 'e2e', 'mock_kafka')
    a.kafka_floor = os.path.join(a.build, 'tools', 'bench', 'kafka_floor')
    if not 0 < a.seconds <= 30:
        ap.error('--seconds must be in (0, 30]')
    rates = [int(x) for x in a.rates.split(',') if x]
    summary = []
    if a.floor:
        run_floor(a)
    with tempfile.TemporaryDirectory(prefix='udp_rate.') as tmp:
        for proto in a.protos.split(','):
            for output in a.outputs.split(','):
                best, lossy = None, 0
                for rate in rates:
                    r = run_one(a, proto, output, rate, tmp)
                    print(fmt(r), flush=True)
                    if r['lossfree']:
                        lossy = 0
                        if best is None or r['achieved'] > best['achieved']:
                            best = r
                    else:
                        lossy += 1
                        if lossy >= 2 and not a.keep_going:
                            break
                    try:
                        os.unlink(os.path.join(tmp, 'flows.bin'))
                    except OSError:
                        pass
                summary.append((proto, output, best))
    print('\nsummary (collector on cpu %s, flowgen%s on cpu %s, %.1f s bursts%s)' %
          (a.collector_cpu, ' and mock_kafka' if a.broker == 'external' else '',
           a.sender_cpu, a.seconds,
           ', extra: ' + ' '.join(a.extra) if a.extra else ''))
    print('%-5s %-6s %22s %16s %26s' % ('proto', 'output', 'max loss-free flows/s',
                                          'CPU us/flow', 'of which collector threads'))
    for proto, output, best in summary:
        if best:
            print('%-5s %-6s %22.0f %16.3f %26.3f' % (proto, output, best['achieved'],
                                                      best['us_per_flow'], best['us_main']))
        else:
            print('%-5s %-6s %22s' % (proto, output, 'none of the rates'))
    return 0


if __name__ == '__main__':
    sys.exit(main())
