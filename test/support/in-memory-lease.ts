// One Lease kept in memory, with the apiserver rules leader election relies on (404 on a
// missing Lease, 409 on a create of an existing one or a replace with a stale resourceVersion,
// a new resourceVersion on every write), served to any number of clients. Each client has its
// own faults and latency, so one replica can be partitioned while another is not. Answers come
// back in wire form (a JSON round trip, as the apiserver sends them).
import { ApiError } from '../../src/kube/api-error.ts';
import type { LeaseApi } from '../../src/leader/lease-api.ts';
import type { Lease as V1Lease, LeaseSpec as V1LeaseSpec } from '../../src/leader/lease-rules.ts';
import type { Clock, Timer } from '../../src/time/clock.ts';

type Verb = 'read' | 'create' | 'replace';

/** 'hang': never answer (until the call's signal aborts); a number: reject with that HTTP status. */
export type Fault = 'hang' | number;

export interface Call {
  verb: Verb;
  at: number;
  outcome: 'pending' | 'ok' | 'error' | 'aborted';
}

export class InMemoryLease {
  readonly #clock: Clock;
  #stored: V1Lease | undefined;
  #version = 0;

  constructor(clock: Clock, readonly namespace = 'ns', readonly name = 'lease') {
    this.#clock = clock;
  }

  /** The Lease as a client would read it, or undefined when it does not exist. */
  get current(): V1Lease | undefined {
    return this.#stored && wire(this.#stored);
  }

  get holder(): string | undefined {
    return this.#stored?.spec?.holderIdentity;
  }

  /** Writes the spec as some other party would (a replica we do not run, an admin). */
  put(spec: V1LeaseSpec): void {
    this.#store({ metadata: { name: this.name, namespace: this.namespace }, spec });
  }

  client(): LeaseClient {
    return new LeaseClient(this.#clock, {
      read: () => {
        if (!this.#stored) throw apiError(404, 'leases not found');
        return wire(this.#stored);
      },
      create: (body) => {
        if (this.#stored) throw apiError(409, 'leases already exists');
        return this.#store(body);
      },
      replace: (body) => {
        if (!this.#stored) throw apiError(404, 'leases not found');
        const expected = body.metadata?.resourceVersion;
        if (expected !== undefined && expected !== this.#stored.metadata?.resourceVersion) {
          throw apiError(409, 'the object has been modified; please apply your changes to the latest version and try again');
        }
        return this.#store(body);
      },
    });
  }

  #store(body: V1Lease): V1Lease {
    const lease = wire(body);
    lease.metadata = { ...lease.metadata, resourceVersion: String(++this.#version) };
    this.#stored = lease;
    return wire(lease);
  }
}

interface Server {
  read(): V1Lease;
  create(body: V1Lease): V1Lease;
  replace(body: V1Lease): V1Lease;
}

/** One replica's connection to the Lease. */
export class LeaseClient implements LeaseApi {
  readonly #clock: Clock;
  readonly #server: Server;
  readonly #once: { verb: Verb | 'any'; fault: Fault }[] = [];
  readonly calls: Call[] = [];
  /** Applies to every call while set. */
  fault: Fault | undefined;
  /** Time between a call and its answer. The write itself takes effect when the call is made. */
  latencyMs = 0;

  constructor(clock: Clock, server: Server) {
    this.#clock = clock;
    this.#server = server;
  }

  /** Applies `fault` to the next call of `verb` only. */
  failNext(verb: Verb | 'any', fault: Fault): void {
    this.#once.push({ verb, fault });
  }

  read(signal: AbortSignal): Promise<V1Lease> {
    return this.#call('read', signal, () => this.#server.read());
  }

  create(body: V1Lease, signal: AbortSignal): Promise<V1Lease> {
    return this.#call('create', signal, () => this.#server.create(body));
  }

  replace(body: V1Lease, signal: AbortSignal): Promise<V1Lease> {
    return this.#call('replace', signal, () => this.#server.replace(body));
  }

  #call(verb: Verb, signal: AbortSignal, apply: () => V1Lease): Promise<V1Lease> {
    const call: Call = { verb, at: this.#clock.now(), outcome: 'pending' };
    this.calls.push(call);
    return new Promise((resolve, reject) => {
      // Like fetch: an aborted call rejects with the signal's reason, whatever the server did.
      if (signal.aborted) {
        call.outcome = 'aborted';
        return reject(signal.reason);
      }
      const fault = this.#takeFault(verb) ?? this.fault;
      if (fault === 'hang') {
        signal.addEventListener('abort', () => {
          call.outcome = 'aborted';
          reject(signal.reason);
        }, { once: true });
        return;
      }
      let answer: () => void;
      try {
        if (typeof fault === 'number') throw apiError(fault, `injected HTTP ${fault}`);
        const value = apply();
        answer = () => {
          call.outcome = 'ok';
          resolve(value);
        };
      } catch (err) {
        answer = () => {
          call.outcome = 'error';
          reject(err);
        };
      }
      let timer: Timer | undefined;
      const onAbort = () => {
        timer?.cancel();
        call.outcome = 'aborted';
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const deliver = () => {
        signal.removeEventListener('abort', onAbort);
        answer();
      };
      if (this.latencyMs > 0) timer = this.#clock.after(this.latencyMs, deliver);
      else queueMicrotask(deliver);
    });
  }

  #takeFault(verb: Verb): Fault | undefined {
    const i = this.#once.findIndex((f) => f.verb === verb || f.verb === 'any');
    if (i < 0) return undefined;
    return this.#once.splice(i, 1)[0]!.fault;
  }
}

function wire(lease: V1Lease): V1Lease {
  return JSON.parse(JSON.stringify(lease)) as V1Lease;
}

/** What the operator's HTTP layer raises for an HTTP error: an ApiError with the Status body. */
function apiError(code: number, message: string): ApiError {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message, code });
  return new ApiError(code, body, 'LEASE');
}
