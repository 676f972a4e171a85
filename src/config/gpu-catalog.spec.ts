import {
  AmbiguousGpuTypeError,
  GPU_TYPES,
  GPU_TYPE_IDS,
  UnknownGpuTypeError,
  findGpuType,
  gpuTypeIdForDisplayName,
  resolveGpuTypeId,
} from './gpu-catalog';

describe('GPU catalog', () => {
  it('holds the 45 documented ids plus the 2 REST v1 enum ids, without duplicates', () => {
    expect(GPU_TYPES).toHaveLength(47);
    expect(new Set(GPU_TYPE_IDS).size).toBe(47);
    expect(findGpuType('NVIDIA GeForce RTX 3090')).toEqual({
      id: 'NVIDIA GeForce RTX 3090',
      displayName: 'RTX 3090',
      memoryInGb: 24,
    });
  });

  it('every id and display name resolves to itself', () => {
    for (const g of GPU_TYPES) {
      expect(resolveGpuTypeId(g.id)).toBe(g.id);
      expect(resolveGpuTypeId(g.displayName)).toBe(g.id);
    }
  });

  it.each([
    ['NVIDIA GeForce RTX 3090', 'NVIDIA GeForce RTX 3090'],
    ['nvidia geforce rtx 3090', 'NVIDIA GeForce RTX 3090'],
    ['  NVIDIA   GeForce RTX 3090 ', 'NVIDIA GeForce RTX 3090'],
    ['RTX 3090', 'NVIDIA GeForce RTX 3090'],
    ['NVIDIA RTX 3090', 'NVIDIA GeForce RTX 3090'],
    ['NVIDIA RTX 3090 Ti', 'NVIDIA GeForce RTX 3090 Ti'],
    ['NVIDIA RTX 4090', 'NVIDIA GeForce RTX 4090'],
    ['GeForce RTX 4090', 'NVIDIA GeForce RTX 4090'],
    ['rtx4090'.replace('rtx', 'rtx '), 'NVIDIA GeForce RTX 4090'],
    ['4090', 'NVIDIA GeForce RTX 4090'],
    ['A6000', 'NVIDIA RTX A6000'],
    ['NVIDIA A6000', 'NVIDIA RTX A6000'],
    ['RTX A5000', 'NVIDIA RTX A5000'],
    ['NVIDIA L40S', 'NVIDIA L40S'],
    ['L4', 'NVIDIA L4'],
    ['H100 SXM', 'NVIDIA H100 80GB HBM3'],
    ['NVIDIA H200', 'NVIDIA H200'],
    ['H200 SXM', 'NVIDIA H200'],
    ['H200 NVL', 'NVIDIA H200 NVL'],
    ['A100 SXM', 'NVIDIA A100-SXM4-80GB'],
    ['NVIDIA A100 SXM4 80GB', 'NVIDIA A100-SXM4-80GB'],
    ['RTX 4000 Ada', 'NVIDIA RTX 4000 Ada Generation'],
    ['RTX PRO 6000', 'NVIDIA RTX PRO 6000 Blackwell Server Edition'],
    ['MI300X', 'AMD Instinct MI300X OAM'],
    ['V100 PCIe', 'Tesla V100-PCIE-16GB'],
  ])('resolves %p to %p', (input, id) => {
    expect(resolveGpuTypeId(input)).toBe(id);
  });

  it.each([
    ['NVIDIA A100', ['NVIDIA A100 80GB PCIe', 'NVIDIA A100-SXM4-80GB', 'NVIDIA A100-SXM4-40GB']],
    ['H100', ['NVIDIA H100 80GB HBM3', 'NVIDIA H100 NVL', 'NVIDIA H100 PCIe']],
    ['3090', ['NVIDIA GeForce RTX 3090', 'NVIDIA GeForce RTX 3090 Ti']],
  ])('refuses to guess between several types for %p', (input, candidates) => {
    let error: unknown;
    try {
      resolveGpuTypeId(input);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(AmbiguousGpuTypeError);
    expect(error).toBeInstanceOf(UnknownGpuTypeError);
    expect((error as AmbiguousGpuTypeError).suggestions.sort()).toEqual([...candidates].sort());
    for (const c of candidates) expect((error as Error).message).toContain(c);
  });

  it('rejects an unknown name with up to 5 close matches', () => {
    let error: unknown;
    try {
      resolveGpuTypeId('NVIDIA RTX 309');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownGpuTypeError);
    expect(error).not.toBeInstanceOf(AmbiguousGpuTypeError);
    const { suggestions, message } = error as UnknownGpuTypeError;
    expect(suggestions.length).toBeGreaterThan(0);
    expect(suggestions.length).toBeLessThanOrEqual(5);
    expect(suggestions.slice(0, 2)).toEqual(['NVIDIA GeForce RTX 3090', 'NVIDIA GeForce RTX 3090 Ti']);
    expect(message).toContain('Unknown RunPod GPU type "NVIDIA RTX 309"');
    expect(message).toContain('Did you mean: "NVIDIA GeForce RTX 3090"');
  });

  it('suggests the nearest spelling for a typo', () => {
    expect(() => resolveGpuTypeId('RTX 4090X')).toThrow(/Did you mean: "NVIDIA GeForce RTX 4090"/);
  });

  it('suggests by shared words too', () => {
    const e = (() => {
      try {
        return resolveGpuTypeId('Tesla A100 HBM9');
      } catch (err) {
        return err as UnknownGpuTypeError;
      }
    })() as UnknownGpuTypeError;
    expect(e).toBeInstanceOf(UnknownGpuTypeError);
    expect(e.suggestions.some((s) => s.includes('A100'))).toBe(true);
  });

  it('gives no suggestions for nonsense and says what a valid id looks like', () => {
    expect(() => resolveGpuTypeId('potato')).toThrow(/Unknown RunPod GPU type "potato".*exact RunPod GPU id/);
    expect(() => resolveGpuTypeId('   ')).toThrow(UnknownGpuTypeError);
  });

  it('accepts ids the live catalog knows that this table lacks', () => {
    expect(resolveGpuTypeId('NVIDIA GeForce RTX 6090', ['NVIDIA GeForce RTX 6090'])).toBe(
      'NVIDIA GeForce RTX 6090',
    );
    expect(resolveGpuTypeId('nvidia rtx 6090', ['NVIDIA GeForce RTX 6090'])).toBe('NVIDIA GeForce RTX 6090');
  });

  it('maps a GraphQL gpuDisplayName back to an id when unique', () => {
    expect(gpuTypeIdForDisplayName('RTX 4090')).toBe('NVIDIA GeForce RTX 4090');
    expect(gpuTypeIdForDisplayName('RTX PRO 4500')).toBe('NVIDIA RTX PRO 4500 Blackwell');
    expect(gpuTypeIdForDisplayName('Something Else')).toBeNull();
    expect(gpuTypeIdForDisplayName(null)).toBeNull();
  });
});
