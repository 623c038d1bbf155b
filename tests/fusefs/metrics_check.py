# SPDX-License-Identifier: MIT
"""metrics_check.py - the checks of test_metrics_http.sh, in Python's
standard library alone (Debian 12 has python3 by default, not curl).

  metrics_check.py http HOST PORT OUT      the HTTP answers of a metrics
                                           server; the GET body into OUT
  metrics_check.py lint FILE               the exposition format and
                                           gpuvm's naming
  metrics_check.py status FILE STATUS PID  every series of PID in FILE
                                           against its status text
  metrics_check.py prom URL JOB STATUS PID [COMM]
                                           the same through a Prometheus
                                           server's query API, its target
                                           up without error (COMM: the
                                           label of another process, as
                                           Prometheus reads it)
  metrics_check.py dashboard JSON FILE [URL]
                                           the Grafana dashboard: valid, its
                                           queries over series FILE has (and
                                           each evaluated by the Prometheus
                                           at URL)

Each prints what it checked; a failure is one line, "FAIL: ...", and exit
status 1.
"""
import json
import math
import re
import socket
import sys
import time
import urllib.parse
import urllib.request

NAME = re.compile(r'[a-zA-Z_:][a-zA-Z0-9_:]*')
LABEL = re.compile(r'[a-zA-Z_][a-zA-Z0-9_]*')
METRICS_TYPE = 'text/plain; version=0.0.4; charset=utf-8'
# status keys that are not counters of a device: no series
NOT_SERIES = {'state', 'pid', 'uid', 'comm', 'driver', 'flags', 'version', 'ctl_applied',
              'ctl_error', 'devices', 'device', 'granularity', 'chunk_size', 'arena_base',
              'arena_size', 'pt_entries', 'alloc_capacity'}
failures = 0


def fail(msg):
    global failures
    failures += 1
    print('FAIL: ' + msg)


def done(what):
    if failures:
        sys.exit(1)
    print('ok: ' + what)


# ---- HTTP ----

def ask(host, port, data, timeout=5.0):
    """Send @data, read until the server closes: (status, headers, body, secs)."""
    start = time.monotonic()
    s = socket.create_connection((host, port), timeout=timeout)
    if data:
        s.sendall(data)
    out = b''
    try:
        while True:
            d = s.recv(65536)
            if not d:
                break
            out += d
    except socket.timeout:
        s.close()
        return None, {}, out, time.monotonic() - start
    s.close()
    head, _, body = out.partition(b'\r\n\r\n')
    lines = head.decode('latin-1').split('\r\n')
    m = re.match(r'HTTP/1\.1 (\d{3}) ', lines[0])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(':')
        headers[k.strip().lower()] = v.strip()
    return int(m.group(1)) if m else lines[0], headers, body, time.monotonic() - start


def expect(host, port, what, data, status, headers=None):
    got, hdrs, b, _ = ask(host, port, data)
    if got != status:
        fail('%s: status %s, want %s' % (what, got, status))
        return b
    if hdrs.get('content-length') != str(len(b)):
        fail('%s: Content-Length %s for %d bytes' % (what, hdrs.get('content-length'), len(b)))
    if hdrs.get('connection') != 'close':
        fail('%s: no Connection: close' % what)
    if 'date' not in hdrs:
        fail('%s: no Date' % what)
    for k, v in (headers or {}).items():
        if hdrs.get(k) != v:
            fail('%s: %s: %s, want %s' % (what, k, hdrs.get(k), v))
    return b


