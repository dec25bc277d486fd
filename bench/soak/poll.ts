// The one pause the soak takes: the interval between two looks of a loop that polls for a
// condition until a deadline (a namespace gone, a leader's workers running, the operator
// settled). Never a wait that stands in for an event.
export const pollInterval = (ms: number): Promise<void> => new Promise<void>((resolve) => setTimeout(resolve, ms));
