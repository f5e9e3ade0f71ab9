/** A pool of GPU buffers by usage and size class, bounded in bytes; returns buffers after each call. */

export interface PoolStats {
  /** Idle buffers kept for reuse. */
  pooledBuffers: number;
  pooledBytes: number;
  /** Buffers handed out and not yet returned. */
  liveBuffers: number;
}

/** Sizes round up to a quarter power of two: at most 25 % waste, few distinct classes. */
function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 256);
  const step = 2 ** Math.max(8, Math.floor(Math.log2(b)) - 2);
  return Math.ceil(b / step) * step;
}

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private pooledBytes = 0;
  private live = new Set<GPUBuffer>();

  constructor(private device: GPUDevice, private maxPooledBytes = 256 * 2 ** 20) {}

  acquire(bytes: number, usage: number): GPUBuffer {
    // Never round past the device's largest buffer: a size that fits must get a buffer.
    let size = sizeClass(bytes);
    if (size > this.device.limits.maxBufferSize) size = Math.ceil(bytes / 16) * 16;
    const list = this.free.get(`${usage}:${size}`);
    let buffer = list?.pop();
    if (buffer) this.pooledBytes -= size;
    else buffer = this.device.createBuffer({ size, usage });
    this.live.add(buffer);
    return buffer;
  }

  release(buffer: GPUBuffer): void {
    if (!this.live.delete(buffer)) return;
    if (this.pooledBytes + buffer.size > this.maxPooledBytes) {
      buffer.destroy();
      return;
    }
    const key = `${buffer.usage}:${buffer.size}`;
    const list = this.free.get(key) ?? [];
    list.push(buffer);
    this.free.set(key, list);
    this.pooledBytes += buffer.size;
  }

  stats(): PoolStats {
    let pooledBuffers = 0;
    for (const list of this.free.values()) pooledBuffers += list.length;
    return { pooledBuffers, pooledBytes: this.pooledBytes, liveBuffers: this.live.size };
  }

  /** Destroys every buffer, pooled or live. */
  destroy(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const b of this.live) b.destroy();
    this.free.clear();
    this.live.clear();
    this.pooledBytes = 0;
  }
}
