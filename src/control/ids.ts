// src/control/ids.ts — allocates map slot ids (service and dest ids). Ids are handed out cyclically so a
// freed id is reused as late as possible: connections that still name a removed dest keep being dropped
// (IPVS's expire_nodest_conn=0 behaviour) instead of landing on the slot's next occupant.
export class IdAllocator {
  private readonly used: Uint8Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.used = new Uint8Array(capacity);
  }

  /** The next free id, or null when all are in use. */
  alloc(): number | null {
    if (this.count >= this.capacity) return null;
    for (let k = 0; k < this.capacity; k++) {
      const id = (this.next + k) % this.capacity;
      if (!this.used[id]) {
        this.used[id] = 1;
        this.count++;
        this.next = (id + 1) % this.capacity;
        return id;
      }
    }
    return null;
  }

  /** Marks a given id used (adopting a previous daemon's table); false if it already was. */
  take(id: number): boolean {
    if (id < 0 || id >= this.capacity || this.used[id]) return false;
    this.used[id] = 1;
    this.count++;
    this.next = (id + 1) % this.capacity;
    return true;
  }

  free(id: number): void {
    if (this.used[id]) {
      this.used[id] = 0;
      this.count--;
    }
  }
}
