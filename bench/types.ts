/**
 * What a benchmark section produces. Each section measures one area and returns rows; `run.ts`
 * prints them as a table and writes them as JSON. To add a section, write a module under
 * `sections/` exporting a `BenchSection` and list it in `sections/index.ts`.
 */

/** A published figure to compare with. */
export interface Reference {
  value: number;
  unit: string;
  /** Where the figure comes from. */
  source: string;
}

export interface BenchRow {
  /** The section that measured it. */
  section: string;
  /** What was measured, e.g. "load 1,000,000 records + checkpoint". */
  figure: string;
  /** Storage mode or another variant, when the section runs several. */
  variant?: string;
  value: number;
  unit: string;
  reference?: Reference;
  /**
   * How many times worse than the reference (1 = equal, 2 = twice as slow or half the rate),
   * so every ratio reads the same way whatever the unit.
   */
  ratio?: number;
}

export interface BenchContext {
  /** A scratch directory for this section, removed afterwards. */
  scratch: string;
  /** `--quick`: smaller sizes for a smoke run; figures are then not comparable. */
  quick: boolean;
  /** Progress on stderr. */
  log(message: string): void;
}

export interface BenchSection {
  /** Short name, used by `--only`. */
  name: string;
  description: string;
  run(context: BenchContext): Promise<BenchRow[]>;
}

/** Ratio for a duration or size (lower is better). */
export function slowerBy(value: number, reference: number): number {
  return value / reference;
}

/** Ratio for a rate (higher is better). */
export function rateSlowerBy(value: number, reference: number): number {
  return reference / value;
}
