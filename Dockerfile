# syntax=docker/dockerfile:1
# Fedbridge container image (docs/deployment.md).
#
#   docker build -t fedbridge .
#   docker run -d --name fedbridge --read-only --tmpfs /tmp --stop-timeout 30 -p 127.0.0.1:8080:8080 \
#     -v fedbridge-keys:/var/lib/fedbridge/keys -v fedbridge-data:/var/lib/fedbridge/data \
#     -v /etc/fedbridge:/etc/fedbridge:ro --env-file /etc/fedbridge/fedbridge.env fedbridge
# (/etc/fedbridge holds fedbridge.yaml, e.g. a copy of deploy/fedbridge.yaml.)
#
# Two stages: `build` compiles better-sqlite3 and the TypeScript with the lock file (`npm ci`,
# which runs `prepare`), then drops the dev dependencies; the runtime stage gets only the
# production node_modules, dist/src, bin and views, and runs as an unprivileged user. It writes
# only to keys.dir and the SQLite directory (the two volumes), so the root filesystem may be
# read-only.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# A C++ toolchain for better-sqlite3 where no prebuilt binary fits the platform.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY bin ./bin
COPY views ./views
# README, "The two commands": npm installs, builds better-sqlite3 (allowScripts) and the TypeScript (prepare).
RUN npm ci --no-audit --no-fund \
 && test -f dist/src/cli/main.js \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
# HOST: where the config leaves server.host out (deploy/fedbridge.yaml), listen on the container's
# interfaces. FEDBRIDGE_CONFIG: the other commands (keys rotate, config check) find the config too.
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    FEDBRIDGE_CONFIG=/etc/fedbridge/fedbridge.yaml
# A fixed non-root uid, so that files in the shared keys volume have one owner on every instance.
RUN groupadd --system --gid 10001 fedbridge \
 && useradd --system --uid 10001 --gid fedbridge --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin fedbridge \
 && mkdir -p /var/lib/fedbridge/keys /var/lib/fedbridge/data /etc/fedbridge \
 && chown -R fedbridge:fedbridge /var/lib/fedbridge \
 && chmod 0700 /var/lib/fedbridge/keys /var/lib/fedbridge/data
WORKDIR /app
# The application files belong to root and are read-only for the service user.
COPY --from=build /src/package.json /src/package-lock.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/bin ./bin
COPY --from=build /src/views ./views
# keys.dir and the SQLite file's directory (deploy/fedbridge.yaml); mount the keys volume on
# every instance (docs/operations.md, "Several instances"). The config file is mounted read-only.
VOLUME ["/var/lib/fedbridge/keys", "/var/lib/fedbridge/data"]
USER 10001:10001
EXPOSE 8080
# Liveness: GET /healthz on the port of server.port (8080 in deploy/*.yaml; HEALTHCHECK_URL overrides).
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL||'http://127.0.0.1:8080/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM drains (src/observability/drain.ts: up to 12 s); give the container a longer stop timeout.
STOPSIGNAL SIGTERM
# README, "Operating it": `fedbridge serve --config FILE`. Other commands run the same way:
#   docker run --rm … fedbridge keys rotate --config /etc/fedbridge/fedbridge.yaml
ENTRYPOINT ["node", "/app/bin/fedbridge.js"]
CMD ["serve", "--config", "/etc/fedbridge/fedbridge.yaml"]
