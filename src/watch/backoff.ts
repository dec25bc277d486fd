// Jittered exponential backoff for the reflector's retries ("full jitter" would allow 0 ms
// retries in a hot loop; this keeps at least half the step): d = step/2 + rand(step/2).
export class JitteredBackoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  #attempt = 0;

  constructor(initialMs: number, maxMs: number) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
  }

  next(): number {
    const step = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return step / 2 + Math.random() * (step / 2);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
