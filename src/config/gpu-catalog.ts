/**
 * RunPod's GPU type ids, exactly as the pods APIs want them, and a forgiving resolver for what operators type
 * ("RTX 3090", "NVIDIA RTX 4090", "a6000"). Pure data and functions, no I/O.
 *
 * Source: reference/runpod.md §1.6 (RunPod docs `references/gpu-types.mdx`, table generated 2026-02-12), plus the two
 * ids only the REST v1 OpenAPI `GPUTypeId` enum lists. RunPod adds types over time: an id missing here can still
 * be used by passing it exactly (see `resolveGpuTypeId`'s `extraIds`, e.g. from `PodsApi.listGpuTypes()`).
 */
export interface GpuCatalogEntry {
  id: string;
  displayName: string;
  memoryInGb: number;
}

export const GPU_TYPES: readonly GpuCatalogEntry[] = [
  { id: 'AMD Instinct MI300X OAM', displayName: 'MI300X', memoryInGb: 192 },
  { id: 'NVIDIA A100 80GB PCIe', displayName: 'A100 PCIe', memoryInGb: 80 },
  { id: 'NVIDIA A100-SXM4-80GB', displayName: 'A100 SXM', memoryInGb: 80 },
  { id: 'NVIDIA A30', displayName: 'A30', memoryInGb: 24 },
  { id: 'NVIDIA A40', displayName: 'A40', memoryInGb: 48 },
  { id: 'NVIDIA B200', displayName: 'B200', memoryInGb: 180 },
  { id: 'NVIDIA B300 SXM6 AC', displayName: 'B300', memoryInGb: 288 },
  { id: 'NVIDIA GeForce RTX 3070', displayName: 'RTX 3070', memoryInGb: 8 },
  { id: 'NVIDIA GeForce RTX 3080', displayName: 'RTX 3080', memoryInGb: 10 },
  { id: 'NVIDIA GeForce RTX 3080 Ti', displayName: 'RTX 3080 Ti', memoryInGb: 12 },
  { id: 'NVIDIA GeForce RTX 3090', displayName: 'RTX 3090', memoryInGb: 24 },
  { id: 'NVIDIA GeForce RTX 3090 Ti', displayName: 'RTX 3090 Ti', memoryInGb: 24 },
  { id: 'NVIDIA GeForce RTX 4070 Ti', displayName: 'RTX 4070 Ti', memoryInGb: 12 },
  { id: 'NVIDIA GeForce RTX 4080', displayName: 'RTX 4080', memoryInGb: 16 },
  { id: 'NVIDIA GeForce RTX 4080 SUPER', displayName: 'RTX 4080 SUPER', memoryInGb: 16 },
  { id: 'NVIDIA GeForce RTX 4090', displayName: 'RTX 4090', memoryInGb: 24 },
  { id: 'NVIDIA GeForce RTX 5080', displayName: 'RTX 5080', memoryInGb: 16 },
  { id: 'NVIDIA GeForce RTX 5090', displayName: 'RTX 5090', memoryInGb: 32 },
  { id: 'NVIDIA H100 80GB HBM3', displayName: 'H100 SXM', memoryInGb: 80 },
  { id: 'NVIDIA H100 NVL', displayName: 'H100 NVL', memoryInGb: 94 },
  { id: 'NVIDIA H100 PCIe', displayName: 'H100 PCIe', memoryInGb: 80 },
  { id: 'NVIDIA H200', displayName: 'H200 SXM', memoryInGb: 141 },
  { id: 'NVIDIA H200 NVL', displayName: 'NVIDIA H200 NVL', memoryInGb: 143 },
  { id: 'NVIDIA L4', displayName: 'L4', memoryInGb: 24 },
  { id: 'NVIDIA L40', displayName: 'L40', memoryInGb: 48 },
  { id: 'NVIDIA L40S', displayName: 'L40S', memoryInGb: 48 },
  { id: 'NVIDIA RTX 2000 Ada Generation', displayName: 'RTX 2000 Ada', memoryInGb: 16 },
  { id: 'NVIDIA RTX 4000 Ada Generation', displayName: 'RTX 4000 Ada', memoryInGb: 20 },
  { id: 'NVIDIA RTX 4000 SFF Ada Generation', displayName: 'RTX 4000 Ada SFF', memoryInGb: 20 },
  { id: 'NVIDIA RTX 5000 Ada Generation', displayName: 'RTX 5000 Ada', memoryInGb: 32 },
  { id: 'NVIDIA RTX 6000 Ada Generation', displayName: 'RTX 6000 Ada', memoryInGb: 48 },
  { id: 'NVIDIA RTX A2000', displayName: 'RTX A2000', memoryInGb: 6 },
  { id: 'NVIDIA RTX A4000', displayName: 'RTX A4000', memoryInGb: 16 },
  { id: 'NVIDIA RTX A4500', displayName: 'RTX A4500', memoryInGb: 20 },
  { id: 'NVIDIA RTX A5000', displayName: 'RTX A5000', memoryInGb: 24 },
  { id: 'NVIDIA RTX A6000', displayName: 'RTX A6000', memoryInGb: 48 },
  { id: 'NVIDIA RTX PRO 4500 Blackwell', displayName: 'RTX PRO 4500', memoryInGb: 32 },
  {
    id: 'NVIDIA RTX PRO 6000 Blackwell Max-Q Workstation Edition',
    displayName: 'RTX PRO 6000 MaxQ',
    memoryInGb: 96,
  },
  { id: 'NVIDIA RTX PRO 6000 Blackwell Server Edition', displayName: 'RTX PRO 6000', memoryInGb: 96 },
  { id: 'NVIDIA RTX PRO 6000 Blackwell Workstation Edition', displayName: 'RTX PRO 6000 WK', memoryInGb: 96 },
  {
    id: 'NVIDIA RTX PRO 6000 Blackwell Server Edition MIG 1g.24gb',
    displayName: 'PRO 6000 MIG 24GB',
    memoryInGb: 24,
  },
  {
    id: 'NVIDIA RTX PRO 6000 Blackwell Server Edition MIG 2g.48gb',
    displayName: 'PRO 6000 MIG 48GB',
    memoryInGb: 48,
  },
  { id: 'Tesla V100-PCIE-16GB', displayName: 'Tesla V100', memoryInGb: 16 },
  { id: 'Tesla V100-SXM2-16GB', displayName: 'V100 SXM2', memoryInGb: 16 },
  { id: 'Tesla V100-SXM2-32GB', displayName: 'V100 SXM2 32GB', memoryInGb: 32 },
  // Only in the REST v1 OpenAPI enum; the docs table lacks them, so these display names are ours (UNVERIFIED).
  { id: 'Tesla V100-FHHL-16GB', displayName: 'V100 FHHL', memoryInGb: 16 },
  { id: 'NVIDIA A100-SXM4-40GB', displayName: 'A100 SXM 40GB', memoryInGb: 40 },
];

