/**
 * The chaos run's plan, a pure function of the options and the seed: which
 * jobs (through the API or made directly through the Kubernetes API), what
 * each container prints, which fail first or always, which get dismissed or
 * deleted, when controller replicas are killed and which API server faults
 * come when.
 */
import { seededRandom, type Random } from './prng.js';

export interface ContainerOutput {
  bytes: number;
  /** The last line ends with a newline. */
  newline: boolean;
}

/** What job.mjs reads (input `spec`). */
export interface JobSpec {
  key: string;
  /** Folder of the receipts and attempt counters. */
  truth: string;
  /** Time over which the main container prints its body. */
  ms: number;
  init: ContainerOutput;
  main: ContainerOutput;
  failFirst: boolean;
  failAlways: boolean;
  result: boolean;
}

export interface PlannedJob {
  spec: JobSpec;
  /** `api`: POST /processes/chaos/execution; `direct`: a labelled Job without the finalizer, restartPolicy OnFailure. */
  via: 'api' | 'direct';
  /** DELETE /jobs/{id} this long after its main container started. */
  dismissAfterMs?: number;
  /** Delete the Job (Background) through the Kubernetes API once it finished. */
  deleteWhenFinished: boolean;
  /** Pause before submitting the next job. */
  gapMs: number;
}

export interface PlannedKill {
  /** Submitted jobs before this kill (kills follow the work, not the clock). */
  afterJobs: number;
  delayMs: number;
  /** The leader (most kills, as that interrupts capture and upload), else the replica `replica`. */
  target: 'leader' | 'any';
  replica: number;
  restartAfterMs: number;
}

export type ApiFault =
  | { kind: 'drop-watches' }
  | { kind: 'gone'; }
  | { kind: 'stall'; ms: number }
  | { kind: 'errors'; count: number; share: number };

export interface ChaosOptions {
  jobs: number;
  kills: number;
  seed: string;
  replicas: number;
  /** Largest log of one container. */
  maxBytes: number;
  truth: string;
}

export interface ChaosPlan {
  jobs: PlannedJob[];
  kills: PlannedKill[];
  /** Drawn in order, one every `faultEveryMs` (randomised) while jobs run. */
  faults: (random: Random) => { fault: ApiFault; waitMs: number };
}

function size(random: Random, maxBytes: number, init: boolean): number {
  const draw = random.next();
  const bytes = init
    ? draw < 0.7
      ? random.int(0, 300)
      : random.int(300, 16 * 1024)
    : draw < 0.45
      ? random.int(0, 500)
      : draw < 0.75
        ? random.int(500, 64 * 1024)
        : draw < 0.92
          ? random.int(64 * 1024, 1024 * 1024)
          : random.int(1024 * 1024, Math.max(1024 * 1024, maxBytes));
  return Math.min(bytes, maxBytes);
}

export function planChaos(options: ChaosOptions): ChaosPlan {
  const random = seededRandom(options.seed).fork('plan');
  const jobs: PlannedJob[] = [];
  for (let i = 0; i < options.jobs; i++) {
    const via = random.chance(0.7) ? 'api' : 'direct';
    const mainBytes = size(random, options.maxBytes, false);
    const dismiss = via === 'api' && random.chance(0.12);
    const failAlways = via === 'api' && !dismiss && random.chance(0.06);
    const failFirst = !failAlways && random.chance(via === 'api' ? 0.15 : 0.4);
    // Big logs take longer to print; dismissed jobs run long enough to be caught running.
    const ms = dismiss ? random.int(2_000, 5_000) : mainBytes > 1024 * 1024 ? random.int(1_000, 5_000) : random.int(0, 2_000);
    jobs.push({
      spec: {
        key: `j${String(i).padStart(4, '0')}`,
        truth: options.truth,
        ms,
        init: { bytes: size(random, options.maxBytes, true), newline: random.chance(0.6) },
        main: { bytes: mainBytes, newline: random.chance(0.6) },
        failFirst,
        failAlways,
        result: via === 'api',
      },
      via,
      ...(dismiss ? { dismissAfterMs: random.int(100, 1_500) } : {}),
      deleteWhenFinished: via === 'direct' && random.chance(0.3),
      gapMs: random.int(0, 300),
    });
  }
  const kills: PlannedKill[] = [];
  for (let k = 0; k < options.kills; k++) {
    kills.push({
      afterJobs: Math.floor(((k + 1) * options.jobs) / (options.kills + 1)),
      delayMs: random.int(0, 1_500),
      target: random.chance(0.75) ? 'leader' : 'any',
      replica: random.int(0, options.replicas - 1),
      restartAfterMs: random.int(300, 3_000),
    });
  }
  const faults = (r: Random): { fault: ApiFault; waitMs: number } => {
    const draw = r.next();
    const fault: ApiFault =
      draw < 0.3
        ? { kind: 'drop-watches' }
        : draw < 0.5
          ? { kind: 'gone' }
          : draw < 0.7
            ? { kind: 'stall', ms: r.int(500, 3_000) }
            : { kind: 'errors', count: r.int(5, 25), share: 0.5 };
    return { fault, waitMs: r.int(1_000, 4_000) };
  };
  return { jobs, kills, faults };
}
