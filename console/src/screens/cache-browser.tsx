import { useState } from 'preact/hooks';
import { adminJson, query } from '../api.js';
import { Confirm } from '../components/confirm.js';
import { Empty, ErrorBox, Loading } from '../components/status.js';
import { UpstreamSelect, useUpstreamNames } from '../components/upstream-select.js';
import { useLoad } from '../components/use-load.js';
import { bytes, seconds, time } from '../format.js';
import { redactBody } from '../redact.js';
import type { CacheEntry, CacheEntryDetail, CacheListing, InvalidateResult } from '../types.js';

const PAGE = 50;

/** Search entries by upstream and path prefix, view one (header names, redacted body), purge it. */
export function CacheBrowser() {
  const names = useUpstreamNames();
  const [upstream, setUpstream] = useState('');
  const [prefix, setPrefix] = useState('');
  const [listing, setListing] = useState<{ items: CacheEntry[]; next: string | null; source: string } | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  const [selected, setSelected] = useState<string | null>(null);

  const fetchPage = async (cursor: string | null) => {
    setBusy(true);
    setError(undefined);
    try {
      const page = await adminJson<CacheListing>(`/admin/cache/entries${query({ upstream, prefix: upstream === '' ? '' : prefix, limit: PAGE, cursor })}`);
      setListing((old) => ({ items: cursor === null ? page.items : [...(old?.items ?? []), ...page.items], next: page.nextCursor, source: page.source }));
    } catch (err) {
      setError(err);
      if (cursor === null) setListing(null);
    } finally {
      setBusy(false);
    }
  };

  const search = (event: Event) => {
    event.preventDefault();
    setSelected(null);
    void fetchPage(null);
  };

  return (
    <div>
      <form class="row" onSubmit={search} data-testid="cache-search">
        <label>
          Upstream <UpstreamSelect names={names} value={upstream} onChange={setUpstream} allowAny testId="cache-upstream" />
        </label>
        <label>
          Path prefix <input value={prefix} placeholder="/items/" disabled={upstream === ''} onInput={(e) => setPrefix((e.target as HTMLInputElement).value)} data-testid="cache-prefix" />
        </label>
        <button type="submit" disabled={busy}>Search</button>
      </form>
      {upstream === '' ? <p class="muted">A path prefix needs an upstream.</p> : null}
      {error !== undefined ? <ErrorBox error={error} /> : null}
      {listing === null ? (busy ? <Loading what="Searching" /> : <p class="muted">Search to list entries (metadata only; bodies are read only when you open one).</p>) : (
        <EntryTable listing={listing} selected={selected} onSelect={setSelected} />
      )}
      {listing?.next ? (
        <button type="button" onClick={() => void fetchPage(listing.next)} disabled={busy} data-testid="cache-more">
          Load more
        </button>
      ) : null}
      {selected === null ? null : (
        <EntryDetail
          key={selected}
          entryKey={selected}
          onPurged={() => setListing((old) => old && { ...old, items: old.items.map((item) => (item.key === selected ? { ...item, invalidated: true } : item)) })}
        />
      )}
    </div>
  );
}

function EntryTable({ listing, selected, onSelect }: { listing: { items: CacheEntry[]; source: string }; selected: string | null; onSelect: (key: string) => void }) {
  if (listing.items.length === 0) return <Empty>No cache entries match.</Empty>;
  return (
    <table data-testid="cache-entries">
      <thead>
        <tr><th>upstream</th><th>path</th><th>status</th><th>tiers</th><th>age</th><th>ttl</th><th>tags</th><th>size</th></tr>
      </thead>
      <tbody>
        {listing.items.map((item) => (
          <tr key={item.key} class={`clickable ${item.key === selected ? 'selected' : ''} ${item.invalidated ? 'struck' : ''}`} onClick={() => onSelect(item.key)} data-path={item.path}>
            <td>{item.upstream}</td>
            <td><code>{item.path}</code>{item.invalidated ? <span class="badge badge-warn">invalidated</span> : null}</td>
            <td>{item.status}</td>
            <td>{Object.entries(item.tiers).filter(([, p]) => p === 'present').map(([t]) => t).join(', ') || '—'}</td>
            <td>{seconds(item.ageSeconds)}</td>
            <td>{item.fresh ? seconds(item.ttlSeconds) : 'stale'}</td>
            <td>{item.tags.join(', ') || '—'}</td>
            <td>{bytes(item.sizeBytes)}</td>
          </tr>
        ))}
      </tbody>
      <caption class="muted">Listed from the {listing.source} tier.</caption>
    </table>
  );
}

