// prom-client's registry and metric types, imported from the files that define them rather than
// from the package's index: the index also loads the cluster aggregator (node:cluster), the
// Pushgateway (node:https, node:zlib), Summary (tdigest) and the default metrics (with
// @opentelemetry/api), none of which the operator uses. Beside the rest of the idle operator
// that is 1.6 MiB of RSS against 0.6 for these files and src/observability/process-metrics.ts
// (bench/results/experiments/dependency-floor.json; docs/architecture.md, "Memory").
// prom-client 15 has no "exports" map, so these paths are importable; test/unit/metrics.test.ts
// fails if an upgrade moves them.
import type * as Prom from 'prom-client';
import CounterClass from 'prom-client/lib/counter.js';
import GaugeClass from 'prom-client/lib/gauge.js';
import HistogramClass from 'prom-client/lib/histogram.js';
import RegistryClass from 'prom-client/lib/registry.js';

export const Registry = RegistryClass as typeof Prom.Registry;
export type Registry = Prom.Registry;
export const Counter = CounterClass as typeof Prom.Counter;
export type Counter<T extends string = string> = Prom.Counter<T>;
export const Gauge = GaugeClass as typeof Prom.Gauge;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export const Histogram = HistogramClass as typeof Prom.Histogram;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
