// Per-request deadlines for client-node calls. client-node 2.x has no timeout option, but its
// fetch honours the request's AbortSignal, which a middleware can set. Without a deadline a
// request to an apiserver that stopped answering waits on TCP for minutes — longer than a
// leader's renew deadline, longer than a roll should ever wait for an Event.
import { Observable, type ConfigurationOptions } from '@kubernetes/client-node';

/** Options for one API call that abort it (rejecting with a TimeoutError) after `ms`. */
export function requestTimeout(ms: number): ConfigurationOptions {
  // Created per request, not per options object: the clock starts when the call does.
  return requestSignal(() => AbortSignal.timeout(ms));
}

/** Options for one API call that aborts when the signal `signalFor()` gives it does. */
export function requestSignal(signalFor: () => AbortSignal): ConfigurationOptions {
  return {
    middleware: [
      {
        pre: (ctx) => {
          ctx.setSignal(signalFor());
          return new Observable(Promise.resolve(ctx));
        },
        post: (rsp) => new Observable(Promise.resolve(rsp)),
      },
    ],
    // Keep whatever middleware the configuration already has (authentication, headers).
    middlewareMergeStrategy: 'append',
  };
}
