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
# test/system/supply-chain.test.ts checks the two agree. This stage's own Node (/usr/local/bin/node)
# runs the build, and the runtime stage copies that same binary.
FROM node:24.21.0-bookworm-slim AS build
WORKDIR /src
# Manifests first, so the dependency layer is cached until they change.
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency's install script runs, so nothing is fetched beyond what the
# lockfile pins and hashes (the `node` devDependency's preinstall would download a second Node;
# esbuild's and @swc/core's postinstalls only check or speed up their platform packages, which
# the lockfile installs as optional dependencies). package.json's allowScripts says the same for
# a developer's `npm ci`. Without that preinstall there is no node_modules/.bin/node.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/build.sh scripts/revision.sh ./scripts/
COPY src ./src
# The git revision built (--version, the start-up log line, config_reload_build_info): the
# context holds no .git, so scripts/build.sh takes it from this argument; unset, `unknown`.
ARG REVISION=""
# tsc and the bundle run on this image's node, named on the command line (not npx or npm run,
# which put node_modules/.bin first on PATH). test/system/image-build.test.ts runs these lines.
RUN node node_modules/typescript/bin/tsc -p tsconfig.build.json --noEmit && bash scripts/build.sh
# A CycloneDX SBOM of what the runtime stage carries (scripts/sbom.sh): the production
# dependencies from the lockfile, the Node runtime and the base image, both read from this file.
COPY Dockerfile ./
COPY scripts/sbom.sh ./scripts/
RUN bash scripts/sbom.sh sbom.cdx.json

# --- runtime ---------------------------------------------------------------------------------
# Distroless: glibc, libstdc++ and libgcc (what the node binary links), CA certificates, tzdata and
# /etc/passwd with user 65532 (nonroot); no shell, no package manager. Node is copied in from the
# build stage: the official binary of the pinned version (distroless' nodejs24 image has no tag
# per Node version). Pinned by tag: no digest could be read where this was written (no registry
# access); pin `@sha256:…` when you build. test/system/image-build.test.ts assembles this
# stage's files and runs the ENTRYPOINT in them, as user 65532 in a chroot.
FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
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
# Root while the files go in: BuildKit creates a WORKDIR as the current user, which the :nonroot
# base sets to 65532, and /app owned by the process would let it replace what it runs.
USER 0:0
WORKDIR /app
# Only the node binary from the Node image: not npm, npx or corepack (/usr/local/lib/node_modules).
COPY --from=build /usr/local/bin/node /usr/local/bin/node
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