def check_http(host, port, out):
    port = int(port)
    get = b'GET /metrics HTTP/1.1\r\nHost: x\r\nUser-Agent: test\r\n\r\n'
    body = expect(host, port, 'GET /metrics', get, 200,
                  headers={'content-type': METRICS_TYPE})
    with open(out, 'wb') as f:
        f.write(body)
    if not body.startswith(b'# HELP gpuvm_processes '):
        fail('GET /metrics: %r...' % body[:60])
    for what, data in (('HTTP/1.0', b'GET /metrics HTTP/1.0\r\n\r\n'),
                       ('a query string', b'GET /metrics?x=1 HTTP/1.1\r\nHost: x\r\n\r\n'),
                       ('bare LF lines', b'GET /metrics HTTP/1.0\n\n'),
                       ('the absolute form', b'GET http://x/metrics HTTP/1.1\r\nHost: x\r\n\r\n')):
        expect(host, port, what, data, 200, headers={'content-type': METRICS_TYPE})
    got, hdrs, b, _ = ask(host, port, b'HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n')
    if got != 200 or b or int(hdrs.get('content-length', -1)) != len(body):
        fail('HEAD /metrics: %s, %d bytes, Content-Length %s' %
             (got, len(b), hdrs.get('content-length')))
    for path in (b'/', b'/metricsx', b'/metrics/', b'/gpuvm/metrics'):
        expect(host, port, 'GET ' + path.decode(),
               b'GET ' + path + b' HTTP/1.1\r\nHost: x\r\n\r\n', 404)
    for method in (b'POST', b'PUT', b'DELETE', b'OPTIONS'):
        expect(host, port, method.decode() + ' /metrics',
               method + b' /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
               405, headers={'allow': 'GET, HEAD'})
    # a body the server does not want is read away: the 405 still arrives
    expect(host, port, 'POST /metrics with 60 KiB', b'POST /metrics HTTP/1.1\r\nHost: x\r\n'
           b'Content-Length: 61440\r\n\r\n' + b'z' * 61440, 405)
    for what, data in (('no Host in HTTP/1.1', b'GET /metrics HTTP/1.1\r\n\r\n'),
                       ('no version', b'GET /metrics\r\n\r\n'),
                       ('garbage', b'\x00\x01\x02 \r\n\r\n'),
                       ('two spaces', b'GET  /metrics HTTP/1.1\r\nHost: x\r\n\r\n')):
        expect(host, port, what, data, 400)
    expect(host, port, 'HTTP/2.0', b'GET /metrics HTTP/2.0\r\n\r\n', 505)
    expect(host, port, '9 KiB of headers',
           b'GET /metrics HTTP/1.1\r\nHost: x\r\nX: ' + b'a' * 9216 + b'\r\n\r\n', 431)
    expect(host, port, 'a 9 KiB request line',
           b'GET /' + b'a' * 9216 + b' HTTP/1.1\r\nHost: x\r\n\r\n', 414)

    # slow clients hold one of the 4 threads each, for a bounded time
    silent = [socket.create_connection((host, port)) for _ in range(2)]
    partial = socket.create_connection((host, port))
    partial.sendall(b'GET /metr')
    got, _, _, secs = ask(host, port, get)
    if got != 200 or secs > 2.0:
        fail('GET beside 2 silent clients and a slow one: %s after %.1f s' % (got, secs))
    partial.settimeout(8)
    start = time.monotonic()
    try:
        line = partial.recv(4096).split(b'\r\n')[0]
    except socket.timeout:
        line = b'(nothing)'
    secs = time.monotonic() - start
    if not line.startswith(b'HTTP/1.1 408 ') or secs > 5.0:
        fail('a request that never ends: %r after %.1f s, want 408 in about 3 s' % (line, secs))
    for s in silent:
        s.settimeout(5)
        try:
            if s.recv(4096):
                fail('a silent client got an answer')
        except socket.timeout:
            fail('a silent client still connected after %.1f s' % (time.monotonic() - start + 3))
        s.close()
    partial.close()
    done('HTTP: 200 (1.1, 1.0, HEAD), 404, 405, 400, 505, 431, 414, 408, slow clients')


# ---- the exposition format ----

def unescape(s, i, allowed):
    """The escaped text from s[i] to the closing quote: (text, index past it)."""
    out = []
    while i < len(s):
        c = s[i]
        if c == '"':
            return ''.join(out), i + 1
        if c == '\n':
            raise ValueError('a raw newline')
        if c == '\\':
            if i + 1 >= len(s) or s[i + 1] not in allowed:
                raise ValueError('a bad escape at %d' % i)
            out.append({'\\': '\\', '"': '"', 'n': '\n'}[s[i + 1]])
            i += 2
            continue
        out.append(c)
        i += 1
    raise ValueError('no closing quote')


