// The hand-off map: teams as nodes, routine hand-offs as solid edges, unmapped ones dashed with their counts.
// Layout by dagre (@dagrejs/dagre, a layered graph layout); this file only draws what dagre placed.
import dagre from '@dagrejs/dagre';
import type { Graph } from './types';

const SVG = 'http://www.w3.org/2000/svg';
const NODE_H = 36;
const PALETTE = ['#0c66e4', '#1f845a', '#a54800', '#6e5dc6', '#c9372c', '#227d9b'];

function svg(tag: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** Colour per process, stable in the order the processes are listed. */
export function processColours(processes: string[]): Record<string, string> {
  return Object.fromEntries(processes.map((p, i) => [p, PALETTE[i % PALETTE.length]]));
}

export function renderGraph(graph: Graph, processes: string[]): SVGElement {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 40, ranksep: 110, edgesep: 20, marginx: 16, marginy: 16 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const name of graph.nodes) g.setNode(name, { label: name, width: Math.max(80, name.length * 8 + 28), height: NODE_H });
  graph.edges.forEach((e, i) => {
    const label = e.kind === 'unmapped' ? String(e.count ?? '') : '';
    g.setEdge(e.from, e.to, { label, width: label ? label.length * 8 + 8 : 0, height: label ? 16 : 0, labelpos: 'c' }, `e${i}`);
  });
  dagre.layout(g);
  const colours = processColours(processes);
  const size = g.graph();
  const width = Math.ceil(size.width ?? 200);
  const height = Math.ceil(size.height ?? 100);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'handoff-graph' });
  root.append(svg('title', {}, 'Hand-off map: teams and the hand-offs between them'));
  const defs = svg('defs', {});
  for (const [p, c] of Object.entries({ ...colours, unmapped: 'var(--bad)' })) {
    const marker = svg('marker', { id: `arrow-${p}`, viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', fill: c }));
    defs.append(marker);
  }
  root.append(defs);
  graph.edges.forEach((e, i) => {
    const placed = g.edge({ v: e.from, w: e.to, name: `e${i}` }) as { points: { x: number; y: number }[]; x?: number; y?: number };
    const d = placed.points.map((p, j) => `${j ? 'L' : 'M'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    const unmapped = e.kind === 'unmapped';
    const colour = unmapped ? 'var(--bad)' : colours[e.process] ?? 'var(--accent)';
    const group = svg('g', { class: `edge ${e.kind}`, 'data-process': e.process, 'data-from': e.from, 'data-to': e.to, 'data-kind': e.kind });
    group.append(svg('title', {}, `${e.process}: ${e.from} → ${e.to}${unmapped ? ` (unmapped, ${e.count} requests)` : ' (routine)'}`));
    group.append(
      svg('path', {
        d,
        fill: 'none',
        stroke: colour,
        'stroke-width': unmapped ? 1.5 : 2,
        ...(unmapped ? { 'stroke-dasharray': '6 4' } : {}),
        'marker-end': `url(#arrow-${unmapped ? 'unmapped' : e.process})`,
      }),
    );
    if (unmapped && placed.x !== undefined && placed.y !== undefined) {
      group.append(svg('text', { x: placed.x, y: placed.y + 4, 'text-anchor': 'middle', class: 'edge-count', 'data-value': String(e.count) }, String(e.count)));
    }
    root.append(group);
  });
  for (const name of graph.nodes) {
    const n = g.node(name) as { x: number; y: number; width: number; height: number };
    const group = svg('g', { class: 'node', 'data-team': name });
    group.append(svg('rect', { x: n.x - n.width / 2, y: n.y - n.height / 2, width: n.width, height: n.height, rx: 6 }));
    group.append(svg('text', { x: n.x, y: n.y + 5, 'text-anchor': 'middle' }, name));
    root.append(group);
  }
  return root;
}