export const GPU_TYPE_IDS: readonly string[] = GPU_TYPES.map((g) => g.id);

export class UnknownGpuTypeError extends Error {
  constructor(
    readonly input: string,
    /** Ids that might have been meant (closest first), at most 5. */
    readonly suggestions: string[],
    message?: string,
  ) {
    super(
      message ??
        `Unknown RunPod GPU type "${input}".` +
          (suggestions.length
            ? ` Did you mean: ${suggestions.map((s) => `"${s}"`).join(', ')}?`
            : ' Use an exact RunPod GPU id such as "NVIDIA GeForce RTX 4090".'),
    );
    this.name = new.target.name;
  }
}

const AMBIGUOUS_LISTED = 8;

/** The name fits several GPU types (e.g. "A100"); the operator must pick one. `suggestions` lists them all. */
export class AmbiguousGpuTypeError extends UnknownGpuTypeError {
  constructor(input: string, candidates: string[]) {
    super(
      input,
      candidates,
      `GPU type "${input}" is ambiguous; it matches ${candidates
        .slice(0, AMBIGUOUS_LISTED)
        .map((c) => `"${c}"`)
        .join(', ')}` +
        (candidates.length > AMBIGUOUS_LISTED ? ` and ${candidates.length - AMBIGUOUS_LISTED} more` : '') +
        '. Use one exact id.',
    );
  }
}

/** Words that say who made the card, not which card it is: "NVIDIA RTX 3090" = "NVIDIA GeForce RTX 3090". */
const VENDOR_WORDS = new Set(['nvidia', 'amd', 'geforce']);

function tokens(text: string): string[] {
  return text
    .toLowerCase()
    .split(/[\s\-_]+/)
    .filter((t) => t.length > 0);
}

function modelTokens(text: string): string[] {
  return tokens(text).filter((t) => !VENDOR_WORDS.has(t));
}

function normalize(text: string): string {
  return tokens(text).join(' ');
}

