# syntax=docker/dockerfile:1
#
# webhook-fulfillment image: compiled dist/ and production dependencies only, run by tini as a non-root
# numeric user, ready for a read-only root filesystem (the only writable place it needs is /tmp, an emptyDir
# in the Helm chart).
#
#   docker build -t webhook-fulfillment:0.1.0 \
#     --build-arg VERSION=0.1.0 --build-arg REVISION="$(git rev-parse HEAD)" .
#
# Any architecture Node 24 runs on: the embedded PostgreSQL (platform-specific binaries) is a development
# dependency, never part of the image.
#
# No HEALTHCHECK: Kubernetes ignores it and runs the chart's probes (/health/live, /health/ready, optional
# gRPC) instead; the image has no curl, and a Docker-level check would have to know the TLS settings.

# Node.js 24 LTS (Node 20 reached end of life in April 2026), the exact release CI tests on (.ci/run's
# NODE24_VERSION): a floating tag would build a different runtime from the same commit tomorrow.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim

# ---- build: every dependency, compile TypeScript to dist/ and the console's pages to dist/console-ui/ ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the build needs none (scripts/build.mjs runs tsc, esbuild and Vite, whose native parts are platform
# packages). The ones that exist are telemetry, version checks, native-binary checks and embedded PostgreSQL's
# symlink set-up (package.json's allowScripts denies most).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.mjs scripts/bundle.mjs ./scripts/
COPY src ./src
# The operator console's pages (Preact, uPlot): only their built files reach the image, in dist/console-ui/.
COPY console-ui ./console-ui
RUN npm run build

# ---- prod-deps: production node_modules only ----
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# The embedded PostgreSQL (development only: production requires DATABASE_URL) is a dev dependency, so it is
# not installed here; .ci/run checks that these production dependencies stay under 150 MB.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

# ---- runtime ----
FROM ${NODE_IMAGE} AS runtime
ARG NODE_IMAGE
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="webhook-fulfillment" \
  org.opencontainers.image.description="Webhook fulfillment service for Dialogflow, Lex, Rasa and generic chatbots" \
  org.opencontainers.image.version="${VERSION}" \
  org.opencontainers.image.revision="${REVISION}" \
  org.opencontainers.image.created="${CREATED}" \
  org.opencontainers.image.licenses="UNLICENSED" \
  org.opencontainers.image.base.name="${NODE_IMAGE}"

# tini as PID 1 forwards SIGTERM to node and reaps zombies. node registers its own SIGTERM handler (graceful
# shutdown in dist/main.js), but as PID 1 a signal that arrives before that handler exists would be ignored
# and the pod would wait for SIGKILL. npm, corepack and yarn are removed: nothing runs them at run time, and
# their bundled dependencies would only add to what scanners report.
RUN apt-get update \
  && apt-get install -y --no-install-recommends tini=0.19.0-1+b3 \
  && rm -rf /var/lib/apt/lists/* \
  && rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
    /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
    /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg

# HOME and TMPDIR point at /tmp, the one writable folder under readOnlyRootFilesystem.
ENV NODE_ENV=production \
  HOME=/tmp \
  TMPDIR=/tmp

WORKDIR /app
# Owned by root and not writable by the service user: the process cannot change its own code.
COPY --from=prod-deps --chown=0:0 /app/package.json ./package.json
COPY --from=prod-deps --chown=0:0 /app/node_modules ./node_modules
COPY --from=build --chown=0:0 /app/dist ./dist

USER 10001:10001
# HTTP(S) (PORT), gRPC (GRPC_PORT), Prometheus metrics (METRICS_PORT), the operator console (ADMIN_PORT, when on).
EXPOSE 8080 50051 9464 9465
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/bin/tini", "--"]
# The migration job of the chart replaces only the CMD: ["node", "dist/cli/database.cli.js", "migrate"].
CMD ["node", "dist/main.js"]
