// An independent judge of the operator, for tests that drive it against the in-memory
// FakeCluster. It shares no code with src/ and decides by what the pods run: fed every write the
// cluster applied (cluster.onWrite, in resourceVersion order), it keeps per workload (by uid)
// the configuration its pods were started with — the values of the keys they read, as they were
// at the workload's last pod-template write by anyone (its creation, a user's edit, the
// operator's roll). The rules (the reading of objects is in ./pods-reading.ts):
// - the operator writes only to opted-in workloads;
// - EXTRA ROLL: an operator write that changes the pod template while the pods already run the
//   configuration it carries (same view, over the config objects not ignored at the roll). The
//   one leniency: the roll is excused when the operator could not have known — the pods' last
//   template write fell in a window where the acting controller was blind (before its first
//   list, or summarised by a relist after a broken or refused watch) of the workload's kind or
//   of a consumed config kind, AND what the workload reads changed at least once since the
//   operator's previous write to it (or its creation) — or cannot be proved unchanged by a list
//   (an object written since, a label edit included, or absent): a change and its reversal
//   hidden by that window. And one inherent to watching: the acting controller's watches had
//   not delivered yet the event that made its roll moot (by what it had seen, the pods ran other
//   configuration). None for failover: a standby's stores are warm, so it has no window.
// - MISSED ROLL, at quiescence: an opted-in workload whose required config objects exist and
//   whose pods run a view other than the current one (over the objects not ignored now), or that
//   the operator never wrote to at all (never adopted).
// Adoption convention: at the operator's first write to a workload, pods whose template was
// written before the adoption point count as running the configuration of that point — the
// later of its creation (or last opt-in) and the moment the acting controller first listed the
// workload's kind and every consumed config kind (a refused watch moves it to when it is allowed).
// A workload created while a controller watched is thus counted from its creation.
// What the controllers saw is told by the harness, per controller (`actor`, the name the
// FakeCluster's write records carry): blind() and listed() mark the windows, seen() the last
// version each watch delivered. An extra roll's message notes what may explain it without
// excusing it (a hidden template write with nothing changed; a view the watch had not caught up
// with yet), so that a report can tell those apart.
import type { WriteRecord } from './fake-cluster.ts';
import { configId, configState, type OptIn, optInOf, type Read, type Snapshot, view } from './pods-reading.ts';

const WORKLOADS: Record<string, string> = { deployments: 'Deployment', statefulsets: 'StatefulSet', daemonsets: 'DaemonSet' };

/** A stretch (since, at] of resourceVersions a controller saw only as a list at `at`. */
interface Window {
  since: number;
  at: number;
  /** The controller's first list of the kind: what happened before it started. */
  first: boolean;
  /** The watch was refused (403) for (part of) it. */
  refused: boolean;
}

interface WorkloadModel {
  uid: string;
  plural: string;
  name: string;
  label: string;
  createdRv: number;
  optIn: OptIn;
  /** Its creation, or its last move from not opted in to opted in. */
  optInRv: number;
  /** The last write of its pod template, by anyone. */
  templateRv: number;
  /** The configuration its pods run (the adoption convention applied at the operator's first write). */
  pods: Snapshot;
  /** The version whose configuration that is: the template write, or the adoption point. */
  podsRv: number;
  lastOperatorWrite: number | undefined;
  /** The controller that made that write. */
  lastActor: string | undefined;
  /**
   * The controller whose last write (a roll, an adoption) recorded a view its watch had not
   * caught up with (a change before the pods' template write not yet delivered): the second
   * residual of docs/rules.md ("What the pods run").
   */
  recordedBehind: string | undefined;
  /** config-reload.dev/paused: "true" on its last version: the operator may not roll it. */
  paused: boolean;
}

export interface QuiescenceOptions {
  /** Workloads whose patches are refused or whose rollouts fail, through quiescence (by name). */
  failing?: ReadonlySet<string>;
  /** Waves are on: consumers sharing a config object with a failing workload may be legitimately held. */
  waves?: boolean;
  /** The controller leading at quiescence: what it could not see excuses the one documented residual. */
  actor?: string;
  /**
   * `--template-order off`: a template write the acting controller did not see (before its
   * first list) and no operator write recorded is taken to carry the record (docs/rules.md).
   */
  unordered?: boolean;
}

/** A miss excused as held: by a failing workload itself, or by a consumer its wave holds back. */
export interface Held {
  name: string;
  failing: boolean;
  problem: string;
}

