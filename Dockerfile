# syntax=docker/dockerfile:1
# Node 22 LTS (Node 20 reached end of life in April 2026); --build-arg NODE_IMAGE=node:24-bookworm-slim for Node 24.
ARG NODE_IMAGE=node:22-bookworm-slim

# 1. Compile TypeScript (needs the development dependencies).
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# 2. Production dependencies only: no TypeScript, no test tools, no embedded PostgreSQL (a development dependency,
#    loaded only when DATABASE_URL is unset), and no optional packages (TypeScript, an optional peer of cosmiconfig).
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --omit=optional --no-audit --no-fund && npm cache clean --force

# 3. The runtime: compiled code, production modules, definitions and migrations, all owned by root and read-only for
#    the unprivileged user that runs the service. Nothing is written to the image at run time, so the token secret
#    cannot be generated into .data/: set BULKSYNC_TOKEN_SECRET (startup stops and says so otherwise).
FROM ${NODE_IMAGE}
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8000
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY schemas ./schemas
COPY migrations ./migrations
USER node
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||8000)+'/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# node as PID 1 gets SIGTERM itself and shuts down gracefully (requests finish, jobs are released).
CMD ["node", "dist/main.js"]
