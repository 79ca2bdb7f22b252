// Renders a Vega-Lite spec (JSON on stdin) to SVG (stdout). vega is ESM with top-level await, which the
// CommonJS build cannot require() and which jest's module loader cannot import reliably, so the chart is
// drawn in a process of its own (client/report-chart.ts starts it).
import * as vega from 'vega';
import * as vl from 'vega-lite';

let input = '';
for await (const chunk of process.stdin) input += chunk;
const view = new vega.View(vega.parse(vl.compile(JSON.parse(input)).spec), { renderer: 'none' });
try {
  process.stdout.write(await view.toSVG());
} finally {
  view.finalize();
}