export class PodsOracle {
  readonly violations: string[] = [];
  /** Operator writes that changed a pod template. */
  rolls = 0;
  operatorWrites = 0;
  #current: Snapshot = new Map();
  /** Every configuration there was, from the first: what pods started at any version read. */
  readonly #history: Array<{ rv: number; snapshot: Snapshot }> = [{ rv: 0, snapshot: new Map() }];
  readonly #workloads = new Map<string, WorkloadModel>();
  /** Per `actor|plural`: the windows recorded, and the start of one still open (a refusal). */
  readonly #windows = new Map<string, Window[]>();
  readonly #open = new Map<string, number>();
  /** Per `actor|plural`: the last version its watch delivered (or its last list). */
  readonly #seen = new Map<string, number>();
  /** Per config object: the versions of every write to it (content or not), of its creations, of its deletions. */
  readonly #writes = new Map<string, number[]>();
  readonly #created = new Map<string, number[]>();
  readonly #deletions = new Map<string, number[]>();

  observe(write: WriteRecord): void {
    if (write.plural === 'configmaps' || write.plural === 'secrets') this.#config(write);
    else if (WORKLOADS[write.plural] !== undefined) this.#workload(write);
  }

  /**
   * The controller `actor` can no longer watch `plural` (refused) after having seen it up to
   * `since`: a window opens, closed by its next list (listed()).
   */
  blind(actor: string, plural: string, since: number): void {
    if (!this.#open.has(`${actor}|${plural}`)) this.#open.set(`${actor}|${plural}`, since);
  }

  /**
   * `actor` listed `plural` at `at`, having seen it by watch up to `since`: what was written
   * in between reached it only as this list (its first list, a relist after 410, or the list
   * that ends a refusal).
   */
  listed(actor: string, plural: string, since: number, at: number): void {
    const id = `${actor}|${plural}`;
    this.#seen.set(id, at);
    const windows = this.#windows.get(id) ?? [];
    const opened = this.#open.get(id);
    this.#open.delete(id);
    windows.push({ since: Math.min(since, opened ?? since), at, first: windows.length === 0, refused: opened !== undefined });
    this.#windows.set(id, windows);
  }

  /** `actor`'s watch of `plural` delivered version `rv`: said in violations, where it explains an extra roll. */
  seen(actor: string, plural: string, rv: number): void {
    this.#seen.set(`${actor}|${plural}`, rv);
  }

  /**
   * The misses at quiescence. Returns the misses it excused as legitimately held instead: those
   * of failing workloads, and with waves those of consumers sharing a config object with one.
   */
  checkQuiescent(opts: QuiescenceOptions = {}): { held: Held[] } {
    const held: Held[] = [];
    const failing = [...this.#workloads.values()].filter((w) => opts.failing?.has(w.name));
    const shared = new Set(opts.waves ? failing.flatMap((w) => w.optIn.reads.map((r) => r.id)) : []);
    const counted = this.#notIgnored(this.#current);
    for (const w of this.#workloads.values()) {
      // Paused: what it runs is held until it is unpaused (then this check applies again).
      if (!w.optIn.in || w.paused || w.optIn.reads.some((r) => !r.optional && !this.#current.has(r.id))) continue;
      const running = view(w.optIn.reads, w.pods, counted);
      const now = view(w.optIn.reads, this.#current, counted);
      const problem = w.lastOperatorWrite === undefined
        ? `${w.label} (${w.uid}): opted in, never adopted`
        : running !== now && !this.#livedUnseen(w, opts.actor) && !this.#recordedUnseen(w, opts.actor) && !this.#unorderedUnseen(w, opts) ? `${w.label} (${w.uid}): missed roll — pods run ${running || 'nothing'}, configuration is ${now || 'nothing'}` : undefined;
      if (problem === undefined) continue;
      const isFailing = failing.includes(w);
      if (isFailing || w.optIn.reads.some((r) => shared.has(r.id))) held.push({ name: w.name, failing: isFailing, problem });
      else this.violations.push(problem);
    }
    return { held };
  }

  #config(write: WriteRecord): void {
    const next = new Map(this.#current);
    const id = configId(write.namespace, write.plural, write.name);
    this.#writes.set(id, [...(this.#writes.get(id) ?? []), write.rv]);
    const life = write.type === 'DELETED' ? this.#deletions : write.type === 'ADDED' ? this.#created : undefined;
    life?.set(id, [...(life.get(id) ?? []), write.rv]);
    if (write.type === 'DELETED') next.delete(id);
    else next.set(id, configState(write.object));
    this.#current = next;
    this.#history.push({ rv: write.rv, snapshot: next });
  }

  #workload(write: WriteRecord): void {
    const uid = write.object.metadata.uid ?? '';
    if (write.type === 'DELETED') {
      this.#workloads.delete(uid);
      return;
    }
    const optIn = optInOf(write.object);
    const w = this.#workloads.get(uid);
    if (w === undefined) {
      this.#workloads.set(uid, {
        uid, plural: write.plural, name: write.name, label: `${WORKLOADS[write.plural]}/${write.name}`, createdRv: write.rv, optIn, optInRv: write.rv,
        templateRv: write.rv, pods: this.#current, podsRv: write.rv, lastOperatorWrite: undefined, lastActor: undefined, recordedBehind: undefined,
        paused: pausedOf(write.object),
      });
      return;
    }
    if (optIn.in && !w.optIn.in) w.optInRv = write.rv;
    w.optIn = optIn;
    // The operator's patch never touches the switch, and carries the version it decided on: a
    // roll written while the switch is on was decided on a paused workload.
    w.paused = pausedOf(write.object);
    if (write.by !== 'operator') {
      if (write.templateChanged) {
        w.templateRv = write.rv;
        w.pods = this.#current;
        w.podsRv = write.rv;
      }
      return;
    }
    this.#operatorWrite(w, write);
  }

  #operatorWrite(w: WorkloadModel, write: WriteRecord): void {
    const actor = write.actor ?? 'operator';
    this.operatorWrites++;
    if (!w.optIn.in) this.violations.push(`rv ${write.rv}: ${actor} wrote to ${w.label}, which is not opted in`);
    if (w.lastOperatorWrite === undefined) {
      const point = this.#adoptionPoint(w, actor);
      if (w.templateRv < point) {
        w.pods = this.#snapshotAt(point);
        w.podsRv = point;
      }
    }
    if (write.templateChanged) {
      this.rolls++;
      if (w.paused) this.violations.push(`rv ${write.rv}: ${actor} rolled ${w.label}, which is paused`);
      const counted = this.#notIgnored(this.#current);
      const running = view(w.optIn.reads, w.pods, counted);
      if (running === view(w.optIn.reads, this.#current, counted)) this.#extra(w, actor, write.rv, running, counted);
      w.templateRv = write.rv;
      w.pods = this.#current;
      w.podsRv = write.rv;
    }
    w.lastOperatorWrite = write.rv;
    w.lastActor = actor;
    // Did it write on a view that had not yet shown a change made before the pods started?
    const behind = w.optIn.reads.some((r) => {
      const seen = this.#seen.get(`${actor}|${r.plural}`);
      return seen !== undefined && (this.#writes.get(r.id) ?? []).some((rv) => rv > seen && rv <= w.templateRv);
    });
    w.recordedBehind = behind ? actor : undefined;
  }

  /** The later of its creation (or last opt-in) and when `actor` could first see its kind and every consumed kind. */
  #adoptionPoint(w: WorkloadModel, actor: string): number {
    const plurals = this.#pluralsOf(w);
    let point = w.optInRv;
    for (let moved = true; moved;) {
      moved = false;
      for (const plural of plurals) {
        for (const win of this.#windows.get(`${actor}|${plural}`) ?? []) {
          if ((win.first || win.refused) && win.since < point && point < win.at) {
            point = win.at;
            moved = true;
          }
        }
      }
    }
    return point;
  }

  /**
   * A roll onto what the pods run already: a violation unless excused. The message says what
   * may explain it without excusing it: the template write was hidden but nothing changed (a
   * restarted controller cannot tell that from a change and its reversal), or the controller
   * acted on a view its watch had not caught up with yet.
   */
  #extra(w: WorkloadModel, actor: string, rollRv: number, running: string, counted: (id: string) => boolean): void {
    // What it could not place: the pods' template write, the adoption point their configuration
    // counts from, or (never adopted yet) the opt-in its adoption would count from.
    const points = [w.templateRv, w.podsRv, ...(w.lastOperatorWrite === undefined ? [w.optInRv] : [])];
    const windows = this.#pluralsOf(w).flatMap((plural) =>
      (this.#windows.get(`${actor}|${plural}`) ?? []).filter((win) => points.some((p) => win.since < p && p <= win.at)));
    const hidden = windows.length > 0;
    // Hidden, the pods may have started anywhere in the window: changes from its start count.
    const since = Math.min(w.lastOperatorWrite ?? w.createdRv, ...windows.map((win) => win.since));
    const from = hidden ? since : w.lastOperatorWrite ?? w.createdRv;
    const before = view(w.optIn.reads, this.#snapshotAt(from), counted);
    const changed = this.#history.some((h) => h.rv > from && h.rv < rollRv && view(w.optIn.reads, h.snapshot, counted) !== before);
    // What a list cannot prove unchanged: an object written since (a label edit included: only
    // its version shows), or absent (an absence has no version).
    const unprovable = w.optIn.reads.some((r) => !this.#current.has(r.id)
      || (this.#writes.get(r.id) ?? []).some((rv) => rv > from && rv < rollRv));
    if (hidden && (changed || unprovable)) return;
    // What the actor had seen of each object: the version its watch of that kind had reached.
    const seenBy = {
      get: (id: string) => {
        const read = w.optIn.reads.find((r) => r.id === id);
        return this.#snapshotAt(this.#seen.get(`${actor}|${read?.plural}`) ?? 0).get(id);
      },
    };
    // As it had seen them, the ignore switches included.
    const seenView = view(w.optIn.reads, seenBy, (id) => seenBy.get(id)?.ignored !== true);
    const seenRunning = view(w.optIn.reads, w.pods, (id) => seenBy.get(id)?.ignored !== true);
    // The second leniency, inherent to watching: it rolled on what its watches had shown, which
    // a later event (not delivered yet) reverted. Only where the harness says what was shown.
    const told = w.optIn.reads.every((r) => this.#seen.has(`${actor}|${r.plural}`));
    if (told && seenView !== seenRunning) return;
    const notes: string[] = [];
    if (hidden) notes.push(`its template write was hidden from ${actor} by a list, and every object it reads is provably unchanged since rv ${from}`);
    this.violations.push(`rv ${rollRv}: extra roll of ${w.label} by ${actor} — its pods (template written at rv ${w.templateRv}) already run ${running || 'nothing it reads'}`
      + (notes.length > 0 ? ` (${notes.join('; ')})` : ''));
  }

  /**
   * The one residual on the side of no roll (docs/rules.md, "What the pods run"): what the pods read of
   * an object that is absent now existed only inside one list window of the controller — created
   * and deleted where it saw neither — so that, to it, the object was always absent. The
   * controller is the one leading now, or the one whose record it trusts (its last writer).
   */
  #livedUnseen(w: WorkloadModel, actor: string | undefined): boolean {
    if (actor === undefined) return false;
    const actors = [...new Set([actor, ...(w.lastActor === undefined ? [] : [w.lastActor])])];
    const differing = w.optIn.reads.filter((r) => !this.#current.has(r.id) && w.pods.has(r.id));
    if (differing.length === 0 || differing.length !== w.optIn.reads.filter((r) => {
      const a = view([r], w.pods, () => true);
      return a !== view([r], this.#current, () => true);
    }).length) return false;
    return differing.every((r) => {
      const created = Math.max(...(this.#created.get(r.id) ?? []).filter((rv) => rv <= w.podsRv), -1);
      const deleted = Math.min(...(this.#deletions.get(r.id) ?? []).filter((rv) => rv > w.podsRv), Infinity);
      return actors.some((a) => (this.#windows.get(`${a}|${r.plural}`) ?? []).some((win) => !win.first && win.since < created && deleted <= win.at));
    });
  }

  /**
   * The other residual on the side of no roll: the last write recorded a view its controller's
   * watch had not caught up with, and that controller stopped (a restart, a failover) before
   * the event arrived, so that the one now acting, started cold after it, trusts the record.
   */
  #recordedUnseen(w: WorkloadModel, actor: string | undefined): boolean {
    if (actor === undefined || w.recordedBehind === undefined || w.lastOperatorWrite === undefined) return false;
    // Only a cold start (a list from nothing seen) after that write: a warm standby saw the same
    // events, and must have corrected it.
    const written = w.lastOperatorWrite;
    return (this.#windows.get(`${actor}|${w.plural}`) ?? []).some((win) => (win.first || win.since === 0) && win.at >= written);
  }

  /**
   * `--template-order off`'s documented behaviour: a template write by someone else that the
   * acting controller did not see (it came before that controller's first list) and that no
   * operator write followed is taken to carry what the record says — the configuration of the
   * last operator write: while that is still the configuration, nothing rolls.
   */
  #unorderedUnseen(w: WorkloadModel, opts: QuiescenceOptions): boolean {
    const recorded = w.lastOperatorWrite;
    if (!opts.unordered || opts.actor === undefined || recorded === undefined || w.templateRv <= recorded) return false;
    const counted = this.#notIgnored(this.#current);
    if (view(w.optIn.reads, this.#snapshotAt(recorded), counted) !== view(w.optIn.reads, this.#current, counted)) return false;
    return (this.#windows.get(`${opts.actor}|${w.plural}`) ?? []).some((win) => win.first && win.since < w.templateRv && w.templateRv <= win.at);
  }

  #pluralsOf(w: WorkloadModel): string[] {
    return [...new Set([w.plural, ...w.optIn.reads.map((r: Read) => r.plural)])];
  }

  #snapshotAt(rv: number): Snapshot {
    for (let i = this.#history.length - 1; i >= 0; i--) if (this.#history[i]!.rv <= rv) return this.#history[i]!.snapshot;
    return new Map();
  }

  #notIgnored(snapshot: Snapshot): (id: string) => boolean {
    return (id) => snapshot.get(id)?.ignored !== true;
  }
}

/** The pause switch as the operator reads it ("true", any case and surrounding space). */
function pausedOf(object: WriteRecord['object']): boolean {
  const annotations = (object.metadata.annotations ?? {}) as Record<string, string>;
  return annotations['config-reload.dev/paused']?.trim().toLowerCase() === 'true';
}
