// How the image starts Node (Dockerfile: ENTRYPOINT and ENV); keep the two in step. The image
// tests hold the Dockerfile to these, and the benchmark (bench/lib/operator.ts) starts the
// operator with them, so that its figures are true of the image.
export const IMAGE_NODE_FLAGS = ['--max-semi-space-size=2', '--heap-growing-percent=20'];
export const IMAGE_ENV: Record<string, string> = { MALLOC_ARENA_MAX: '2', MALLOC_MMAP_THRESHOLD_: '32768' };
