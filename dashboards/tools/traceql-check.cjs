// Parse TraceQL queries with Grafana's own grammar (@grafana/lezer-traceql, what Grafana's query
// editor uses), offline.
//
// stdin:  ["{ span.session.id != nil }", ...]
// stdout: [{"query", "errors": [{"from", "to", "near"}], "attributes": [{"scope", "name"}],
//           "intrinsics": ["status", ...]}, ...]
// A query parses when "errors" is empty: lezer recovers from syntax errors by inserting error
// nodes, so an error node anywhere in the tree is a failed parse.
'use strict';

const { parser } = require('@grafana/lezer-traceql');

const SCOPES = { Span: 'span', Resource: 'resource', Event: 'event', Link: 'link', Instrumentation: 'instrumentation' };

function check(query) {
  const tree = parser.parse(query);
  const errors = [];
  const attributes = [];
  const intrinsics = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push({ from: node.from, to: node.to, near: query.slice(Math.max(0, node.from - 10), node.to + 10) });
      } else if (node.name === 'AttributeField') {
        let scope = '';
        let name = '';
        for (let child = node.node.firstChild; child; child = child.nextSibling) {
          if (SCOPES[child.name]) {
            scope = SCOPES[child.name];
          } else if (child.name === 'Identifier') {
            name = query.slice(child.from, child.to);
          }
        }
        attributes.push({ scope, name });
      } else if (node.name === 'IntrinsicField') {
        intrinsics.push(query.slice(node.from, node.to));
      }
    },
  });
  if (tree.type.name !== 'TraceQL') {
    errors.push({ from: 0, to: query.length, near: `top node ${tree.type.name}` });
  }
  return { query, errors, attributes, intrinsics };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const queries = JSON.parse(input);
  process.stdout.write(JSON.stringify(queries.map(check)));
});
