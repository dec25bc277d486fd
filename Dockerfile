# syntax=docker/dockerfile:1
# config-reload-operator image: the operator and its production dependencies, bundled into
# dist/main.js and the chunks it imports (scripts/build.sh: the kubeconfig path, with
# @kubernetes/client-node, and `explain` are chunks loaded only when used; in a cluster the
# operator reads its ServiceAccount token without them), on the pinned Node. No image is published yet: build and
# push your own, tagged with package.json's version (the chart's appVersion), e.g.
#   docker build --build-arg REVISION=$(git rev-parse HEAD) -t REGISTRY/config-reload-operator:0.1.0 .
#   docker push REGISTRY/config-reload-operator:0.1.0

# --- build: bundle src/ (TypeScript) and its dependencies to dist/, and the SBOM of what ships --
# Node is pinned to the exact version of the project's `node` devDependency (package-lock.json),
# which every npm script and the tests run on: the image runs what was tested.
# test/system/supply-chain.test.ts checks the two agree.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
# Manifests first, so the dependency layer is cached until they change.
COPY package.json package-lock.json ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.sh scripts/revision.sh ./scripts/
COPY src ./src
# The git revision built (--version, the start-up log line, config_reload_build_info): the
# context holds no .git, so scripts/build.sh takes it from this argument; unset, `unknown`.
ARG REVISION=""
RUN npx tsc -p tsconfig.build.json --noEmit && npm run build
# A CycloneDX SBOM of the production dependencies, from the lockfile (scripts/sbom.sh).
COPY scripts/sbom.sh ./scripts/
RUN bash scripts/sbom.sh sbom.cdx.json

# --- runtime ---------------------------------------------------------------------------------
FROM node:24.21.0-bookworm-slim AS runtime
# No --enable-source-maps: it keeps every loaded module's source map in memory (measured:
# +19 MiB RSS, +10 MiB heap at start); stack traces name functions at dist/main.js:LINE:COL.
# --max-semi-space-size=2 and MALLOC_ARENA_MAX=2: the initial lists parse hundreds of MiB of
# JSON that is dropped at once (only digests are kept), which grows V8's young generation to
# 128 MiB and glibc's arenas with it, and neither is given back. Capped, RSS at 10k ConfigMaps
# of 64 KiB fell from 377 to 276 MiB after sync and from 594 to 363 MiB after a storm (full
# benchmark runs; bench/results/experiments/memory-knobs-n10000-64KiB.json isolates each knob).
# The price is more young-generation GCs while parsing: sync at 10k × 64 KiB took 29-37 s
# against 25 s before (no change measurable at 1 KiB).
# --heap-growing-percent=20: V8 starts a major GC once the old generation has grown 20 % past
# what the last one kept alive (its default lets it grow up to several times that, and its
# memory reducer did not shrink the heap within a minute of idle). MALLOC_MMAP_THRESHOLD_=32768:
# buffers of 32 KiB and more (a 64 KiB value's watch event) are mapped and unmapped, not carved
# from glibc's heap, where freed they stayed (glibc's own threshold rises after the first such
# free). At 10,000 ConfigMaps of 64 KiB after a storm of 2,000: 220 → 140 MiB RSS, synced in 29
# s against 44 (bench/results/memory/steps.md, steps 6-8). bench/lib/operator.ts runs the
# operator with the same settings, so the benchmark measures what the image runs.
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768
WORKDIR /app
# The bundle holds the production dependencies (the SBOM lists them), so there is no
# node_modules to install; package.json says the bundle is an ES module.
COPY package.json ./
COPY --from=build /src/dist ./dist
COPY --from=build /src/sbom.cdx.json ./sbom.cdx.json
# Files stay owned by root and read-only to the process. A numeric, non-root user, so that
# Kubernetes' runAsNonRoot can verify it; the manifests run as the same 65532.
USER 65532:65532
EXPOSE 8080
# Exec form: node is PID 1 and receives SIGTERM directly. No init (tini, --init) is needed:
# the operator installs its own SIGTERM/SIGINT handlers (PID 1 gets no default ones) and
# spawns no child processes that would need reaping.
ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=20", "dist/main.js"]