def parse_sample(line):
    m = NAME.match(line)
    if not m:
        raise ValueError('no metric name')
    name, i, labels = m.group(0), m.end(), {}
    if i < len(line) and line[i] == '{':
        i += 1
        while line[i] != '}':
            lm = LABEL.match(line, i)
            if not lm or line[lm.end():lm.end() + 2] != '="':
                raise ValueError('a bad label at %d' % i)
            key = lm.group(0)
            if key in labels:
                raise ValueError('label %s twice' % key)
            labels[key], i = unescape(line, lm.end() + 2, '\\"n')
            if line[i] == ',':
                i += 1
            elif line[i] != '}':
                raise ValueError('a bad label list at %d' % i)
        i += 1
    if line[i:i + 1] != ' ':
        raise ValueError('no space before the value')
    value = float(line[i + 1:].split(' ')[0])
    return name, labels, value


def parse_exposition(text):
    """Lint @text (reported with fail()); return {name: [(labels, value)]}, types."""
    families, types, helps, closed = {}, {}, {}, set()
    current = None
    if not text.endswith('\n'):
        fail('the text does not end with a newline')
    for n, line in enumerate(text.split('\n')[:-1], 1):
        where = 'line %d (%s)' % (n, line[:80])
        if not line:
            continue
        if line.startswith('#'):
            parts = line.split(' ', 3)
            if len(parts) >= 3 and parts[1] in ('HELP', 'TYPE'):
                name = parts[2]
                table = helps if parts[1] == 'HELP' else types
                if name in table:
                    fail('%s: a second %s' % (where, parts[1]))
                if name in families:
                    fail('%s: %s after the samples' % (where, parts[1]))
                if parts[1] == 'HELP':
                    try:
                        unescape((parts[3] if len(parts) > 3 else '') + '"', 0, '\\n')
                    except ValueError as e:
                        fail('%s: HELP: %s' % (where, e))
                    helps[name] = parts[3] if len(parts) > 3 else ''
                elif len(parts) != 4 or parts[3] not in (
                        'counter', 'gauge', 'histogram', 'summary', 'untyped'):
                    fail('%s: a bad TYPE' % where)
                else:
                    types[name] = parts[3]
            continue
        try:
            name, labels, value = parse_sample(line)
        except (ValueError, IndexError) as e:
            fail('%s: %s' % (where, e))
            continue
        if name != current:
            if name in closed:
                fail('%s: samples of %s not grouped' % (where, name))
            if current:
                closed.add(current)
            current = name
        series = families.setdefault(name, [])
        if any(l == labels for l, _ in series):
            fail('%s: the same series twice' % where)
        series.append((labels, value))
    for name in sorted(set(families) | set(types) | set(helps)):
        if not name.startswith('gpuvm_'):
            fail('%s: not gpuvm_' % name)
        if name not in helps or not helps[name]:
            fail('%s: no HELP' % name)
        if name not in types:
            fail('%s: no TYPE' % name)
        elif (types[name] == 'counter') != name.endswith('_total'):
            fail('%s: a %s %s _total' % (name, types[name],
                                         'without' if types[name] == 'counter' else 'with'))
        if name.endswith('_bytes_total') or name.endswith('_bytes'):
            if not re.search(r'\bbytes\b', helps.get(name, ''), re.I):
                fail('%s: its HELP does not say bytes' % name)
        want = {'gpuvm_processes': set(), 'gpuvm_segment_ok': {'pid', 'comm', 'uid'}}.get(
            name, {'pid', 'comm', 'uid', 'device'})
        for labels, _ in families.get(name, []):
            extra = set(labels) - want
            if name in ('gpuvm_driver_calls_total', 'gpuvm_driver_seconds_total'):
                extra.discard('call')
            if not want <= set(labels) or extra:
                fail('%s: labels %s, want %s' % (name, sorted(labels), sorted(want)))
                break
    return families, types


