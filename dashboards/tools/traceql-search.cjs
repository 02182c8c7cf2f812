// Run a TraceQL span search over spans given as JSON, the way Tempo answers a search: parsed with
// Grafana's grammar (@grafana/lezer-traceql), one span filter `{ ... }` optionally followed by
// `| select(...)`. Supports what the dashboards' searches use: && and || with parentheses, = and !=
// between a field and a string, nil, or an intrinsic keyword (status error/ok/unset, kind server/...).
// Anything else is an error, never a silent mismatch.
//
// stdin:  {"query": "...", "spans": [{"traceId", "spanId", "startMs", "durationNs", "name", "kind",
//          "status", "resource": {...}, "attributes": {...}}]}
// stdout: {"spans": [{"traceId", "spanId", "startMs", "durationNs", "attributes": {name: value}}]}
//         where "attributes" holds, like Tempo's response, every field of the filter and the select
//         that the span has, named without its scope ("service.name", "status", "kind").
'use strict';

const { parser } = require('@grafana/lezer-traceql');

const INTRINSICS = new Set(['status', 'kind', 'name']);

function fail(message) {
  throw new Error(message);
}

function children(node) {
  const list = [];
  for (let child = node.firstChild; child; child = child.nextSibling) {
    list.push(child);
  }
  return list;
}

function compile(query) {
  const tree = parser.parse(query);
  tree.iterate({
    enter(node) {
      if (node.type.isError) fail(`does not parse at ${node.from}: ${query}`);
    },
  });
  const text = (node) => query.slice(node.from, node.to);
  const filters = [];
  const selects = [];
  tree.iterate({
    enter(node) {
      if (node.name === 'SpansetFilter') filters.push(node.node);
      if (node.name === 'SelectOperation') selects.push(node.node);
      if (['MetricsOperation', 'MetricsOverTime', 'Aggregate', 'ScalarFilter', 'GroupOperation'].includes(node.name)) {
        fail(`not a span search: ${query}`);
      }
    },
  });
  if (filters.length !== 1) fail(`expected one span filter: ${query}`);

  function field(node) {
    const kids = children(node);
    if (node.name === 'FieldExpression' && kids.length === 1) return field(kids[0]);
    if (node.name === 'AttributeField') {
      const scope = kids.find((k) => ['Span', 'Resource'].includes(k.name));
      const identifier = kids.find((k) => k.name === 'Identifier');
      if (!scope || !identifier) fail(`unsupported attribute ${text(node)}`);
      return { scope: scope.name === 'Span' ? 'attributes' : 'resource', name: text(identifier) };
    }
    if (node.name === 'IntrinsicField' && INTRINSICS.has(text(node))) return { scope: 'intrinsic', name: text(node) };
    return fail(`unsupported field ${text(node)}`);
  }

  function literal(node) {
    const kids = children(node);
    if (node.name === 'FieldExpression' && kids.length === 1) return literal(kids[0]);
    if (node.name !== 'Static') fail(`unsupported operand ${text(node)}`);
    const kid = children(node)[0];
    if (kid && kid.name === 'String') return { value: JSON.parse(text(kid)) };
    if (text(node) === 'nil') return { nil: true };
    return { value: text(node) }; // an intrinsic keyword: error, ok, unset, server, client ...
  }

  const fields = [];
  function expression(node) {
    const kids = children(node);
    if (kids.length === 1) return expression(kids[0]);
    if (kids.length !== 3) fail(`unsupported expression ${text(node)}`);
    const [left, op, right] = kids;
    if (op.name === 'And' || op.name === 'Or') {
      const l = expression(left);
      const r = expression(right);
      return op.name === 'And' ? (span) => l(span) && r(span) : (span) => l(span) || r(span);
    }
    if (op.name !== 'FieldOp' || !['=', '!='].includes(text(op))) fail(`unsupported operator in ${text(node)}`);
    const f = field(left);
    const value = literal(right);
    fields.push(f);
    const equal = text(op) === '=';
    return (span) => {
      const actual = lookup(span, f);
      if (value.nil) return equal ? actual === undefined : actual !== undefined;
      // As in Tempo, a span without the attribute matches neither = nor !=.
      return actual !== undefined && (equal ? actual === value.value : actual !== value.value);
    };
  }

  const filterKids = children(filters[0]).filter((k) => k.name === 'FieldExpression');
  if (filterKids.length !== 1) fail(`unsupported span filter: ${query}`);
  const matches = expression(filterKids[0]);
  for (const select of selects) {
    tree.iterate({
      from: select.from,
      to: select.to,
      enter(inner) {
        const inside = inner.from >= select.from && inner.to <= select.to;
        if (inside && (inner.name === 'AttributeField' || inner.name === 'IntrinsicField')) {
          fields.push(field(inner.node));
        }
      },
    });
  }
  return { matches, fields };
}

function lookup(span, f) {
  if (f.scope === 'intrinsic') return span[f.name];
  const value = (span[f.scope] || {})[f.name];
  return value === null ? undefined : value;
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  try {
    const { query, spans } = JSON.parse(input);
    const { matches, fields } = compile(query);
    const out = spans.filter(matches).map((span) => {
      const attributes = {};
      for (const f of fields) {
        const value = lookup(span, f);
        if (value !== undefined) attributes[f.name] = value;
      }
      return { traceId: span.traceId, spanId: span.spanId, startMs: span.startMs, durationNs: span.durationNs, attributes };
    });
    process.stdout.write(JSON.stringify({ spans: out }));
  } catch (error) {
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
});
