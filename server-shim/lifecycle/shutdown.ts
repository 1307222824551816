import { LogComponent, LogId, type Logger } from '../log/index.js';

const handledSignals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Collects the reasons to shut down: SIGTERM, SIGINT or a request from inside (the shutdown
 * command). Signal handlers are installed when it is created, at the very start, so a signal
 * sent as soon as the server reports it is ready (or even during start-up) is never handled by
 * the default action, which would kill the process without a checkpoint.
 */
export class ShutdownController {
  /** Resolves with the first reason given. */
  readonly requested: Promise<string>;
  private resolveRequested!: (reason: string) => void;
  private readonly handlers: [NodeJS.Signals, () => void][] = [];

  constructor(private readonly logger: Logger) {
    this.requested = new Promise((resolve) => (this.resolveRequested = resolve));
    for (const signal of handledSignals) {
      const handler = (): void => {
        this.logger.withContext('SignalHandler').info(LogComponent.Control, LogId.ReceivedSignal, 'Received signal', {
          signal: signal === 'SIGTERM' ? 15 : 2,
          error: signal === 'SIGTERM' ? 'Terminated' : 'Interrupt',
        });
        this.request(signal);
      };
      process.on(signal, handler);
      this.handlers.push([signal, handler]);
    }
  }

  request(reason: string): void {
    this.resolveRequested(reason);
  }

  /** Stops listening for signals; later ones are ignored rather than killing a shutdown midway. */
  dispose(): void {
    for (const [signal, handler] of this.handlers.splice(0)) {
      process.off(signal, handler);
      process.on(signal, () => undefined);
    }
  }
}
