/**
 * What the fit loop needs from a trainer, and how it opens a run directory (resume, run length).
 *
 * @module
 */
import type { LossFn } from "../loss/loss_result.ts";
import type { Batch } from "./batch.ts";
import type { StepMetrics } from "./callbacks.ts";
import type { Checkpoint, CheckpointState, NamedArray } from "./checkpoint.ts";
import { CheckpointMismatchError } from "./errors.ts";
import type { RunDirectory } from "./run_dir.ts";
import type { Schedule } from "./schedule.ts";
import type { Trainable } from "./trainable.ts";

/**
 * What the fit loop needs from a trainer: a narrow protocol of methods; the trainer keeps its
 * state to itself and the loop reads it through `position()`.
 */
export interface FitHost {
  /** What is trained (for validation and samples). */
  readonly trainable: Trainable;
  /** The loss (for validation). */
  readonly loss: LossFn;
  /** The schedule (for its description). */
  readonly schedule: Schedule;
  /** Whether the caller chose the seed (then a checkpoint with another seed is refused). */
  readonly seedGiven: boolean;
  /** The caller's config, stored in the run marker. */
  readonly config: unknown;
  /** Steps done, the data position, the seed and the last metrics, now. */
  position(): {
    readonly step: number;
    readonly epoch: number;
    readonly batchInEpoch: number;
    readonly seed: number;
    readonly last: StepMetrics | undefined;
  };
  /** Set the run length the schedule follows. */
  setRunLength(totalSteps: number): void;
  /** One step on a batch already checked with `checkBatch`. */
  step(batch: Batch): Promise<StepMetrics>;
  /** Record the data position after a batch (or at an epoch's end). */
  setPosition(epoch: number, batchInEpoch: number): void;
  /** Load a checkpoint. */
  restore(checkpoint: Checkpoint): Promise<Checkpoint>;
  /** Read the state to checkpoint. */
  snapshot(): Promise<{ state: CheckpointState; model: NamedArray[]; optimizer: NamedArray[] }>;
}

/**
 * Opens `run` before anything is written: resumes from its last checkpoint when asked (refusing
 * one trained with another seed) and settles the run length, which a checkpoint stores.
 */
export async function openRun(
  host: FitHost,
  run: RunDirectory | undefined,
  resume: boolean,
  runLength: number | undefined,
  epochs: number | undefined,
): Promise<{ totalSteps: number | undefined; resumedFrom: string | undefined; notes: string[] }> {
  let resumedFrom: string | undefined;
  const notes: string[] = [];
  let totalSteps = runLength;
  if (run !== undefined) {
    const seed = host.position().seed;
    const opened = await run.open({
      resume,
      info: { seed, schedule: host.schedule.description ?? null, config: host.config },
      findCheckpoint: host.position().step === 0,
    });
    notes.push(...opened.notes);
    const c = opened.checkpoint;
    if (c !== undefined) {
      if (host.seedGiven && c.state.seed !== seed) {
        throw new CheckpointMismatchError(
          c.dir,
          `it was trained with seed ${c.state.seed}, this trainer has seed ${seed}; drop ` +
            "the seed option to take the checkpoint's, or start a new run",
        );
      }
      await host.restore(c);
      resumedFrom = c.dir;
      // The run length is part of the run: the schedule continues where it stopped unless the
      // caller asks for another length, which is said.
      const stored = c.state.totalSteps;
      if (totalSteps === undefined && epochs === undefined && stored !== null) {
        totalSteps = stored;
        host.setRunLength(stored);
      } else if (totalSteps !== undefined && stored !== null && stored !== totalSteps) {
        notes.push(
          `run length changed from ${stored} to ${totalSteps} steps: the schedule follows ` +
            `${totalSteps} steps from step ${c.state.step + 1} on`,
        );
      }
    } else if (opened.previousRun && host.position().step === 0) {
      notes.push(`${run.path} holds no checkpoint yet: training starts again from step 0`);
    }
  }
  return { totalSteps, resumedFrom, notes };
}
