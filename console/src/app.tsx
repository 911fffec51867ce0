import { useEffect, useState } from 'preact/hooks';
import { onTokenRefused, setToken } from './api.js';
import { Activity } from './screens/activity.js';
import { CacheBrowser } from './screens/cache-browser.js';
import { Invalidate } from './screens/invalidate.js';
import { Login } from './screens/login.js';
import { Overview } from './screens/overview.js';
import { Sessions } from './screens/sessions.js';
import { Upstreams } from './screens/upstreams.js';
import { clearToken, readToken, saveToken } from './token.js';

const SCREENS = {
  overview: { title: 'Overview', view: Overview },
  upstreams: { title: 'Upstreams', view: Upstreams },
  cache: { title: 'Cache browser', view: CacheBrowser },
  invalidate: { title: 'Invalidate', view: Invalidate },
  activity: { title: 'Activity', view: Activity },
  sessions: { title: 'Sessions', view: Sessions },
} as const;
type ScreenName = keyof typeof SCREENS;

function screenFromHash(): ScreenName {
  const name = location.hash.replace(/^#\/?/, '').split('?')[0] ?? '';
  return name in SCREENS ? (name as ScreenName) : 'overview';
}

export function App() {
  const [token, setTokenState] = useState<string | null>(() => {
    const stored = readToken();
    setToken(stored);
    return stored;
  });
  const [refused, setRefused] = useState<unknown>(undefined);
  const [screen, setScreen] = useState<ScreenName>(screenFromHash);

  useEffect(() => {
    const onHash = () => setScreen(screenFromHash());
    addEventListener('hashchange', onHash);
    // A 401/403 from any call: forget the token, show the form with the reason, never stale data.
    onTokenRefused((error) => {
      clearToken();
      setToken(null);
      setTokenState(null);
      setRefused(error);
    });
    return () => removeEventListener('hashchange', onHash);
  }, []);

  if (token === null) {
    return (
      <Login
        reason={refused}
        onLogin={(value) => {
          saveToken(value);
          setToken(value);
          setRefused(undefined);
          setTokenState(value);
        }}
      />
    );
  }

  const logout = () => {
    clearToken();
    setToken(null);
    setTokenState(null);
  };
  const View = SCREENS[screen].view;
  return (
    <div class="layout">
      <nav class="nav" aria-label="Screens">
        <div class="brand">sidecache</div>
        {(Object.keys(SCREENS) as ScreenName[]).map((name) => (
          <a key={name} href={`#/${name}`} class={name === screen ? 'active' : ''} data-testid={`nav-${name}`}>
            {SCREENS[name].title}
          </a>
        ))}
        <button type="button" class="logout" onClick={logout} data-testid="logout">
          Log out
        </button>
      </nav>
      <main class="content" data-testid={`screen-${screen}`}>
        <h1>{SCREENS[screen].title}</h1>
        <View />
      </main>
    </div>
  );
}
