import { RelayedChannel, type ChannelPort } from '../channel/relayed-channel.js';
import type { StreamChannel } from './sse-stream.js';

/** How a worker's event streams reach their responses on the IO thread. */
export interface StreamPort extends ChannelPort {
  write(id: number, text: string): void;
  /** The worker ends the stream. */
  end(id: number): void;
}

/** An event stream opened on a worker thread; its response lives on the IO thread. */
export class WorkerStreamChannel extends RelayedChannel<StreamPort> implements StreamChannel {
  get closed(): boolean {
    return this.hasEnded;
  }

  write(text: string): boolean {
    if (this.hasEnded) return false;
    this.port.write(this.id, text);
    return true;
  }

  close(): void {
    if (this.hasEnded) return;
    this.port.end(this.id);
    this.markEnded();
  }
}
