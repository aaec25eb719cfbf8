// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by owner
// (a package, a folder of ours, Node internals, GC, idle), for BENCHMARKS.md.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** [owner, share 0..1], largest first. */
  byOwner: Array<[string, number]>;
  /** [function @ file:line, owner, share 0..1], largest first. */
  byFunction: Array<[string, string, number]>;
  /** [function @ file:line, share 0..1] of our own functions by inclusive time (self + callees), largest first. */
  oursInclusive: Array<[string, number]>;
}

function ownerOf(url: string, name: string): string {
  if (name === '(garbage collector)' || name === '(idle)' || name === '(program)') return name;
  if (url === '' || url.startsWith('node:')) return 'Node internals';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1] as string;
  const ours = /\/(internal\/[^/]+|cmd\/[^/]+)\//.exec(url);
  return ours ? `ours: ${ours[1]}` : url;
}

function keyOf(callFrame: ProfileNode['callFrame']): string {
  const file = callFrame.url.replace(/^.*node_modules\//, '').replace(/^.*\/(internal|cmd|dist)\//, '$1/');
  return `${callFrame.functionName || '(anonymous)'}${file ? ` @ ${file}:${callFrame.lineNumber + 1}` : ''}`;
}

export function summariseProfile(path: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  let total = 0;
  const owners = new Map<string, number>();
  const functions = new Map<string, { owner: string; us: number }>();
  for (const [id, us] of selfUs) {
    const { callFrame } = byId.get(id) as ProfileNode;
    total += us;
    const owner = ownerOf(callFrame.url, callFrame.functionName);
    owners.set(owner, (owners.get(owner) ?? 0) + us);
    const key = keyOf(callFrame);
    const entry = functions.get(key) ?? { owner, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  // Inclusive time of our functions: self time of every node under a frame of ours, counted once
  // per function even when it recurses (a function already on the path is not counted again).
  const inclusive = new Map<string, number>();
  const walk = (id: number, onPath: Set<string>): number => {
    const node = byId.get(id) as ProfileNode;
    let sum = selfUs.get(id) ?? 0;
    const key = keyOf(node.callFrame);
    const ours = ownerOf(node.callFrame.url, node.callFrame.functionName).startsWith('ours');
    const fresh = ours && !onPath.has(key);
    if (fresh) onPath.add(key);
    for (const child of node.children ?? []) sum += walk(child, onPath);
    if (fresh) {
      onPath.delete(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + sum);
    }
    return sum;
  };
  walk(profile.nodes[0]?.id as number, new Set());
  return {
    totalMs: total / 1000,
    oursInclusive: [...inclusive]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([f, us]) => [f, us / total]),
    byOwner: [...owners].sort((a, b) => b[1] - a[1]).map(([o, us]) => [o, us / total]),
    byFunction: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, top)
      .map(([f, { owner, us }]) => [f, owner, us / total]),
  };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Markdown tables of a summary. */
export function profileMarkdown(summary: ProfileSummary, owners = 12): string {
  const ownerRows = summary.byOwner
    .slice(0, owners)
    .map(([o, s]) => `| ${pct(s)} | ${o} |`)
    .join('\n');
  const fnRows = summary.byFunction.map(([f, o, s]) => `| ${pct(s)} | \`${f}\` | ${o} |`).join('\n');
  const inclusiveRows = summary.oursInclusive.map(([f, s]) => `| ${pct(s)} | \`${f}\` |`).join('\n');
  return `| self time | owner |\n|---:|---|\n${ownerRows}\n\n| self time | function | owner |\n|---:|---|---|\n${fnRows}\n\n| inclusive time | our function |\n|---:|---|\n${inclusiveRows}\n`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1])) {
  for (const path of process.argv.slice(2))
    process.stdout.write(`${path}\n${profileMarkdown(summariseProfile(path))}\n`);
}
