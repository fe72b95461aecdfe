// Self time of a V8 CPU profile (.cpuprofile), by function and by package: where a process'
// CPU went, without its idle time.
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

interface SelfTime {
  name: string;
  /** Share of the profile's busy time (idle left out), 0–1. */
  share: number;
  ms: number;
}

export interface ProfileSummary {
  /** Sampled time the process was not idle, ms. */
  busyMs: number;
  functions: SelfTime[];
  packages: SelfTime[];
  /**
   * By package, with Node's built-ins and native code charged to the package that called
   * them (a socket write to the package whose query or request it sends).
   */
  callers: SelfTime[];
}

/**
 * Where a frame's code lives: the package under node_modules, Node's own modules, the
 * project's folder (src/store, jobs…), or V8's pseudo-frames (garbage collector, program).
 */
function packageOf(url: string, functionName: string, root: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (built-in)';
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) {
    const [first, second] = url.slice(modules + '/node_modules/'.length).split('/');
    return first!.startsWith('@') ? `${first}/${second}` : first!;
  }
  const path = url.startsWith('file:') ? fileURLToPath(url) : url;
  if (!path.startsWith(root)) return path;
  const parts = path.slice(root.length).split('/');
  return `license-sync ${parts.length > 2 ? parts.slice(0, 2).join('/') : parts[0]}`;
}

function shortFile(url: string): string {
  const modules = url.lastIndexOf('/node_modules/');
  if (modules >= 0) return url.slice(modules + '/node_modules/'.length);
  return url.split('/').slice(-2).join('/');
}

function top(totals: Map<string, number>, busy: number, count: number): SelfTime[] {
  return [...totals.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => ({ name, share: micros / busy, ms: micros / 1000 }));
}

/** The top `count` functions and packages by self time; `root` is the project's directory. */
export function summariseProfile(text: string, root: string, count = 12): ProfileSummary {
  const profile = JSON.parse(text) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const child of n.children ?? []) parents.set(child, n.id);
  const packages = new Map(
    profile.nodes.map((n) => [n.id, packageOf(n.callFrame.url, n.callFrame.functionName, root)]),
  );
  // The worker-cpu benchmark's probe wraps socket writes to count them: it passes through.
  const passesThrough = new Set(['node (built-in)', '(native)', 'license-sync bench']);
  const calling = (id: number): string => {
    const own = packages.get(id)!;
    if (!passesThrough.has(own)) return own;
    const parent = parents.get(id);
    return parent === undefined || packages.get(parent) === '(root)' ? own : calling(parent);
  };
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const byCaller = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)!.callFrame;
    const micros = profile.timeDeltas[i] ?? 0;
    if (frame.functionName === '(idle)') return;
    busy += micros;
    const pkg = packages.get(id)!;
    const caller = calling(id);
    byCaller.set(caller, (byCaller.get(caller) ?? 0) + micros);
    const fn = frame.url
      ? `${frame.functionName || '(anonymous)'} (${shortFile(frame.url)}:${frame.lineNumber + 1})`
      : frame.functionName || '(anonymous)';
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + micros);
  });
  return {
    busyMs: busy / 1000,
    functions: top(byFunction, busy, count),
    packages: top(byPackage, busy, count),
    callers: top(byCaller, busy, count),
  };
}
