# syntax=docker/dockerfile:1
# Build stage: install everything, compile, then keep production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
RUN npm run build && npm prune --omit=dev

# Runtime stage: compiled output and production dependencies, as a non-root numeric user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build --chown=0:0 /app/package.json ./package.json
COPY --from=build --chown=0:0 /app/node_modules ./node_modules
COPY --from=build --chown=0:0 /app/dist ./dist
USER 10001:10001
EXPOSE 8080
# Node handles SIGTERM itself (graceful shutdown in dist/main.js); exec form keeps it PID 1's direct child.
CMD ["node", "dist/main.js"]
