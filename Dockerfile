# One image for the services (ingest, rollup, query, simulator): the sources run with tsx,
# as in development. Used by docker-compose.yml; `npm run demo` needs no Docker.
FROM node:20-bookworm-slim
WORKDIR /app
RUN npm install -g pnpm@10.34.8
COPY package.json pnpm-lock.yaml pnpm-workspace.yaml turbo.json tsconfig.base.json ./
COPY patches ./patches
COPY packages ./packages
COPY services ./services
COPY schemas ./schemas
COPY infra/clickhouse ./infra/clickhouse
RUN pnpm install --frozen-lockfile --prod=false
ENV HTTP_HOST=0.0.0.0 NODE_ENV=production
USER node
CMD ["npx", "tsx", "services/query/src/main.ts"]
