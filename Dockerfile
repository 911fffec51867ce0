# syntax=docker/dockerfile:1
# sidecache image: compile TypeScript in a build stage, ship dist/ + production deps only.

# ---- build: full dependencies, tsc -> dist/ (entry dist/src/main.js), esbuild -> dist/console/
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# The operations console (served at /console/ by the admin listener), bundled by npm run build.
COPY console ./console
COPY scripts/build-console.ts ./scripts/build-console.ts
RUN npm run build

# ---- runtime: production dependencies, non-root
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080 DATA_DIR=/data
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
# Application files stay root-owned (read-only for the node user); only /data is writable.
COPY --from=build /app/dist ./dist
COPY config ./config
COPY migrations ./migrations
# The Pub/Sub API interface, loaded at run time by src/hooks/pubsub/proto.ts.
COPY proto ./proto
COPY proxy.config.yaml ./
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 8080 9090
STOPSIGNAL SIGTERM
# No curl in the slim image: Node's own fetch probes the service port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# The flags are package.json's config.nodeFlags (test/scripts/node-flags.test.ts keeps them equal).
CMD ["node", "--enable-source-maps", "--max-semi-space-size=32", "dist/src/main.js"]