def check_lint(path):
    with open(path, encoding='utf-8') as f:
        families, types = parse_exposition(f.read())
    nr = sum(len(v) for v in families.values())
    done('format: %d families, %d samples, HELP and TYPE on each, counters _total, '
         'labels pid comm uid device' % (len(types), nr))


# ---- against the status ----

def status_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            k, sep, v = line.rstrip('\n').partition(': ')
            if sep:
                keys[k] = v
    return keys


def status_key(name, labels):
    base = name[len('gpuvm_'):]
    if base == 'driver_calls_total':
        return 'driver_' + labels.get('call', '?')
    if base == 'driver_seconds_total':
        return 'driver_ns_' + labels.get('call', '?')
    for suffix in ('_bytes_total', '_bytes', '_total', '_ratio'):
        if base.endswith(suffix):
            return base[:-len(suffix)]
    return base


def compare(series, st, pid, what):
    """@series: [(name, labels, value)] of @pid; @st: its status keys."""
    seen = set()
    for name, labels, value in series:
        if name == 'gpuvm_segment_ok':
            if value != 1:
                fail('%s: gpuvm_segment_ok %s' % (what, value))
            continue
        for label, key in (('comm', 'comm'), ('uid', 'uid'), ('device', 'device')):
            if labels.get(label) != st.get(key):
                fail('%s: %s{%s="%s"}, status %s: %s' %
                     (what, name, label, labels.get(label), key, st.get(key)))
        key = status_key(name, labels)
        seen.add(key)
        if key not in st:
            fail('%s: %s has no status key %s' % (what, name, key))
            continue
        want = float(st[key])
        if '.' in st[key] and abs(value - want) < 0.00005:
            continue
        if key.startswith('driver_ns_'):
            # seconds with 9 decimals against ns (a float's 53 bits may
            # round the last digit once through Prometheus)
            if abs(value * 1e9 - want) <= max(1.0, want * 1e-15):
                continue
            fail('%s: %s %s s, status %s: %s ns' % (what, name, value, key, st[key]))
            continue
        if value != want or math.isnan(value):
            fail('%s: %s %s, status %s: %s' % (what, name, value, key, st[key]))
    missing = sorted(set(st) - NOT_SERIES - seen)
    if missing:
        fail('%s: no series for the status keys %s' % (what, ' '.join(missing)))
    if 'gpuvm_segment_ok' not in [s[0] for s in series]:
        fail('%s: no gpuvm_segment_ok for pid %s' % (what, pid))
    return len(seen)


def check_status(path, status_path, pid):
    with open(path, encoding='utf-8') as f:
        families, _ = parse_exposition(f.read())
    series = [(name, labels, value) for name, samples in families.items()
              for labels, value in samples if labels.get('pid') == pid]
    st = status_keys(status_path)
    n = compare(series, st, pid, 'exposition')
    done('%d series of pid %s match its %d status keys' % (len(series), pid, n))


# ---- through Prometheus ----

def api(url, path, **params):
    q = urllib.parse.urlencode(params)
    with urllib.request.urlopen('%s/api/v1/%s?%s' % (url, path, q), timeout=10) as r:
        doc = json.load(r)
    if doc.get('status') != 'success':
        raise RuntimeError('%s: %s' % (path, doc))
    return doc['data']


def check_prom(url, job, status_path, pid, comm=None):
    targets = [t for t in api(url, 'targets')['activeTargets'] if t['labels']['job'] == job]
    if len(targets) != 1:
        fail('%s: %d targets' % (job, len(targets)))
    for t in targets:
        if t['health'] != 'up' or t['lastError']:
            fail('%s: target %s, last error: %s' % (job, t['health'], t['lastError']))
    res = api(url, 'query', query='{__name__=~"gpuvm_.+",job="%s",pid="%s"}' % (job, pid))
    series = [(r['metric']['__name__'],
               {k: v for k, v in r['metric'].items()
                if k not in ('__name__', 'job', 'instance')},
               float(r['value'][1])) for r in res['result']]
    st = status_keys(status_path)
    n = compare(series, st, pid, 'prometheus ' + job)
    what = '%d series of pid %s in Prometheus (job %s) match its %d status keys' % (
        len(series), pid, job, n)
    if comm is not None:
        res = api(url, 'query', query='gpuvm_mapped_bytes{job="%s"}' % job)
        comms = [r['metric'].get('comm') for r in res['result']]
        if comm not in comms:
            fail('%s: no comm %r among %r' % (job, comm, comms))
        what += '; comm %s read back' % comm
    done(what)


