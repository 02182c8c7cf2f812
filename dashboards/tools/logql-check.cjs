// Parse LogQL queries with Grafana's own grammar (@grafana/lezer-logql, what Grafana's Loki query
// editor uses), offline.
//
// stdin:  ["{service_name=~\".+\"} | session_id = `x`", ...]
// stdout: [{"query", "errors": [{"from", "to", "near"}], "selector": ["service_name"],
//           "filters": ["session_id"]}, ...]
// "selector" are the labels of the stream selector (index labels: each value is a stream);
// "filters" are the labels of label filters after it (structured metadata or parsed labels).
// A query parses when "errors" is empty: lezer recovers from syntax errors by inserting error
// nodes, so an error node anywhere in the tree is a failed parse.
'use strict';

const { parser } = require('@grafana/lezer-logql');

function check(query) {
  const tree = parser.parse(query);
  const errors = [];
  const selector = [];
  const filters = [];
  const within = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) {
        errors.push({ from: node.from, to: node.to, near: query.slice(Math.max(0, node.from - 10), node.to + 10) });
      }
      if (node.name === 'Selector' || node.name === 'LabelFilter') {
        within.push(node.name);
      } else if (node.name === 'Identifier' && within.length) {
        const name = query.slice(node.from, node.to);
        (within[within.length - 1] === 'Selector' ? selector : filters).push(name);
      }
    },
    leave(node) {
      if (node.name === 'Selector' || node.name === 'LabelFilter') {
        within.pop();
      }
    },
  });
  if (tree.type.name !== 'LogQL') {
    errors.push({ from: 0, to: query.length, near: `top node ${tree.type.name}` });
  }
  return { query, errors, selector, filters };
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const queries = JSON.parse(input);
  process.stdout.write(JSON.stringify(queries.map(check)));
});