interface IndexedEntry {
  id: string;
  /** Vendor-free spellings: "rtx 3090" for both the id and the display name. */
  aliases: Set<string>;
  tokens: Set<string>;
}

function indexEntry(id: string, displayName?: string): IndexedEntry {
  const names = displayName ? [id, displayName] : [id];
  return {
    id,
    aliases: new Set(names.map((n) => modelTokens(n).join(' '))),
    tokens: new Set(names.flatMap(modelTokens)),
  };
}

const INDEX: readonly IndexedEntry[] = GPU_TYPES.map((g) => indexEntry(g.id, g.displayName));

const unique = (ids: string[]): string[] => [...new Set(ids)];

/**
 * Turns what an operator wrote into an exact RunPod GPU type id, in this order:
 * 1. the exact id, case-insensitive ("nvidia geforce rtx 3090");
 * 2. the id or display name without vendor words ("RTX 3090", "NVIDIA RTX 3090", "GeForce RTX 4090", "H200");
 * 3. a unique id containing every word given, in any order ("4090", "A6000", "V100 PCIe").
 * When several ids fit (e.g. "A100", "RTX 6000") it throws `AmbiguousGpuTypeError` listing them; when none does,
 * `UnknownGpuTypeError` with up to 5 close matches. `extraIds` (e.g. ids RunPod's catalog returned that this
 * table lacks) are accepted by exact id and alias.
 */
export function resolveGpuTypeId(input: string, extraIds: readonly string[] = []): string {
  const wanted = normalize(input);
  if (!wanted) throw new UnknownGpuTypeError(input, []);
  const index = extraIds.length
    ? [...INDEX, ...extraIds.filter((id) => !GPU_TYPE_IDS.includes(id)).map((id) => indexEntry(id))]
    : INDEX;

  const exact = index.find((e) => normalize(e.id) === wanted);
  if (exact) return exact.id;

  const wantedModel = modelTokens(input);
  const alias = wantedModel.join(' ');
  if (alias) {
    const byAlias = unique(index.filter((e) => e.aliases.has(alias)).map((e) => e.id));
    if (byAlias.length === 1) return byAlias[0];
    if (byAlias.length > 1) throw new AmbiguousGpuTypeError(input, byAlias);

    const byTokens = unique(index.filter((e) => wantedModel.every((t) => e.tokens.has(t))).map((e) => e.id));
    if (byTokens.length === 1) return byTokens[0];
    if (byTokens.length > 1) throw new AmbiguousGpuTypeError(input, byTokens);
  }

  throw new UnknownGpuTypeError(input, suggestGpuTypeIds(input, index));
}

/** The catalog entry for an exact id, if we know it. */
export function findGpuType(id: string): GpuCatalogEntry | undefined {
  return GPU_TYPES.find((g) => g.id === id);
}

/**
 * The id for a GraphQL `machine.gpuDisplayName` ("RTX 4090"), or null when it is unknown or not unique. GraphQL
 * pods carry only the display name.
 */
export function gpuTypeIdForDisplayName(displayName: string | null | undefined): string | null {
  if (!displayName) return null;
  const wanted = normalize(displayName);
  const matches = GPU_TYPES.filter((g) => normalize(g.displayName) === wanted || normalize(g.id) === wanted);
  return matches.length === 1 ? matches[0].id : null;
}

/** Up to 5 ids closest to `input`: shared words first, then edit distance over the vendor-free spellings. */
function suggestGpuTypeIds(input: string, index: readonly IndexedEntry[]): string[] {
  const wanted = modelTokens(input);
  const wantedText = wanted.join(' ');
  const scored = index.map((e) => {
    const overlap = wanted.filter((t) => [...e.tokens].some((et) => sharesStem(t, et))).length;
    const distance = Math.min(...[...e.aliases].map((a) => levenshtein(wantedText, a)));
    return { id: e.id, overlap, distance };
  });
  const threshold = Math.max(2, Math.ceil(wantedText.length / 3));
  return scored
    .filter((s) => s.overlap > 0 || s.distance <= threshold)
    .sort((a, b) => b.overlap - a.overlap || a.distance - b.distance || a.id.localeCompare(b.id))
    .slice(0, 5)
    .map((s) => s.id);
}

/** "4090" ~ "4090", "a600" ~ "a6000", "rtx" ~ "rtx": equal, or one starts the other with at least 3 characters. */
function sharesStem(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length <= b.length ? [a, b] : [b, a];
  return short.length >= 3 && long.startsWith(short);
}

function levenshtein(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost);
    }
    previous = current;
  }
  return previous[b.length];
}
