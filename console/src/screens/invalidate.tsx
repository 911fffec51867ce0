import { useState } from 'preact/hooks';
import { adminJson } from '../api.js';
import { Confirm } from '../components/confirm.js';
import { ErrorBox } from '../components/status.js';
import { UpstreamSelect, useUpstreamNames } from '../components/upstream-select.js';
import { count } from '../format.js';
import type { InvalidateResult } from '../types.js';
import { describeTarget, preview, requestBody, type Preview, type Target } from './invalidate-preview.js';
import { Warm } from './warm.js';

type Kind = Target['kind'];
const KINDS: Array<{ kind: Kind; label: string }> = [
  { kind: 'key', label: 'Key' },
  { kind: 'prefix', label: 'Path prefix' },
  { kind: 'tags', label: 'Tags' },
  { kind: 'upstream', label: 'Upstream' },
  { kind: 'all', label: 'Everything' },
];

/** Forms for `POST /admin/invalidate` (review, confirm, result) and `POST /admin/warm`. */
export function Invalidate() {
  const names = useUpstreamNames();
  const [kind, setKind] = useState<Kind>('tags');
  const [fields, setFields] = useState({ key: '', upstream: '', prefix: '', tags: '' });
  const [review, setReview] = useState<{ target: Target; preview?: Preview; error?: unknown } | null>(null);
  const [state, setState] = useState<{ busy: boolean; result?: InvalidateResult; target?: Target; error?: unknown }>({ busy: false });
  const [problem, setProblem] = useState<string | null>(null);

  const set = (name: keyof typeof fields) => (value: string) => setFields((f) => ({ ...f, [name]: value }));

  const target = (): Target | string => {
    switch (kind) {
      case 'key':
        return fields.key.trim() === '' ? 'Enter a cache key (the cache browser shows them).' : { kind, key: fields.key.trim() };
      case 'prefix':
        if (fields.upstream === '') return 'Choose the upstream the prefix belongs to.';
        return fields.prefix.startsWith('/') ? { kind, upstream: fields.upstream, prefix: fields.prefix.trim() } : 'A prefix is a path starting with "/".';
      case 'tags': {
        const tags = fields.tags.split(/[,\s]+/).filter((t) => t !== '');
        if (tags.length === 0) return 'Enter at least one tag.';
        return fields.upstream === '' ? { kind, tags } : { kind, tags, upstream: fields.upstream };
      }
      case 'upstream':
        return fields.upstream === '' ? 'Choose an upstream.' : { kind, upstream: fields.upstream };
      case 'all':
        return { kind };
    }
  };

  const startReview = async (event: Event) => {
    event.preventDefault();
    const t = target();
    if (typeof t === 'string') return setProblem(t);
    setProblem(null);
    setState({ busy: false });
    setReview({ target: t });
    try {
      setReview({ target: t, preview: await preview(t) });
    } catch (error) {
      setReview({ target: t, error });
    }
  };

  const run = async (t: Target) => {
    setState({ busy: true });
    try {
      const result = await adminJson<InvalidateResult>('/admin/invalidate', { method: 'POST', body: requestBody(t) });
      setState({ busy: false, result, target: t });
      setReview(null);
    } catch (error) {
      setState({ busy: false, error });
    }
  };

  return (
    <div>
      <form class="stack" onSubmit={startReview} data-testid="invalidate-form">
        <fieldset class="row">
          <legend>Invalidate by</legend>
          {KINDS.map((k) => (
            <label key={k.kind} class="inline">
              <input type="radio" name="kind" value={k.kind} checked={kind === k.kind} onChange={() => { setKind(k.kind); setReview(null); }} data-testid={`kind-${k.kind}`} /> {k.label}
            </label>
          ))}
        </fieldset>
        {kind === 'key' ? <label>Key <input value={fields.key} onInput={(e) => set('key')((e.target as HTMLInputElement).value)} data-testid="field-key" /></label> : null}
        {kind === 'prefix' || kind === 'upstream' || kind === 'tags' ? (
          <label>
            Upstream <UpstreamSelect names={names} value={fields.upstream} onChange={set('upstream')} allowAny={kind === 'tags'} testId="field-upstream" />
          </label>
        ) : null}
        {kind === 'prefix' ? <label>Path prefix <input value={fields.prefix} placeholder="/rest/api/3/issue" onInput={(e) => set('prefix')((e.target as HTMLInputElement).value)} data-testid="field-prefix" /></label> : null}
        {kind === 'tags' ? <label>Tags (comma or space separated) <input value={fields.tags} placeholder="sf:Account:001…" onInput={(e) => set('tags')((e.target as HTMLInputElement).value)} data-testid="field-tags" /></label> : null}
        <div><button type="submit" data-testid="invalidate-review">Review…</button></div>
        {problem === null ? null : <p class="error" role="alert">{problem}</p>}
      </form>

      {review === null ? null : (
        <Confirm action={`Invalidate ${review.target.kind === 'all' ? 'everything' : review.target.kind}`} busy={state.busy} onConfirm={() => void run(review.target)} onCancel={() => setReview(null)}>
          <p data-testid="invalidate-target">This invalidates {describeTarget(review.target)}, on this instance and (broadcast) on every other.</p>
          {review.error !== undefined ? <ErrorBox error={review.error} title="Could not preview" /> : review.preview === undefined ? <p class="muted">Looking at what it holds…</p> : <PreviewText preview={review.preview} />}
        </Confirm>
      )}
      {state.error !== undefined ? <ErrorBox error={state.error} title="Invalidation failed" /> : null}
      {state.result === undefined || state.target === undefined ? null : (
        <div class="success" data-testid="invalidate-result">
          Invalidated {describeTarget(state.target)}: recorded {state.result.invalidated.epochs.map((e) => <code key={e}>{e}</code>)}; {count(state.result.invalidated.keysDeleted)} stored key(s) removed here; {state.result.invalidated.propagated ? 'broadcast to other instances' : 'not broadcast (no Redis bus)'}; {state.result.tookMs} ms.
        </div>
      )}

      <h2>Warm</h2>
      <Warm names={names} />
    </div>
  );
}

function PreviewText({ preview }: { preview: Preview }) {
  return (
    <div data-testid="invalidate-preview">
      {preview.found === null ? <p>{preview.note}.</p> : (
        <p>
          Currently cached: {preview.found}{preview.more ? '+ (first page only)' : ''} entr{preview.found === 1 ? 'y' : 'ies'} ({preview.note}).
        </p>
      )}
      {preview.examples.length > 0 ? <ul>{preview.examples.map((e) => <li key={e}><code>{e}</code></li>)}</ul> : null}
    </div>
  );
}
