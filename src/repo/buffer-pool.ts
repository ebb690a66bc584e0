/**
 * Recycled ArrayBuffers for chunks and packs. Node frees a buffer only when V8 collects its
 * owner, and V8 lets ~64 MiB of dead buffers accumulate per thread before it does: at a chunk
 * per millisecond that is most of the backup's memory. Reusing a few buffers keeps it flat.
 * Buffers come in power-of-two classes (packs: their fixed capacity); spares are kept up to a
 * byte budget.
 */
export class BufferPool {
  private readonly free = new Map<number, ArrayBuffer[]>();
  private spareBytes = 0;

  constructor(private readonly budget = 24 << 20) {}

  private static classOf(size: number): number {
    return 2 ** Math.max(16, Math.ceil(Math.log2(Math.max(1, size))));
  }

  /** A view of exactly `size` bytes at offset 0 of a buffer of at least `size + slack` bytes. Never throws. */
  take(size: number, slack = 0): Uint8Array {
    const cls = BufferPool.classOf(size + slack);
    return new Uint8Array(this.pop(cls) ?? new ArrayBuffer(cls), 0, size);
  }

  /** A whole buffer of exactly `capacity` bytes (for packs, whose size is fixed). Never throws. */
  takeCapacity(capacity: number): Uint8Array {
    return new Uint8Array(this.pop(capacity) ?? new ArrayBuffer(capacity));
  }

  private pop(cls: number): ArrayBuffer | undefined {
    const spare = this.free.get(cls)?.pop();
    if (spare) this.spareBytes -= cls;
    return spare;
  }

  /** Returns a buffer for reuse (shared or detached ones are dropped). Never throws. */
  give(buffer: ArrayBufferLike): void {
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength < 1 << 16) return;
    const cls = buffer.byteLength;
    if (this.spareBytes + cls > this.budget) return;
    const list = this.free.get(cls) ?? [];
    list.push(buffer);
    this.free.set(cls, list);
    this.spareBytes += cls;
  }
}
