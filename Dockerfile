# One image for every boxoffice process: the process is picked at run time by SERVICES
# (queue, concert, reservation, payment, point, coordinator, ops, dataplatform, dataplatform-mock,
# gateway), migrations by `node dist/cmd/migrate.js <service>`. deploy/k8s runs it.
#
#   docker build -t boxoffice:dev .          (make kind-up builds it and loads it into kind)
#   docker run ... -e SERVICES=gateway ... boxoffice:dev
#   docker run ... --entrypoint node boxoffice:dev dist/cmd/migrate.js concert
# The build needs BuildKit (RUN --mount), the default builder of current Docker. `make image-test`
# builds it on a machine without an image registry and pays through it (docs/image.md).
# NODE_ENV=production is the image's default: the processes then refuse the development
# secrets, so AUTH_JWT_SECRET, MESH_SECRET and QUEUE_TOKEN_SECRET must be set (deploy/k8s does).
#
# Build stage: the same steps as `make install` (npm ci, gen, build), then drop the
# devDependencies. Runtime stage: dist/, proto/ (read at run time by reflection and the
# gateway), production node_modules (google-proto-files, swagger-ui-dist, ...) and
# package.json, owned by root and read-only to the unprivileged user that runs them.

# Any Debian bookworm image with Node.js 20 and npm on PATH and a uid 1000. Where no image
# registry is reachable, `make image-test` makes one and passes it as
# --build-arg NODE_IMAGE=boxoffice-base:bookworm-node20 (docs/image.md).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_update_notifier=false
# Dependencies first, so a source change does not re-run npm ci. The command and flags of
# `make install`: the image holds what a checkout holds. --ignore-scripts: no install script is
# needed (buf, esbuild and protobufjs work without theirs, docs/platform.md) and one of them
# (@scarf/scarf) would phone home.
# A registry behind a TLS-inspecting proxy needs that proxy's CA: the BuildKit secret npm_ca
# (a PEM file, `docker build --secret id=npm_ca,src=FILE`) is mounted for this one command
# and is in no layer; without it, npm trusts Node's own CA list.
COPY package.json package-lock.json ./
RUN --mount=type=secret,id=npm_ca \
  if [ -s /run/secrets/npm_ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm_ca; fi \
  && npm ci --no-audit --no-fund --ignore-scripts
# Code generation needs only the contracts and buf's configuration (offline, local plugin).
COPY buf.yaml buf.gen.yaml tsconfig.json ./
COPY scripts/gen.sh scripts/gen.sh
COPY proto proto
RUN npm run gen
# Everything tsc compiles (tsconfig.json "include"); .dockerignore keeps the rest out.
COPY . .
RUN npm run build \
  && find dist -name '*.test.js' -delete -o -name '*.test.js.map' -delete \
  && rm -rf dist/test dist/bench \
  && npm prune --omit=dev --ignore-scripts --no-audit --no-fund
# Slimming (about 370 MB of production node_modules down to about 120 MB): nothing reads type
# declarations or dependencies' source maps at run time, and of google-proto-files only the
# include path of the common Google types is used (lib/paths.ts; proto/ imports google/api and
# google/protobuf). Importing another google/* proto from proto/ means adding it here.
RUN find node_modules -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \) -delete \
  && cd node_modules/google-proto-files/google \
  && find . -mindepth 1 -maxdepth 1 -type d \
    ! -name api ! -name protobuf ! -name rpc ! -name type ! -name longrunning -exec rm -rf {} + \
  && cd ../ && rm -rf grafeas gapic

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/package.json ./package.json
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/proto ./proto
COPY --from=build /src/dist ./dist
# uid/gid 1000 is the image's `node` user; numeric, so Kubernetes can verify runAsNonRoot.
USER 1000:1000
# gRPC services 50051-50057, gateway 8080 (the API and /console), data platform mock 8090, /metrics 9464.
EXPOSE 50051-50057 8080 8090 9464
ENTRYPOINT ["node", "dist/cmd/mesh.js"]
