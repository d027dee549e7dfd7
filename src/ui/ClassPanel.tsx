import { useMemo, useState } from 'react';
import type { Analysis, Progress } from '../client/explainerClient';
import { prettyLabel, topK } from './format';
import { getPlayer, usePlayback } from './player';

const TOP = 5;

function pct(p: number): string {
  return p >= 0.995 ? '100%' : p < 0.001 ? '<0.1%' : `${(p * 100).toFixed(1)}%`;
}

export function ClassPanel(props: {
  analysis: Analysis;
  labels: string[];
  target: number | undefined;
  busy: boolean;
  onTarget: (i: number) => void;
  /** The second pass of a provisional analysis (issue 12): its progress. */
  classifying?: Progress;
  /** The provisional top class, once the final classes replaced the provisional ones. */
  provisionalTop?: number;
  /** Why the second pass stopped (FileEntry.classifyStopped), and how to run the analysis again. */
  stopped?: string;
  onAnalyseAgain?: () => void;
}) {
  const { analysis, labels, target, onTarget, classifying, provisionalTop, stopped, onAnalyseAgain } = props;
  const [query, setQuery] = useState('');
  const top = useMemo(() => topK(analysis.probs, TOP), [analysis.probs]);
  const all = useMemo(() => topK(analysis.probs, analysis.probs.length), [analysis.probs]);
  const q = query.trim().toLowerCase();
  const filtered = q ? all.filter((i) => prettyLabel(labels[i] ?? `${i}`).toLowerCase().includes(q)) : all;

  const pv = analysis.provisional;
  const finalTop = top[0];
  const name = (i: number) => prettyLabel(labels[i] ?? `class ${i}`);
  return (
    <div className="classes">
      {pv && !stopped && (
        <p className="muted small classes-note" data-testid="classes-provisional">
          Provisional: from {pv.windowsDone} of {pv.windowsTotal} windows (every other one: together they cover the file). The other windows are
          being classified{classifying && classifying.total ? ` (${classifying.done}/${classifying.total})` : ''}; the classes are final when that ends.
        </p>
      )}
      {pv && stopped && (
        <p className="small classes-note" data-testid="classes-provisional" data-stopped={stopped === 'cancelled' ? 'cancelled' : 'failed'}>
          Provisional: from {pv.windowsDone} of {pv.windowsTotal} windows (every other one: together they cover the file).{' '}
          {stopped === 'cancelled' ? 'The analysis of the other windows was cancelled' : `The analysis of the other windows failed (${stopped})`}, so these
          classes stay provisional.{' '}
          {onAnalyseAgain && (
            <button className="link" onClick={onAnalyseAgain} data-testid="analyse-again">
              Analyse the whole file again
            </button>
          )}
        </p>
      )}
      {!pv && provisionalTop != null && provisionalTop !== finalTop && (
        <p className="small classes-note" data-testid="classes-changed">
          Classes final: the top class is now <b>{name(finalTop)}</b> (it was <b>{name(provisionalTop)}</b> from every other window).
          {target === provisionalTop ? ` The explanation shown is still for ${name(provisionalTop)}: pick ${name(finalTop)} to explain it.` : ''}
        </p>
      )}
      <ol className="top-classes" data-testid="top-classes">
        {top.map((i, rank) => (
          <li key={i}>
            <button
              className={`class-row ${i === target ? 'selected' : ''}`}
              data-testid="class-row"
              data-class={labels[i]}
              aria-pressed={i === target}
              onClick={() => onTarget(i)}
              title={`Explain "${prettyLabel(labels[i] ?? '')}"`}
            >
              <span className="rank">{rank + 1}</span>
              <span className="label">{prettyLabel(labels[i] ?? `class ${i}`)}</span>
              <span className="bar">
                <span style={{ width: `${Math.max(0.5, analysis.probs[i] * 100)}%` }} />
              </span>
              <span className="prob">{pct(analysis.probs[i])}</span>
            </button>
          </li>
        ))}
      </ol>
      <details className="all-classes">
        <summary>All {labels.length} classes — pick any as the target</summary>
        <input
          type="search"
          placeholder="Search classes…"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
          data-testid="class-search"
          aria-label="Search classes"
        />
        <ul className="class-list" data-testid="class-list">
          {filtered.map((i) => (
            <li key={i}>
              <button
                className={`class-item ${i === target ? 'selected' : ''}`}
                onClick={() => onTarget(i)}
                data-class={labels[i]}
                data-testid="class-item"
              >
                <span className="label">{prettyLabel(labels[i] ?? `class ${i}`)}</span>
                <span className="mini-bar">
                  <span style={{ width: `${analysis.probs[i] * 100}%` }} />
                </span>
                <span className="prob">{pct(analysis.probs[i])}</span>
              </button>
            </li>
          ))}
          {filtered.length === 0 && <li className="muted">No class matches “{query}”.</li>}
        </ul>
      </details>
      {analysis.windows.length > 1 && (
        <Timeline analysis={analysis} labels={labels} classes={[...new Set([...(target != null ? [target] : []), ...top.slice(0, 3)])]} />
      )}
    </div>
  );
}

const COLORS = ['#ffd166', '#6ff0c4', '#8ab4ff', '#f0a0b4'];

/** Per-window probabilities of the target and the top classes over the file. */
function Timeline({ analysis, labels, classes }: { analysis: Analysis; labels: string[]; classes: number[] }) {
  const W = 600;
  const H = 90;
  const dur = analysis.durationS || 1;
  const x = (t: number) => (t / dur) * W;
  const y = (p: number) => H - 4 - p * (H - 8);
  const time = usePlayback((s) => s.time);
  return (
    <div className="timeline" data-testid="timeline">
      <div className="timeline-head">
        Per-window probabilities ({analysis.windows.length} windows{analysis.provisional ? ` of ${analysis.provisional.windowsTotal} so far` : ''})
        <span className="legend">
          {classes.map((c, k) => (
            <span key={c} style={{ color: COLORS[k % COLORS.length] }}>
              ● {prettyLabel(labels[c] ?? '')}
            </span>
          ))}
        </span>
      </div>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        preserveAspectRatio="none"
        onClick={(e) => {
          const r = e.currentTarget.getBoundingClientRect();
          getPlayer().seek(((e.clientX - r.left) / r.width) * dur);
        }}
      >
        <rect x={0} y={0} width={W} height={H} className="timeline-bg" />
        {classes.map((c, k) => {
          const pts = analysis.windows.map((w) => `${x((w.startS + w.endS) / 2).toFixed(1)},${y(w.probs[c]).toFixed(1)}`);
          return <polyline key={c} points={pts.join(' ')} fill="none" stroke={COLORS[k % COLORS.length]} strokeWidth={k === 0 ? 2.5 : 1.5} vectorEffect="non-scaling-stroke" />;
        })}
        <line x1={x(time)} x2={x(time)} y1={0} y2={H} className="timeline-head-line" vectorEffect="non-scaling-stroke" />
      </svg>
    </div>
  );
}
