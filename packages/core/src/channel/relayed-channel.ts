import { Channel } from './channel.js';

/**
 * How a channel on a worker thread reaches its socket, which lives on the IO
 * thread: each call is one message there. One port serves every channel of a
 * kind on the worker; calls carry the channel's id.
 */
export interface ChannelPort {
  subscribe(id: number, topic: string): void;
  unsubscribe(id: number, topic: string): void;
  /** The channel ended: the worker drops it from its table of open channels. */
  forget(id: number): void;
}

/** A channel on a worker thread: its topics are kept on the IO thread, next to the socket. */
export abstract class RelayedChannel<Port extends ChannelPort> extends Channel {
  protected readonly port: Port;

  constructor(id: number, port: Port) {
    super(id);
    this.port = port;
  }

  protected join(topic: string): void {
    this.port.subscribe(this.id, topic);
  }

  protected leave(topic: string): void {
    this.port.unsubscribe(this.id, topic);
  }

  protected release(): void {
    this.port.forget(this.id);
  }
}
