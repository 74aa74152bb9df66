// irc-framework ships no types: the parts of its API the IRC connector uses.
declare module 'irc-framework' {
  namespace IrcFramework {
    interface ClientOptions {
      host: string;
      port: number;
      tls?: boolean;
      nick: string;
      username?: string;
      gecos?: string;
      /** Server password (PASS); irc-framework also uses it for SASL unless `account` is set. */
      password?: string;
      /** SASL PLAIN credentials; `{}` disables SASL. */
      account?: { account?: string; password?: string };
      auto_reconnect?: boolean;
      auto_reconnect_max_retries?: number;
      ping_interval?: number;
      ping_timeout?: number;
      message_max_length?: number;
      encoding?: string;
      version?: string | null;
      enable_echomessage?: boolean;
      sasl_disconnect_on_fail?: boolean;
      rejectUnauthorized?: boolean;
    }

    interface MessageEvent {
      nick: string;
      ident?: string;
      hostname?: string;
      target: string;
      message: string;
      tags: Record<string, string>;
      time?: number;
      from_server?: boolean;
    }

    interface JoinEvent {
      nick: string;
      channel: string;
      time?: number;
    }

    interface PartEvent {
      nick: string;
      channel: string;
      message: string;
      time?: number;
    }

    interface KickEvent {
      kicked: string;
      nick: string;
      channel: string;
      message: string;
      time?: number;
    }

    interface QuitEvent {
      nick: string;
      message: string;
      time?: number;
    }

    interface NickEvent {
      nick: string;
      new_nick: string;
      time?: number;
    }

    interface UserlistEvent {
      channel: string;
      users: { nick: string }[];
    }

    interface RegisteredEvent {
      nick: string;
    }

    interface IrcErrorEvent {
      error: string;
      channel?: string;
      reason?: string;
    }

    interface SaslFailedEvent {
      reason: string;
      message?: string;
    }

    interface ClientEvents {
      registered: (e: RegisteredEvent) => void;
      privmsg: (e: MessageEvent) => void;
      action: (e: MessageEvent) => void;
      notice: (e: MessageEvent) => void;
      join: (e: JoinEvent) => void;
      part: (e: PartEvent) => void;
      kick: (e: KickEvent) => void;
      quit: (e: QuitEvent) => void;
      nick: (e: NickEvent) => void;
      userlist: (e: UserlistEvent) => void;
      'nick in use': (e: { nick: string; reason: string }) => void;
      'irc error': (e: IrcErrorEvent) => void;
      'sasl failed': (e: SaslFailedEvent) => void;
      'socket close': (err?: Error) => void;
      'socket error': (err: Error) => void;
      close: (hadError: boolean) => void;
    }

    class Client {
      constructor(options?: ClientOptions);
      readonly connected: boolean;
      user: { nick: string };
      connection: { connected: boolean };
      connect(options?: ClientOptions): void;
      quit(message?: string): void;
      say(target: string, message: string): void;
      notice(target: string, message: string): void;
      action(target: string, message: string): void;
      join(channel: string, key?: string): void;
      part(channel: string, message?: string): void;
      changeNick(nick: string): void;
      raw(...args: (string | number)[]): void;
      on<E extends keyof ClientEvents>(event: E, listener: ClientEvents[E]): this;
      removeAllListeners(event?: string): this;
    }
  }
  export = IrcFramework;
}