# ---- the Grafana dashboard ----

# what its panels must show, of the series gpuvm exports
DASHBOARD_NEEDS = ('gpuvm_mapped_bytes', 'gpuvm_requested_bytes', 'gpuvm_cached_bytes',
                   'gpuvm_frag_external_ratio', 'gpuvm_frag_internal_ratio',
                   'gpuvm_driver_calls_total', 'gpuvm_driver_seconds_total', 'gpuvm_ooms_total')


def dashboard_queries(doc):
    """(where, PromQL) of every panel target and template variable."""
    out = []
    for p in doc.get('panels', []):
        for t in p.get('targets', []):
            out.append(('panel "%s" %s' % (p.get('title'), t.get('refId')), t.get('expr', '')))
    for v in doc.get('templating', {}).get('list', []):
        if v.get('type') == 'query':
            q = v.get('query')
            if isinstance(q, dict):
                q = q.get('query')
            out.append(('variable $%s' % v.get('name'), q))
    return out


def grafana_to_promql(q):
    """A query as Grafana sends it, its variables set to everything."""
    m = re.match(r'^label_values\((.*),\s*(\w+)\)$', q)
    if m:
        q = m.group(1)
    q = re.sub(r'=~"\$\w+"', '=~".*"', q)
    return q.replace('$__rate_interval', '1m').replace('$__range', '5m')


def check_dashboard(path, metrics_path, url=None):
    with open(path) as f:
        doc = json.load(f)
    with open(metrics_path, encoding='utf-8') as f:
        _, types = parse_exposition(f.read())
    ids, used = set(), set()
    for p in doc.get('panels', []):
        if p.get('id') in ids:
            fail('panel id %s twice' % p.get('id'))
        ids.add(p.get('id'))
        if p.get('datasource', {}).get('uid') != '${datasource}':
            fail('panel "%s": not on the $datasource variable' % p.get('title'))
        if not p.get('targets') or not p.get('gridPos') or not p.get('title'):
            fail('panel %s: no targets, gridPos or title' % p.get('id'))
    queries = dashboard_queries(doc)
    for where, q in queries:
        names = set(re.findall(r'\bgpuvm_[a-zA-Z0-9_]+', q or ''))
        if not names:
            fail('%s: no gpuvm series in %r' % (where, q))
        for n in sorted(names - set(types)):
            fail('%s: %s is not in the exposition' % (where, n))
        used |= names
    for n in DASHBOARD_NEEDS:
        if n not in used:
            fail('no panel shows %s' % n)
    what = '%d panels, %d queries over %d series of the exposition' % (
        len(ids), len(queries), len(used))
    if url:
        for where, q in queries:
            try:
                res = api(url, 'query', query=grafana_to_promql(q))['result']
            except Exception as e:  # an HTTP 400 is PromQL Prometheus refuses
                fail('%s: Prometheus refuses %r: %s' % (where, grafana_to_promql(q), e))
                continue
            # a paused program has no rate and no OOM: those may be empty
            if not res and not re.search(r'rate\(|increase\(|> 0', q):
                fail('%s: no data for %r' % (where, grafana_to_promql(q)))
        what += ', each one evaluated by Prometheus'
    done('dashboard: ' + what)


def main(argv):
    cmds = {'http': (check_http, 3), 'lint': (check_lint, 1), 'status': (check_status, 3),
            'prom': (check_prom, 4), 'dashboard': (check_dashboard, 2)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 < cmds[argv[1]][1]:
        print(__doc__)
        return 2
    cmds[argv[1]][0](*argv[2:])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
