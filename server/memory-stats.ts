import v8 from 'node:v8';

/** The process's memory as `xencode.stats` reports it, in MB (one decimal). */
export interface MemoryStats {
  /** Resident set size: what the system sees, V8's heap and native memory (trees, LMDB, malloc) together. */
  rssMb: number;
  /** V8's heap: reserved, and used by live objects and garbage not yet collected. */
  heapTotalMb: number;
  heapUsedMb: number;
  /** Of heapTotal, the young generation (both semi-spaces): see heap-tuning.ts. */
  youngGenerationMb: number;
  /** Memory of C++ objects tied to JavaScript objects (buffers); tree-sitter trees are not counted anywhere here. */
  externalMb: number;
  /** Open documents, and how many of them hold a tree (native memory V8 does not see; see native-memory.ts). */
  documents: number;
  trees: number;
}

/** A snapshot; cheap (microseconds), so a client may poll it. */
export function memoryStats(documents: { readonly size: number; readonly treeCount: number }): MemoryStats {
  const usage = process.memoryUsage();
  const young = v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space');
  return {
    rssMb: mb(usage.rss),
    heapTotalMb: mb(usage.heapTotal),
    heapUsedMb: mb(usage.heapUsed),
    youngGenerationMb: mb(young?.space_size ?? 0),
    externalMb: mb(usage.external),
    documents: documents.size,
    trees: documents.treeCount,
  };
}

function mb(bytes: number): number {
  return Math.round((bytes / (1024 * 1024)) * 10) / 10;
}