function EntryDetail({ entryKey, onPurged }: { entryKey: string; onPurged: () => void }) {
  const load = useLoad((signal) => adminJson<CacheEntryDetail>(`/admin/cache/entry${query({ key: entryKey, body: 1 })}`, { signal }), [entryKey]);
  const [confirming, setConfirming] = useState(false);
  const [purge, setPurge] = useState<{ busy: boolean; result?: InvalidateResult; error?: unknown }>({ busy: false });

  const doPurge = async () => {
    setPurge({ busy: true });
    try {
      const result = await adminJson<InvalidateResult>('/admin/invalidate', { method: 'POST', body: { key: entryKey } });
      setPurge({ busy: false, result });
      setConfirming(false);
      onPurged();
    } catch (error) {
      setPurge({ busy: false, error });
    }
  };

  if (load.error !== undefined) return <ErrorBox error={load.error} title="Cannot open this entry" />;
  const entry = load.data;
  if (entry === undefined) return <Loading />;
  const body = entry.body;
  const shown = body === undefined ? null : body.encoding === 'utf8' ? redactBody(body.data) : null;
  return (
    <section class="detail" data-testid="cache-detail">
      <h2><code>{entry.path}</code></h2>
      <dl class="facts">
        <dt>upstream</dt><dd>{entry.upstream}</dd>
        <dt>status</dt><dd>{entry.status}</dd>
        <dt>scope</dt><dd>{entry.scope}</dd>
        <dt>stored</dt><dd>{time(entry.storedAt)} ({seconds(entry.ageSeconds)} ago)</dd>
        <dt>expires</dt><dd>{time(entry.expiresAt)}</dd>
        <dt>read from</dt><dd>{entry.source}</dd>
        <dt>tags</dt><dd>{entry.tags.join(', ') || '—'}</dd>
        <dt>key</dt><dd><code class="wrap">{entry.key}</code></dd>
      </dl>
      <h3>Headers</h3>
      <p class="muted">Names only: the admin API never returns header values, so credentials and cookies are never shown.</p>
      <p data-testid="cache-headers">{entry.headerNames.join(', ') || '—'}</p>
      <h3>Body ({bytes(entry.bodyBytes)})</h3>
      {body === undefined ? <p class="muted">No body.</p> : shown === null ? (
        <p class="muted">Binary or content-encoded body ({bytes(entry.bodyBytes)}); not displayed.</p>
      ) : (
        <>
          {shown.redacted > 0 ? <p class="notice">{shown.redacted} credential-like value(s) replaced with [REDACTED].</p> : null}
          <pre class="body" data-testid="cache-body">{shown.text.length > 100_000 ? `${shown.text.slice(0, 100_000)}\n… (truncated)` : shown.text}</pre>
        </>
      )}
      {purge.result !== undefined ? (
        <p class="success" data-testid="purge-result">Purged: {purge.result.invalidated.keysDeleted} stored cop{purge.result.invalidated.keysDeleted === 1 ? 'y' : 'ies'} removed here{purge.result.invalidated.propagated ? ', broadcast to other instances' : ''} ({purge.result.tookMs} ms).</p>
      ) : confirming ? (
        <Confirm action="Purge this entry" busy={purge.busy} onConfirm={() => void doPurge()} onCancel={() => setConfirming(false)}>
          Remove <code>{entry.upstream} {entry.path}</code> (this key, every tier, every instance)? The next request for it goes to the upstream.
        </Confirm>
      ) : (
        <button type="button" class="danger" onClick={() => setConfirming(true)} data-testid="purge">Purge…</button>
      )}
      {purge.error !== undefined ? <ErrorBox error={purge.error} title="Purge failed" /> : null}
    </section>
  );
}
