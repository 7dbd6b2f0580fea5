// Setup first (when there are no credentials), then the chat screen with a
// controller over a client built from the credentials.
import { useApp } from "ink";
import { useEffect, useMemo, useState } from "react";
import type { ChatClient } from "../chat-client.ts";
import { ChatController } from "../controller.ts";
import type { MediaApi } from "../media-api.ts";
import { App } from "./app.tsx";
import { Setup } from "./setup.tsx";

export interface Creds {
  server: string;
  token: string;
}

export interface RootProps<C extends Creds> {
  initial: C | null;
  /** Shown on the setup screen when we ask again. */
  reason?: string;
  /** A server we already know (--server, or the old credentials'), or "". */
  knownServer: string;
  defaultServer: string;
  defaultDevice: string;
  /** Logs in and saves; returns the new credentials. */
  login(server: string, code: string, device: string): Promise<C>;
  makeClient(c: C): ChatClient;
  /** Media for these credentials: labels with name and size, /file and /save. */
  media?(c: C): MediaApi;
  onExit(): void;
}

export function Root<C extends Creds>(p: RootProps<C>) {
  const [creds, setCreds] = useState<C | null>(p.initial);
  const { exit } = useApp();
  const quit = () => {
    p.onExit();
    exit();
  };
  if (!creds) {
    return (
      <Setup
        server={p.knownServer}
        defaultServer={p.defaultServer}
        device={p.defaultDevice}
        reason={p.reason}
        onLogin={async (server, code, device) => setCreds(await p.login(server, code, device))}
        onQuit={quit}
      />
    );
  }
  return <Chat creds={creds} makeClient={p.makeClient} media={p.media} onQuit={quit} />;
}

function Chat<C extends Creds>(p: { creds: C; makeClient(c: C): ChatClient; media?(c: C): MediaApi; onQuit(): void }) {
  const { creds, makeClient, media, onQuit } = p;
  const controller = useMemo(() => new ChatController(makeClient(creds), { media: media?.(creds) }), [creds, makeClient, media]);
  useEffect(() => {
    controller.start();
    return () => controller.stop();
  }, [controller]);
  return <App controller={controller} server={creds.server} onQuit={onQuit} />;
}
