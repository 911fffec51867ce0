/**
 * The layers of src/, lowest first (README, "Design notes"). A module may import from its own
 * layer's folder and from layers below it; a value import that climbs fails `npm run lint`.
 * Type-only imports may cross, for the plain data types a lower layer describes its inputs with
 * (a `CacheEntry`, a `ProxyRecord`); they vanish at compile time and create no load-order cycle.
 */
const LAYERS = [
  ['errors.ts', 'version.ts', 'log-throttle.ts', 'backoff.ts', 'http'],
  ['config'],
  ['policy'],
  ['db', 'redis'],
  ['resilience', 'invalidation'],
  ['cache'],
  ['sessions', 'audit'],
  ['proxy'],
  ['server', 'metrics'],
  ['hooks', 'admin'],
  ['boot'],
  ['app.ts'],
  ['main.ts'],
];

const pathOf = (name) => (name.endsWith('.ts') ? `^src/${name.replace('.', '[.]')}$` : `^src/${name}/`);

const rules = LAYERS.flatMap((layer, level) => {
  const above = LAYERS.slice(level + 1).flat();
  const siblings = layer.filter((name) => !name.endsWith('.ts'));
  return layer.flatMap((name) => {
    const others = [...above, ...siblings.filter((sibling) => sibling !== name)];
    if (others.length === 0) return [];
    return [
      {
        name: `no-upward-import-from-${name}`,
        severity: 'error',
        comment: `src/${name} sits below ${others.join(', ')}: import down the layers only (see .dependency-cruiser.cjs)`,
        from: { path: pathOf(name) },
        to: { path: others.map(pathOf), dependencyTypesNot: ['type-only'] },
      },
    ];
  });
});

module.exports = {
  forbidden: [
    ...rules,
    {
      name: 'no-value-cycle',
      severity: 'error',
      comment: 'a cycle of value imports makes load order matter',
      from: { path: '^src/' },
      to: { circular: true, dependencyTypesNot: ['type-only'], viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    includeOnly: '^src/',
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
