// Starting a controller on the virtual clock, as the waves tests and their cost experiment
// (bench/experiments/waves-plan-cost.ts) do; it lives in the controller harness.
export { startSettled } from './controller-harness.ts';
